/**
 * The GitHub Actions workflows (.github/workflows) pass actionlint, with ShellCheck on every `run:` block; and the
 * linter really checks (a copy broken on purpose fails it), so this test cannot pass by linting nothing.
 * scripts/setup/actionlint.sh provides both tools (cached; a no-op when they are there).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const REPO = path.resolve(__dirname, "..", "..");
const WORKFLOWS = path.join(REPO, ".github", "workflows");
const CACHE = process.env.AGENTPOD_CACHE ?? path.join(homedir(), ".cache", "agentpod");
const ACTIONLINT = path.join(CACHE, "actionlint", "actionlint");
let shellcheck = "";
const scratch: string[] = [];

beforeAll(() => {
  execFileSync("bash", [path.join(REPO, "scripts", "setup", "actionlint.sh")], { stdio: "pipe", timeout: 10 * 60_000 });
  shellcheck = execFileSync("bash", ["-c", "command -v shellcheck"], { encoding: "utf8" }).trim();
}, 10 * 60_000);
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const workflowFiles = (dir: string) => readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));

/** actionlint on the given files, ShellCheck named explicitly so that a missing one cannot silently skip it. */
function actionlint(files: string[], cwd = REPO) {
  const result = spawnSync(ACTIONLINT, ["-no-color", "-shellcheck", shellcheck, ...files], { cwd, encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A copy of the workflows in a scratch repository layout, with `edit` applied to one file. */
function brokenCopy(file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "agentpod-workflows-"));
  scratch.push(dir);
  cpSync(WORKFLOWS, path.join(dir, ".github", "workflows"), { recursive: true });
  const target = path.join(dir, ".github", "workflows", file);
  const text = readFileSync(target, "utf8");
  const edited = edit(text);
  expect(edited).not.toBe(text);
  writeFileSync(target, edited);
  return dir;
}

describe("GitHub Actions workflows", () => {
  test("preview.yml and deploy.yml exist", () => {
    expect(workflowFiles(WORKFLOWS).map((f) => path.basename(f)).sort()).toEqual(["deploy.yml", "preview.yml"]);
  });

  test("pass actionlint, with ShellCheck on their run blocks", () => {
    const { status, output } = actionlint(workflowFiles(WORKFLOWS));
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  test("a workflow with a mistyped context property fails the linter", () => {
    const dir = brokenCopy("preview.yml", (t) => t.replace("BASE_REF: ${{ github.base_ref }}", "BASE_REF: ${{ github.base_reff }}"));
    const { status, output } = actionlint(workflowFiles(path.join(dir, ".github", "workflows")), dir);
    expect(status).toBe(1);
    expect(output).toMatch(/preview\.yml:\d+:\d+: property "base_reff" is not defined .*\[expression\]/);
  });

  test("a run block with a shell mistake fails the linter (ShellCheck runs)", () => {
    const dir = brokenCopy("deploy.yml", (t) => t.replace("chmod 600 ~/.ssh/agentpod_deploy\n", "chmod 600 ~/.ssh/agentpod_deploy\n          cd $HOME/.ssh\n"));
    const { status, output } = actionlint(workflowFiles(path.join(dir, ".github", "workflows")), dir);
    expect(status).toBe(1);
    expect(output).toMatch(/deploy\.yml:\d+:\d+: shellcheck reported issue in this script: SC\d+:.*\[shellcheck\]/);
  });

  test("the deploy never overlaps another and the preview may comment on the pull request", () => {
    const deploy = readFileSync(path.join(WORKFLOWS, "deploy.yml"), "utf8");
    expect(deploy).toMatch(/^concurrency:\n {2}group: agentpod-prod\n {2}cancel-in-progress: false$/m);
    const preview = readFileSync(path.join(WORKFLOWS, "preview.yml"), "utf8");
    expect(preview).toMatch(/^permissions:\n {2}contents: read\n {2}pull-requests: write$/m);
    expect(preview).toContain("<!-- agentpod-preview -->");
    // Every action is pinned to a full commit.
    for (const text of [deploy, preview]) {
      for (const [, ref] of text.matchAll(/uses: [\w.-]+\/[\w.-]+@(\S+)/g)) expect(ref).toMatch(/^[0-9a-f]{40}$/);
    }
  });
});
