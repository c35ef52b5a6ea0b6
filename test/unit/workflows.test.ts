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
import { parse as parseYaml } from "yaml";

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

type Step = { name?: string; id?: string; if?: string; run?: string; uses?: string; env?: Record<string, string> };
type Job = { if?: string; "runs-on"?: string; environment?: string | { name: string }; env?: Record<string, string>; steps: Step[] };
type Workflow = { env?: Record<string, string>; permissions?: Record<string, string>; jobs: Record<string, Job> };

const environmentOf = (job: Job) => (typeof job.environment === "string" ? job.environment : job.environment?.name);
const secretsIn = (value: unknown) => [...JSON.stringify(value ?? {}).matchAll(/secrets\.(\w+)/g)].map((m) => m[1]!);

/**
 * The rules that keep production out of reach of a branch push and let the deploy reach its hosts, as problems found
 * in the two workflows' texts (none for the real ones; see the broken copies below).
 */
function gitopsProblems(deployText: string, previewText: string): string[] {
  const problems: string[] = [];
  const deploy = parseYaml(deployText) as Workflow;
  const preview = parseYaml(previewText) as Workflow;
  // Secrets live in environments only: a job outside one (any workflow a branch adds) would get repository secrets.
  for (const [file, workflow] of [["deploy.yml", deploy], ["preview.yml", preview]] as const) {
    if (secretsIn(workflow.env).length > 0) problems.push(`${file}: workflow-level env reads secrets ${secretsIn(workflow.env).join(", ")}`);
    for (const [name, job] of Object.entries(workflow.jobs)) {
      if (secretsIn(job).length > 0 && !environmentOf(job)) problems.push(`${file}: job ${name} reads secrets outside an environment`);
    }
  }
  const job = deploy.jobs.deploy!;
  if (environmentOf(job) !== "prod") problems.push("deploy: not in environment prod");
  if (!job.if?.includes("github.ref == 'refs/heads/main'")) problems.push("deploy: not limited to main");
  const names = job.steps.map((s) => s.name ?? s.uses ?? "");
  const open = job.steps.findIndex((s) => s.id === "open");
  const firstEngine = job.steps.findIndex((s) => /bin\/agentpod (preview|up)\b/.test(s.run ?? ""));
  const close = job.steps.findIndex((s) => (s.run ?? "").includes("deploy-runner-access.sh close"));
  if (open < 0 || !(job.steps[open]!.run ?? "").includes("deploy-runner-access.sh open")) problems.push("deploy: no step opens SSH for the runner");
  else if (open > firstEngine) problems.push(`deploy: SSH opens after "${names[firstEngine]}"`);
  if (close < 0) problems.push("deploy: no step closes SSH");
  else {
    const step = job.steps[close]!;
    if (close !== job.steps.length - 1) problems.push("deploy: the closing step is not the last");
    if (!/^always\(\) && steps\.open\.outputs\.firewall_id != ''$/.test(step.if ?? "")) problems.push(`deploy: the closing step runs if "${step.if}", not always`);
    if (step.env?.FIREWALL_ID !== "${{ steps.open.outputs.firewall_id }}") problems.push("deploy: the closing step closes another firewall than the one opened");
  }
  for (const index of [open, close]) {
    if (index >= 0 && job.steps[index]!.env?.HCLOUD_TOKEN !== "${{ secrets.HCLOUD_DEPLOY_RUNNER_TOKEN }}") problems.push(`deploy: step "${names[index]}" lacks the runner-firewall token`);
  }
  // The open step records the firewall before it opens anything, so a failure half-way is still closed.
  const openRun = open >= 0 ? job.steps[open]!.run ?? "" : "";
  if (openRun.indexOf('>> "$GITHUB_OUTPUT"') < 0 || openRun.indexOf('>> "$GITHUB_OUTPUT"') > openRun.indexOf("deploy-runner-access.sh open")) problems.push("deploy: the firewall id is recorded after opening");
  // A self-hosted runner inside adminCidrs is the documented alternative: then nothing is opened.
  if (job["runs-on"] !== "${{ vars.AGENTPOD_DEPLOY_RUNNER || 'ubuntu-24.04' }}") problems.push(`deploy: runs-on is ${job["runs-on"]}`);
  if (open >= 0 && job.steps[open]!.if !== "vars.AGENTPOD_DEPLOY_RUNNER == ''") problems.push("deploy: SSH is opened on a self-hosted runner too");
  if (job.env?.AWS_ACCESS_KEY_ID !== "${{ secrets.STATE_BUCKET_WRITE_KEY_ID }}") problems.push("deploy: not the state bucket's write key");

  const previewJob = preview.jobs.preview!;
  if (environmentOf(previewJob) !== "preview") problems.push("preview: not in environment preview");
  if (previewJob.env?.AWS_ACCESS_KEY_ID !== "${{ secrets.STATE_BUCKET_READ_KEY_ID }}" || previewJob.env?.AWS_SECRET_ACCESS_KEY !== "${{ secrets.STATE_BUCKET_READ_SECRET }}") {
    problems.push("preview: not the state bucket's read-only key");
  }
  const allowed = ["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "STATE_BUCKET_READ_KEY_ID", "STATE_BUCKET_READ_SECRET", "GITHUB_TOKEN"];
  for (const secret of secretsIn(preview)) if (!allowed.includes(secret)) problems.push(`preview: reads secret ${secret}`);
  for (const forbidden of ["deployPrivateKey", "agentpod_deploy", "IdentityFile", "HCLOUD_DEPLOY_RUNNER_TOKEN", "deploy-runner-access"]) {
    if (previewText.includes(forbidden)) problems.push(`preview: mentions ${forbidden}`);
  }
  const previewRun = previewJob.steps.find((s) => /bin\/agentpod preview\b/.test(s.run ?? ""))?.run ?? "";
  if (!previewRun.includes("--no-host-access")) problems.push("preview: the preview may reach the hosts");
  if (JSON.stringify(preview.permissions) !== JSON.stringify({ contents: "read", "pull-requests": "write" })) problems.push(`preview: permissions ${JSON.stringify(preview.permissions)}`);
  if (JSON.stringify(deploy.permissions) !== JSON.stringify({ contents: "read" })) problems.push(`deploy: permissions ${JSON.stringify(deploy.permissions)}`);
  return problems;
}

describe("the deploy reaches its hosts; the preview cannot take production", () => {
  const deployText = readFileSync(path.join(WORKFLOWS, "deploy.yml"), "utf8");
  const previewText = readFileSync(path.join(WORKFLOWS, "preview.yml"), "utf8");

  test("the workflows as they are: no problem", () => {
    expect(gitopsProblems(deployText, previewText)).toEqual([]);
  });

  test("each rule catches its breach (the check is not blind)", () => {
    const breaches: Array<[string, (d: string, p: string) => [string, string], RegExp]> = [
      ["close only on success", (d, p) => [d.replace("if: always() && steps.open", "if: success() && steps.open"), p], /closing step runs if "success\(\)/],
      ["no close step", (d, p) => [d.slice(0, d.indexOf("      - name: Close SSH")), p], /no step closes SSH/],
      ["open after the preview", (d, p) => [d.replace("- name: Open SSH", "- name: Opened late").replace(/( {6}- name: Opened late[\s\S]*?)( {6}- name: Preview with the policy pack \(the gate\)\n.*\n\n)/, "$2$1"), p], /SSH opens after "Preview with the policy pack/],
      ["deploy from any branch", (d, p) => [d.replace("    if: github.ref == 'refs/heads/main'\n", ""), p], /not limited to main/],
      ["deploy outside its environment", (d, p) => [d.replace("    environment: prod\n", ""), p], /not in environment prod.*|reads secrets outside an environment/],
      ["preview outside its environment", (d, p) => [d, p.replace("    environment: preview\n", "")], /preview: not in environment preview/],
      ["preview with the write key", (d, p) => [d, p.replace(/STATE_BUCKET_READ_(KEY_ID|SECRET)/g, "STATE_BUCKET_WRITE_$1")], /preview: reads secret STATE_BUCKET_WRITE_KEY_ID/],
      ["preview with the deploy key", (d, p) => [d, p.replace("      - name: Tenant-level summary", '      - name: Key\n        run: pulumi config get agentpod:deployPrivateKey > ~/.ssh/agentpod_deploy\n\n      - name: Tenant-level summary')], /preview: mentions deployPrivateKey/],
      ["preview reaching the hosts", (d, p) => [d, p.replace(" --no-host-access", "")], /the preview may reach the hosts/],
      ["a secret at workflow level", (d, p) => [d.replace('  PULUMI_SKIP_UPDATE_CHECK: "true"\n', '  PULUMI_SKIP_UPDATE_CHECK: "true"\n  AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n'), p], /workflow-level env reads secrets AWS_ACCESS_KEY_ID/],
    ];
    for (const [what, breach, expected] of breaches) {
      const [deploy, preview] = breach(deployText, previewText);
      expect(deploy === deployText && preview === previewText, what).toBe(false);
      expect(gitopsProblems(deploy, preview).join("\n"), what).toMatch(expected);
    }
  });
});
