/**
 * `agentpod summary`: the tenant-level change summary. First the pure comparison of two resolved fleets
 * (fleet/summary.ts), one change kind at a time; then the command itself, run as a subprocess in real Git
 * repositories built here (git init, commit tenants.yaml, edit the working tree, `bin/agentpod summary`).
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { summaryCommand } from "../../cli/summary";
import {
  EMPTY_FLEET,
  formatRisk,
  imageChange,
  renderSummaryMarkdown,
  renderSummaryText,
  summarizeFleetChanges,
  type FleetSummary,
} from "../../fleet/summary";
import { loadFleet } from "../../fleet/validate";

const OPTIONS = { file: "tenants.yaml", domainSuffix: "agents.example.com", zone: "agents.example.com" };
const fleet = (yaml: string) => loadFleet(yaml, OPTIONS);

const BASE = `defaults:
  image: ghcr.io/openclaw/openclaw:2026.9.6
  plan: basic
plans:
  basic: { cpus: 1, memory: 2Gi }
  pro: { cpus: 2, memory: 4Gi, pids: 1024 }
hosts:
  - { name: fsn1-a, location: fsn1, serverType: cx42 }
  - { name: fsn1-b, location: fsn1, serverType: cx42 }
tenants:
  - name: foo
    host: fsn1-a
  - name: bar
    host: fsn1-a
    image: ghcr.io/openclaw/openclaw:2026.9.3
  - name: baz
    host: fsn1-a
    plan: pro
  - name: qux
    host: fsn1-b
`;

/** The summary of BASE edited by `edit` (plain string replacements keep the tests readable). */
function summaryOf(edit: (yaml: string) => string, base = BASE): FleetSummary {
  return summarizeFleetChanges(fleet(base), fleet(edit(base)));
}

const lines = (summary: FleetSummary) => renderSummaryText(summary).trimEnd().split("\n");

describe("tenant changes", () => {
  test("a new tenant: + name: new, plan on host; no restart", () => {
    const summary = summaryOf((y) => y + "  - name: acme\n    host: fsn1-a\n    plan: pro\n");
    expect(lines(summary)).toEqual(["+ acme: new, pro on fsn1-a", "risk: 0 containers restart, 0 data migrations, 0 data deleted"]);
  });

  test("a new tenant without a plan shows the default plan it gets", () => {
    const summary = summaryOf((y) => y + "  - name: acme\n    host: fsn1-b\n");
    expect(lines(summary)[0]).toBe("+ acme: new, basic on fsn1-b");
  });

  test("a removed tenant: its data volume is retained, nothing deleted", () => {
    const summary = summaryOf((y) => y.replace("  - name: bar\n    host: fsn1-a\n    image: ghcr.io/openclaw/openclaw:2026.9.3\n", ""));
    expect(lines(summary)).toEqual(["- bar: removed, data volume retained", "risk: 0 containers restart, 0 data migrations, 0 data deleted"]);
  });

  test("a plan change with a CPU change restarts the container and keeps the data", () => {
    const summary = summaryOf((y) => y.replace("  - name: foo\n    host: fsn1-a\n", "  - name: foo\n    host: fsn1-a\n    plan: pro\n"));
    expect(lines(summary)).toEqual(["~ foo: plan basic -> pro (container restarts, data kept)", "risk: 1 container restarts, 0 data migrations, 0 data deleted"]);
  });

  test("a memory-only change of a plan's definition updates the limits in place, for every tenant on that plan", () => {
    const summary = summaryOf((y) => y.replace("basic: { cpus: 1, memory: 2Gi }", "basic: { cpus: 1, memory: 3Gi }"));
    expect(lines(summary)).toEqual([
      "~ bar: plan basic changes: memory 2Gi -> 3Gi (limits change in place, no restart)",
      "~ foo: plan basic changes: memory 2Gi -> 3Gi (limits change in place, no restart)",
      "~ qux: plan basic changes: memory 2Gi -> 3Gi (limits change in place, no restart)",
      "risk: 0 containers restart, 0 data migrations, 0 data deleted",
    ]);
  });

  test("a pids-only change is in place too; a CPU change of a plan's definition restarts its tenants", () => {
    expect(lines(summaryOf((y) => y.replace("pro: { cpus: 2, memory: 4Gi, pids: 1024 }", "pro: { cpus: 2, memory: 4Gi, pids: 2048 }")))[0]).toBe(
      "~ baz: plan pro changes: pids 1024 -> 2048 (limits change in place, no restart)",
    );
    expect(lines(summaryOf((y) => y.replace("pro: { cpus: 2, memory: 4Gi, pids: 1024 }", "pro: { cpus: 3, memory: 4Gi, pids: 1024 }")))).toEqual([
      "~ baz: plan pro changes: cpus 2 -> 3 (container restarts, data kept)",
      "risk: 1 container restarts, 0 data migrations, 0 data deleted",
    ]);
  });

  test("moving to a plan with the same limits under another name changes nothing that runs", () => {
    const summary = summaryOf((y) => y.replace("pro: { cpus: 2, memory: 4Gi, pids: 1024 }", "pro: { cpus: 2, memory: 4Gi, pids: 1024 }\n  std: { cpus: 1, memory: 2Gi }").replace("  - name: qux\n    host: fsn1-b\n", "  - name: qux\n    host: fsn1-b\n    plan: std\n"));
    expect(lines(summary)).toEqual(["~ qux: plan basic -> std (same limits, no restart)", "risk: 0 containers restart, 0 data migrations, 0 data deleted"]);
  });

  test("a tenant's image change replaces its container and keeps its data", () => {
    const summary = summaryOf((y) => y.replace("image: ghcr.io/openclaw/openclaw:2026.9.3", "image: ghcr.io/openclaw/openclaw:2026.9.6"));
    expect(lines(summary)).toEqual(["~ bar: image 2026.9.3 -> 2026.9.6 (container replaced, data kept)", "risk: 1 container restarts, 0 data migrations, 0 data deleted"]);
  });

  test("a change of defaults.image lists every tenant that runs the default, and no tenant with its own image", () => {
    const summary = summaryOf((y) => y.replace("  image: ghcr.io/openclaw/openclaw:2026.9.6\n  plan: basic", "  image: ghcr.io/openclaw/openclaw:2026.9.7\n  plan: basic"));
    expect(lines(summary)).toEqual([
      "~ baz: image 2026.9.6 -> 2026.9.7 (container replaced, data kept)",
      "~ foo: image 2026.9.6 -> 2026.9.7 (container replaced, data kept)",
      "~ qux: image 2026.9.6 -> 2026.9.7 (container replaced, data kept)",
      "risk: 3 containers restart, 0 data migrations, 0 data deleted",
    ]);
  });

  test("a domain change changes the DNS record and routing and replaces the container", () => {
    const summary = summaryOf((y) => y.replace("  - name: qux\n    host: fsn1-b\n", "  - name: qux\n    host: fsn1-b\n    domain: chat.qux.agents.example.com\n"));
    expect(lines(summary)).toEqual([
      "~ qux: domain qux.agents.example.com -> chat.qux.agents.example.com (DNS record and routing change, container replaced, data kept)",
      "risk: 1 container restarts, 0 data migrations, 0 data deleted",
    ]);
  });

  test("writing out the default domain explicitly is no change", () => {
    const summary = summaryOf((y) => y.replace("  - name: qux\n    host: fsn1-b\n", "  - name: qux\n    host: fsn1-b\n    domain: qux.agents.example.com\n"));
    expect(renderSummaryText(summary)).toBe("no tenant changes\n");
  });

  test("a model provider change replaces the container", () => {
    const summary = summaryOf((y) => y.replace("  - name: qux\n    host: fsn1-b\n", "  - name: qux\n    host: fsn1-b\n    modelProvider: openai\n"));
    expect(lines(summary)[0]).toBe("~ qux: model provider anthropic -> openai (container replaced, data kept)");
    expect(summary.risk.restarts).toBe(1);
  });

  test("several changes to one tenant make one line and one restart", () => {
    const summary = summaryOf((y) => y.replace("  - name: bar\n    host: fsn1-a\n    image: ghcr.io/openclaw/openclaw:2026.9.3\n", "  - name: bar\n    host: fsn1-a\n    plan: pro\n    image: ghcr.io/openclaw/openclaw:2026.9.6\n"));
    expect(lines(summary)).toEqual([
      "~ bar: plan basic -> pro, image 2026.9.3 -> 2026.9.6 (container replaced, data kept)",
      "risk: 1 container restarts, 0 data migrations, 0 data deleted",
    ]);
  });

  test("a move to another host is flagged: the data must be migrated", () => {
    const summary = summaryOf((y) => y.replace("  - name: baz\n    host: fsn1-a\n", "  - name: baz\n    host: fsn1-b\n"));
    expect(lines(summary)).toEqual(["! baz: moves fsn1-a -> fsn1-b, data migration required (apply with `agentpod tenant move baz fsn1-b`)", "risk: 0 containers restart, 1 data migration, 0 data deleted"]);
    expect(summary.changes[0]).toMatchObject({ kind: "tenant-moved", symbol: "!", migrations: 1 });
  });

  test("a move that also changes the plan says both", () => {
    const summary = summaryOf((y) => y.replace("  - name: baz\n    host: fsn1-a\n    plan: pro\n", "  - name: baz\n    host: fsn1-b\n    plan: basic\n"));
    expect(lines(summary)[0]).toBe("! baz: moves fsn1-a -> fsn1-b, data migration required (apply with `agentpod tenant move baz fsn1-b`); also plan pro -> basic");
  });

  test("reordering tenants and hosts, reformatting and comments are no tenant changes", () => {
    const reordered = `# reordered, reformatted, commented
defaults: { plan: basic, image: "ghcr.io/openclaw/openclaw:2026.9.6" }
plans:
  pro: { cpus: 2, memory: 4Gi, pids: 1024 }   # the bigger one
  basic:
    cpus: 1
    memory: 2Gi
hosts:
  - { name: fsn1-b, location: fsn1, serverType: cx42 }
  - { name: fsn1-a, location: fsn1, serverType: cx42 }
tenants:
  - { name: qux, host: fsn1-b }
  - { name: baz, host: fsn1-a, plan: pro }
  - { name: foo, host: fsn1-a, plan: basic }   # now explicit, same plan
  - name: bar
    host: fsn1-a
    image: 'ghcr.io/openclaw/openclaw:2026.9.3'
`;
    const summary = summaryOf(() => reordered);
    expect(summary.changes).toEqual([]);
    expect(renderSummaryText(summary)).toBe("no tenant changes\n");
  });

  test("from an empty base (no tenants.yaml yet) everything is new", () => {
    const summary = summarizeFleetChanges(EMPTY_FLEET, fleet(BASE));
    expect(lines(summary)).toEqual([
      "+ bar: new, basic on fsn1-a",
      "+ baz: new, pro on fsn1-a",
      "+ foo: new, basic on fsn1-a",
      "+ qux: new, basic on fsn1-b",
      "+ host fsn1-a: new, cx42 in fsn1",
      "+ host fsn1-b: new, cx42 in fsn1",
      "risk: 0 containers restart, 0 data migrations, 0 data deleted",
    ]);
  });
});

describe("host changes", () => {
  test("a new host alone is no tenant change", () => {
    const summary = summaryOf((y) => y.replace("hosts:\n", "hosts:\n  - { name: hel1-a, location: hel1, serverType: cx22 }\n"));
    expect(lines(summary)).toEqual(["no tenant changes", "+ host hel1-a: new, cx22 in hel1", "risk: 0 containers restart, 0 data migrations, 0 data deleted"]);
  });

  test("a removed host: its server goes, its data volume is retained", () => {
    const summary = summaryOf((y) => y.replace("  - name: qux\n    host: fsn1-b\n", "").replace("  - { name: fsn1-b, location: fsn1, serverType: cx42 }\n", ""));
    expect(lines(summary)).toEqual([
      "- qux: removed, data volume retained",
      "- host fsn1-b: removed: apply with `agentpod host retire` (refused while tenants or data remain; deletes the server, keeps the data volume); a plain `up` is refused by the server's protection",
      "risk: 0 containers restart, 0 data migrations, 0 data deleted",
    ]);
  });

  test("a server type change resizes in place with a power-off: every tenant on it restarts", () => {
    const summary = summaryOf((y) => y.replace("{ name: fsn1-a, location: fsn1, serverType: cx42 }", "{ name: fsn1-a, location: fsn1, serverType: cx52 }"));
    expect(lines(summary)).toEqual([
      "no tenant changes",
      "~ host fsn1-a: server type cx42 (8 vCPU, 16 GB) -> cx52 (16 vCPU, 32 GB), resized in place with a power-off: every tenant on it restarts (bar, baz, foo)",
      "risk: 3 containers restart, 0 data migrations, 0 data deleted",
    ]);
  });

  test("a tenant restarted twice (its image and its host's resize) counts once", () => {
    const summary = summaryOf((y) =>
      y.replace("{ name: fsn1-a, location: fsn1, serverType: cx42 }", "{ name: fsn1-a, location: fsn1, serverType: cx52 }").replace("openclaw:2026.9.3", "openclaw:2026.9.6"),
    );
    expect(summary.risk.restarts).toBe(3);
    expect(lines(summary).at(-1)).toBe("risk: 3 containers restart, 0 data migrations, 0 data deleted");
  });

  test("a location change needs a new server and a data migration", () => {
    const summary = summaryOf((y) => y.replace("{ name: fsn1-b, location: fsn1, serverType: cx42 }", "{ name: fsn1-b, location: nbg1, serverType: cx42 }"));
    expect(lines(summary)).toEqual([
      "no tenant changes",
      "! host fsn1-b: location fsn1 -> nbg1, new server required, data migration",
      "risk: 0 containers restart, 1 data migration, 0 data deleted",
    ]);
  });

  test("a data volume grows in place; a shrink is flagged as a failure to come", () => {
    const grown = summaryOf((y) => y.replace("{ name: fsn1-b, location: fsn1, serverType: cx42 }", "{ name: fsn1-b, location: fsn1, serverType: cx42, dataVolumeGb: 100 }"));
    expect(lines(grown)[1]).toBe("~ host fsn1-b: data volume 50 GB -> 100 GB (grows in place, no restart)");
    const shrunk = summaryOf((y) => y.replace("{ name: fsn1-b, location: fsn1, serverType: cx42 }", "{ name: fsn1-b, location: fsn1, serverType: cx42, dataVolumeGb: 20 }"));
    expect(lines(shrunk)[1]).toBe("! host fsn1-b: data volume 50 GB -> 20 GB (a volume cannot shrink: the update will fail)");
  });
});

describe("rendering", () => {
  test("the risk line counts in words", () => {
    expect(formatRisk({ restarts: 2, migrations: 1, deletions: 0 })).toBe("2 containers restart, 1 data migration, 0 data deleted");
    expect(formatRisk({ restarts: 1, migrations: 2, deletions: 0 })).toBe("1 container restarts, 2 data migrations, 0 data deleted");
  });

  test("image changes show the tag or a short digest when the repository stays, the references otherwise", () => {
    expect(imageChange("ghcr.io/openclaw/openclaw:2026.9.3", "ghcr.io/openclaw/openclaw:2026.9.6")).toBe("2026.9.3 -> 2026.9.6");
    expect(imageChange("registry:5000/oc:1.0", "registry:5000/oc:1.1")).toBe("1.0 -> 1.1");
    expect(imageChange("ghcr.io/openclaw/openclaw:2026.9.6", `ghcr.io/openclaw/openclaw@sha256:${"ab".repeat(32)}`)).toBe("2026.9.6 -> sha256:abababababab");
    expect(imageChange("ghcr.io/openclaw/openclaw:2026.9.6", "ghcr.io/acme/openclaw:2026.9.6")).toBe("ghcr.io/openclaw/openclaw:2026.9.6 -> ghcr.io/acme/openclaw:2026.9.6");
  });

  test("Markdown: a table of changes and the risk, for the pull-request comment", () => {
    const summary = summaryOf((y) => y.replace("  - name: baz\n    host: fsn1-a\n", "  - name: baz\n    host: fsn1-b\n").replace("openclaw:2026.9.3", "openclaw:2026.9.6") + "  - name: acme\n    host: fsn1-b\n");
    expect(renderSummaryMarkdown(summary, { base: "origin/main", file: "tenants.yaml" })).toBe(
      [
        "### Tenant changes",
        "",
        "Comparing `tenants.yaml` at `origin/main` with this change.",
        "",
        "| | | change |",
        "|---|---|---|",
        "| 🟢 add | `acme` | new, basic on fsn1-b |",
        "| 🟡 change | `bar` | image 2026.9.3 → 2026.9.6 (container replaced, data kept) |",
        "| ⚠️ attention | `baz` | **moves fsn1-a → fsn1-b, data migration required (apply with `agentpod tenant move baz fsn1-b`)** |",
        "",
        "⚠️ **Risk:** 1 container restarts, 1 data migration, 0 data deleted",
        "",
      ].join("\n"),
    );
  });

  test("Markdown without changes says so", () => {
    expect(renderSummaryMarkdown(summarizeFleetChanges(fleet(BASE), fleet(BASE)))).toBe("### Tenant changes\n\nNo tenant changes.\n");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The command, in real Git repositories

const AGENTPOD = path.resolve(__dirname, "../../bin/agentpod");
const scratch = mkdtempSync(path.join(tmpdir(), "agentpod-summary-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8" }).trim();

let repoCount = 0;
/** A repository on branch main with `files` committed. */
function repo(files: Record<string, string>): string {
  const dir = path.join(scratch, `repo-${++repoCount}`);
  mkdirSync(dir);
  git(dir, "init", "-q", "-b", "main");
  write(dir, files);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "base");
  return dir;
}

function write(dir: string, files: Record<string, string>) {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
}

function agentpod(cwd: string, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(AGENTPOD, args, { cwd, env: GIT_ENV }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe.concurrent("agentpod summary in a Git repository", () => {
  test("a tenant opted in to the fleet-wide model key: a change, and a warning with the command that gives it its own", async () => {
    const dir = repo({ "tenants.yaml": BASE });
    write(dir, { "tenants.yaml": BASE.replace("  - name: foo\n    host: fsn1-a\n", "  - name: foo\n    host: fsn1-a\n    sharedModelKey: true\n") });
    const result = await agentpod(dir, "summary", "--base", "HEAD");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("~ foo: shares the fleet-wide anthropic key (sharedModelKey: true) (container replaced unless it has a model key of its own, data kept)\n");
    expect(result.stdout).toContain(
      "warning: foo opts in to the fleet-wide anthropic key (sharedModelKey: true), used while it has no key of its own: every tenant sharing it can read and spend it, and it cannot be revoked for one of them. Give foo its own key: pulumi config set --secret --path 'agentpod:tenantModelKeys.foo' --stack <stack>\n",
    );
    // Still warned once merged, with nothing else changing.
    git(dir, "commit", "-q", "-am", "share");
    expect((await agentpod(dir, "summary", "--base", "HEAD")).stdout).toMatch(/^no tenant changes\nwarning: foo opts in/);
  });

  test("reordering and comments: no tenant changes, exit 0", async () => {
    const dir = repo({ "tenants.yaml": BASE });
    // foo goes last, and gains a comment.
    const edited = BASE.replace("  - name: foo\n    host: fsn1-a\n", "") + "  - name: foo   # our first customer\n    host: fsn1-a\n";
    expect(edited).not.toBe(BASE);
    write(dir, { "tenants.yaml": edited });
    const result = await agentpod(dir, "summary", "--base", "HEAD");
    expect(result).toMatchObject({ status: 0, stdout: "no tenant changes\n" });
  });

  test("every kind of tenant change, in the operator's words, with the risk line", async () => {
    const dir = repo({ "tenants.yaml": BASE });
    write(dir, {
      "tenants.yaml": BASE.replace("  - name: foo\n    host: fsn1-a\n", "  - name: foo\n    host: fsn1-a\n    plan: pro\n")
        .replace("openclaw:2026.9.3", "openclaw:2026.9.6")
        .replace("  - name: baz\n    host: fsn1-a\n", "  - name: baz\n    host: fsn1-b\n")
        .replace("  - name: qux\n    host: fsn1-b\n", "") + "  - name: acme\n    host: fsn1-a\n    plan: pro\n",
    });
    const result = await agentpod(dir, "summary", "--base", "HEAD");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      [
        "+ acme: new, pro on fsn1-a",
        "~ bar: image 2026.9.3 -> 2026.9.6 (container replaced, data kept)",
        "! baz: moves fsn1-a -> fsn1-b, data migration required (apply with `agentpod tenant move baz fsn1-b`)",
        "~ foo: plan basic -> pro (container restarts, data kept)",
        "- qux: removed, data volume retained",
        "risk: 2 containers restart, 1 data migration, 0 data deleted",
        "",
      ].join("\n"),
    );
  });

  test("--markdown prints the pull-request comment", async () => {
    const dir = repo({ "tenants.yaml": BASE });
    write(dir, { "tenants.yaml": BASE + "  - name: acme\n    host: fsn1-b\n" });
    const result = await agentpod(dir, "summary", "--base", "HEAD", "--markdown");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      "### Tenant changes\n\nComparing `tenants.yaml` at `HEAD` with this change.\n\n| | | change |\n|---|---|---|\n| 🟢 add | `acme` | new, basic on fsn1-b |\n\n**Risk:** 0 containers restart, 0 data migrations, 0 data deleted\n",
    );
  });

  test("an invalid working tree file: the validation errors as the stack prints them, exit 1", async () => {
    const dir = repo({ "tenants.yaml": BASE });
    write(dir, { "tenants.yaml": BASE + "  - name: acme\n    host: fsn1-c\n    plan: platinum\n" });
    const result = await agentpod(dir, "summary", "--base", "HEAD");
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "agentpod: tenants.yaml has 2 problems; nothing was changed:\n" +
        '  tenants.yaml:22:11 tenants[4].host: unknown host "fsn1-c". Did you mean "fsn1-a"? Hosts: fsn1-a, fsn1-b.\n' +
        '  tenants.yaml:23:11 tenants[4].plan: unknown plan "platinum". Plans: basic, pro (the file\'s `plans:` replaces the built-in ones).\n',
    );
  });

  test("a base without tenants.yaml: everything is new", async () => {
    const dir = repo({ "README.md": "fleet\n" });
    write(dir, { "tenants.yaml": "hosts:\n  - { name: h1, location: hel1, serverType: cx22 }\ntenants:\n  - { name: acme, host: h1 }\n" });
    const result = await agentpod(dir, "summary", "--base", "HEAD");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("+ acme: new, basic on h1\n+ host h1: new, cx22 in hel1\nrisk: 0 containers restart, 0 data migrations, 0 data deleted\n");
    expect(result.stderr).toBe("note: HEAD has no tenants.yaml: every tenant is new\n");
  });

  test("without --base: origin/main when it exists, else main", async () => {
    const dir = repo({ "tenants.yaml": BASE });
    const first = git(dir, "rev-parse", "HEAD");
    write(dir, { "tenants.yaml": BASE + "  - name: acme\n    host: fsn1-b\n" });
    git(dir, "commit", "-q", "-am", "acme");
    write(dir, { "tenants.yaml": BASE + "  - name: acme\n    host: fsn1-b\n  - name: wayne\n    host: fsn1-b\n" });
    // No origin/main: compared with main (which has acme), so only wayne is new.
    const againstMain = await agentpod(dir, "summary");
    expect(againstMain.stdout.split("\n")[0]).toBe("+ wayne: new, basic on fsn1-b");
    expect(againstMain.stdout).not.toContain("acme");
    // origin/main at the first commit: acme is new too.
    git(dir, "update-ref", "refs/remotes/origin/main", first);
    const againstOrigin = await agentpod(dir, "summary");
    expect(againstOrigin.stdout.split("\n").slice(0, 2)).toEqual(["+ acme: new, basic on fsn1-b", "+ wayne: new, basic on fsn1-b"]);
  });

  test("--file in a subdirectory, run from another directory", async () => {
    const dir = repo({ "fleet/tenants.yaml": BASE, "docs/README.md": "x\n" });
    write(dir, { "fleet/tenants.yaml": BASE.replace("openclaw:2026.9.3", "openclaw:2026.9.4") });
    const result = await agentpod(path.join(dir, "docs"), "summary", "--base", "HEAD", "--file", "../fleet/tenants.yaml");
    expect(result.stdout).toBe("~ bar: image 2026.9.3 -> 2026.9.4 (container replaced, data kept)\nrisk: 1 container restarts, 0 data migrations, 0 data deleted\n");
    expect(result.status).toBe(0);
  });

  test("--zone decides default domains: an explicit domain equal to the default is no change", async () => {
    const dir = repo({ "tenants.yaml": BASE });
    write(dir, { "tenants.yaml": BASE.replace("  - name: qux\n    host: fsn1-b\n", "  - name: qux\n    host: fsn1-b\n    domain: qux.agents.example.com\n") });
    expect((await agentpod(dir, "summary", "--base", "HEAD", "--zone", "agents.example.com")).stdout).toBe("no tenant changes\n");
    const local = await agentpod(dir, "summary", "--base", "HEAD");
    expect(local.stdout.split("\n")[0]).toBe("~ qux: domain qux.agents.localhost -> qux.agents.example.com (DNS record and routing change, container replaced, data kept)");
  });

  test("the zone comes from the project's hetzner stack file when --zone is not given", async () => {
    const stackFile = "config:\n  agentpod:target: hetzner\n  agentpod:tenantsFile: tenants.yaml\n  agentpod:zone: agents.example.com\n";
    const dir = repo({ "tenants.yaml": BASE, "Pulumi.yaml": "name: agentpod\nruntime: nodejs\n", "Pulumi.prod.yaml": stackFile });
    write(dir, { "tenants.yaml": BASE.replace("  - name: qux\n    host: fsn1-b\n", "  - name: qux\n    host: fsn1-b\n    domain: qux.agents.example.com\n") });
    expect((await agentpod(dir, "summary", "--base", "HEAD")).stdout).toBe("no tenant changes\n");
    // ... and the zone check applies, as in the stack.
    write(dir, { "tenants.yaml": BASE.replace("  - name: qux\n    host: fsn1-b\n", "  - name: qux\n    host: fsn1-b\n    domain: qux.example.org\n") });
    const outside = await agentpod(dir, "summary", "--base", "HEAD");
    expect(outside.status).toBe(1);
    expect(outside.stderr).toContain('tenants.yaml:21:13 tenants[3].domain: domain "qux.example.org" is outside the DNS zone "agents.example.com"');
  });

  test("a base whose file has problems is compared as far as it resolves, with a warning", async () => {
    // cpx11 has 2 GB: 1Gi for tenants, too little for qux (basic, 2Gi).
    const broken = BASE.replace("{ name: fsn1-b, location: fsn1, serverType: cx42 }", "{ name: fsn1-b, location: fsn1, serverType: cpx11 }");
    const dir = repo({ "tenants.yaml": broken });
    write(dir, { "tenants.yaml": BASE });
    const result = await agentpod(dir, "summary", "--base", "HEAD");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      "no tenant changes\n~ host fsn1-b: server type cpx11 (2 vCPU, 2 GB) -> cx42 (8 vCPU, 16 GB), resized in place with a power-off: every tenant on it restarts (qux)\nrisk: 1 container restarts, 0 data migrations, 0 data deleted\n",
    );
    expect(result.stderr).toBe("warning: tenants.yaml at HEAD has 1 problem; compared as far as it resolves\n");
    // A base that does not even parse is an error.
    const unreadable = repo({ "tenants.yaml": "hosts: [\n" });
    write(unreadable, { "tenants.yaml": BASE });
    const failed = await agentpod(unreadable, "summary", "--base", "HEAD");
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/^agentpod: HEAD:tenants\.yaml cannot be compared with: it has 1 problem:\n {2}HEAD:tenants\.yaml:2:1 YAML syntax/);
  });

  test("usage errors exit 2: an unknown ref, an unknown option", async () => {
    const dir = repo({ "tenants.yaml": BASE });
    const unknownRef = await agentpod(dir, "summary", "--base", "no-such-branch");
    expect(unknownRef.status).toBe(2);
    expect(unknownRef.stderr).toContain('--base "no-such-branch" names no commit');
    const unknownOption = await agentpod(dir, "summary", "--bsae", "HEAD");
    expect(unknownOption.status).toBe(2);
    expect(unknownOption.stderr).toContain("Unknown option '--bsae'");
    expect(unknownOption.stderr).toContain("agentpod summary [--base <ref>]");
  });

  test("outside a Git repository, or without the file: exit 1", async () => {
    const dir = path.join(scratch, "not-a-repo");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "tenants.yaml"), BASE);
    const outside = await agentpod(dir, "summary", "--base", "HEAD");
    expect(outside.status).toBe(1);
    expect(outside.stderr).toContain("is not in a Git repository");
    const missing = await agentpod(dir, "summary", "--file", "nope.yaml");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("nope.yaml not found");
  });

  test("--help prints the usage and exits 0", async () => {
    const result = await agentpod(scratch, "summary", "--help");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^agentpod summary \[--base <ref>\] \[--file tenants\.yaml\] \[--zone Z\] \[--markdown\]\n/);
  });
});

describe("agentpod summary, in process", () => {
  test("a stray argument is bad usage too", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await summaryCommand(["HEAD"])).toBe(2);
      expect(String(error.mock.calls[0]?.[0])).toMatch(/^agentpod: unexpected argument "HEAD"\n\nagentpod summary/);
    } finally {
      error.mockRestore();
    }
  });
});
