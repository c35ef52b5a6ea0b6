/**
 * `agentpod tenant ...` and `agentpod status`. The commands run as subprocesses (bin/agentpod) on temporary copies
 * of a commented tenants.yaml: the file must change exactly on the edited lines (every other byte kept), refused
 * edits must leave it untouched, and exit codes must say what happened. The edit logic's corner cases (flow style,
 * empty lists, CRLF, quoting) and the status formatting are tested directly, without a subprocess.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { addTenant, chooseHost, moveTenant, removeTenant, renderScalar, setTenantPlan, type EditResult } from "../../fleet/edit";
import { formatIssue } from "../../fleet/issues";
import { loadFleet } from "../../fleet/validate";
import { containerStatus, hostEndpoint, renderStatus, type TenantStatus } from "../../cli/status";
import { domainOptionsFor } from "../../cli/shared";
import { hostCommand } from "../../cli/host";
import { tenantCommand } from "../../cli/tenant";
import { GiB } from "../../fleet/catalog";
import { parseSettings } from "../../fleet/settings";

const FIXTURE = `# yaml-language-server: $schema=./tenants.schema.json
#
# The fleet. Comments here must survive every edit.

defaults:
  image: ghcr.io/openclaw/openclaw:2026.9.6   # fleet-wide image
  plan: basic                                  # for tenants without one

plans:
  basic: { cpus: 1, memory: 2Gi }              # pids defaults to 512
  pro: { cpus: 2, memory: 4Gi, pids: 1024 }
  enterprise: { cpus: 4, memory: 8Gi, pids: 2048 }

hosts:
  # Each host is a Hetzner server.
  - name: fsn1-a
    location: fsn1
    serverType: cx42        # 8 vCPU, 16 GB: 15Gi for tenants
  - name: fsn1-b
    location: fsn1
    serverType: cx42

tenants:
  # A tenant moves only when its host line changes.
  - name: acme
    host: fsn1-a
    plan: pro
    domain: acme.agents.example.com   # explicit
  - name: globex
    host: fsn1-a
    plan: enterprise
  - name: initech
    host: fsn1-a                       # plan: basic, from defaults
  - name: umbrella
    host: fsn1-b
    plan: pro
    modelProvider: openai              # gets OPENAI_API_KEY
  - name: hooli
    host: fsn1-b

# Retired tenants are listed in the changelog, not here.
`;
// Load: fsn1-a 14Gi of 15Gi and 7 of 8 vCPU; fsn1-b 6Gi and 3 vCPU.

/** FIXTURE with exactly one text replaced (the replacement must exist exactly once). */
function edited(from: string, to: string, text = FIXTURE): string {
  expect(text.split(from).length, `"${from}" must occur once`).toBe(2);
  return text.replace(from, to);
}

const AGENTPOD = path.resolve(__dirname, "../../bin/agentpod");
/** What the CLI validates a tenants.yaml without a Pulumi project around it with. */
const CLI_OPTIONS = { file: "tenants.yaml", domainSuffix: "localhost" };

/** The refusal as the CLI prints it (message and issues), for edits tested without a subprocess. */
function refused(result: EditResult): string {
  if (result.ok) throw new Error("expected the edit to be refused");
  return [result.message, ...result.issues.map((i) => `  ${formatIssue(i)}`)].join("\n");
}
const scratch = mkdtempSync(path.join(tmpdir(), "agentpod-tenant-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let dirCount = 0;
/** A fresh directory holding tenants.yaml (FIXTURE unless given). */
function workdir(files: Record<string, string> = { "tenants.yaml": FIXTURE }): string {
  const dir = path.join(scratch, `w${++dirCount}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const read = (dir: string, file = "tenants.yaml") => readFileSync(path.join(dir, file), "utf8");

function agentpod(cwd: string, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(AGENTPOD, args, { cwd }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe.concurrent("tenant add", () => {
  test("without --host: on the least loaded host with room, appended after the last tenant, nothing else touched", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "add", "wayne");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      "+ wayne: new, basic on fsn1-b\n  (fsn1-b is the least loaded host with room: 8Gi of 15Gi memory and 4 of 8 vCPU in use with the new tenant)\nupdated tenants.yaml\n",
    );
    expect(read(dir)).toBe(edited("  - name: hooli\n    host: fsn1-b\n", "  - name: hooli\n    host: fsn1-b\n  - name: wayne\n    host: fsn1-b\n"));
  });

  test("with every option: the keys in the usual order, only those given", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "add", "wayne", "--host", "fsn1-b", "--plan", "pro", "--domain", "wayne.example.org", "--image", "ghcr.io/openclaw/openclaw:2026.9.7", "--model-provider", "openrouter");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("+ wayne: new, pro on fsn1-b\nupdated tenants.yaml\n");
    expect(read(dir)).toBe(
      edited(
        "    host: fsn1-b\n\n",
        "    host: fsn1-b\n  - name: wayne\n    host: fsn1-b\n    plan: pro\n    domain: wayne.example.org\n    image: ghcr.io/openclaw/openclaw:2026.9.7\n    modelProvider: openrouter\n\n",
      ),
    );
  });

  test("no host with room: the capacity error, exit 1, the file untouched", async () => {
    // fsn1-b becomes a cx32 (4 vCPU, 7Gi for tenants): 6Gi and 3 vCPU in use, valid but with no room for 8Gi.
    const full = edited("    serverType: cx42\n\ntenants:", "    serverType: cx32\n\ntenants:");
    const dir = workdir({ "fleet.yaml": full });
    const result = await agentpod(dir, "tenant", "add", "bigco", "--plan", "enterprise", "--file", "fleet.yaml");
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      // fsn1-a would be at 22/15Gi, fsn1-b at 14/7Gi: fsn1-a is the least loaded, the capacity error is reported there.
      "agentpod: no host has room for another enterprise tenant (4 CPU, 8Gi); least loaded is fsn1-a; fleet.yaml was not changed:\n" +
        '  fleet.yaml:18:17 hosts[0].serverType: host "fsn1-a" (cx42) cannot hold its tenants: memory 22Gi needed, 15Gi available (16 GB less 1Gi reserved); CPU 11 cores needed, 8 vCPU available. Tenants: acme (pro), globex (enterprise), initech (basic), bigco (enterprise). Use a larger serverType or move tenants to another host.\n',
    );
    expect(read(dir, "fleet.yaml")).toBe(full);
  });

  test("an existing name, an unknown host or an invalid name is refused with the validator's errors", async () => {
    const dir = workdir();
    const duplicate = await agentpod(dir, "tenant", "add", "acme", "--host", "fsn1-b");
    expect(duplicate.status).toBe(1);
    expect(duplicate.stderr).toBe(
      "agentpod: refused: with this change tenants.yaml would have 1 problem (lines as they would be after the edit); it was not changed:\n" +
        '  tenants.yaml:40:11 tenants[5].name: tenant "acme" is already defined on line 25: tenant names must be unique\n',
    );
    expect(read(dir)).toBe(FIXTURE);
    // The same path, without a subprocess:
    const unknownHost = refused(addTenant(FIXTURE, { name: "wayne", host: "fsn1-c" }, CLI_OPTIONS));
    expect(unknownHost).toContain('tenants.yaml:41:11 tenants[5].host: unknown host "fsn1-c". Did you mean "fsn1-a"? Hosts: fsn1-a, fsn1-b.');
    expect(refused(addTenant(FIXTURE, { name: "Wayne_Enterprises" }, CLI_OPTIONS))).toContain("tenants[5].name: must be a DNS label");
  });
});

describe.concurrent("tenant remove, set-plan, move", () => {
  test("remove: the tenant's lines go, every other byte stays", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "remove", "umbrella");
    expect(result).toEqual({ status: 0, stdout: "- umbrella: removed, data volume retained\nupdated tenants.yaml\n", stderr: "" });
    expect(read(dir)).toBe(edited("  - name: umbrella\n    host: fsn1-b\n    plan: pro\n    modelProvider: openai              # gets OPENAI_API_KEY\n", ""));
  });

  test("remove an unknown tenant: exit 1 with a suggestion, the file untouched", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "remove", "umbrela");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('agentpod: no tenant "umbrela" in tenants.yaml. Did you mean "umbrella"? Tenants: acme, globex, hooli, initech, umbrella.\n');
    expect(read(dir)).toBe(FIXTURE);
  });

  test("set-plan on a tenant without a plan line: one line inserted after its host", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "set-plan", "hooli", "pro");
    expect(result).toEqual({ status: 0, stdout: "~ hooli: plan basic -> pro (container restarts, data kept)\nupdated tenants.yaml\n", stderr: "" });
    expect(read(dir)).toBe(edited("  - name: hooli\n    host: fsn1-b\n", "  - name: hooli\n    host: fsn1-b\n    plan: pro\n"));
  });

  test("set-plan on a tenant with a plan line: only the value changes, the comments around it stay", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "set-plan", "umbrella", "basic");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("~ umbrella: plan pro -> basic (container restarts, data kept)\nupdated tenants.yaml\n");
    expect(read(dir)).toBe(edited("    host: fsn1-b\n    plan: pro\n", "    host: fsn1-b\n    plan: basic\n"));
  });

  test("set-plan that overfills the host is refused with the capacity error; an unknown plan too", async () => {
    const dir = workdir();
    const full = await agentpod(dir, "tenant", "set-plan", "initech", "pro");
    expect(full.status).toBe(1);
    expect(full.stderr).toBe(
      "agentpod: refused: with this change tenants.yaml would have 1 problem (lines as they would be after the edit); it was not changed:\n" +
        '  tenants.yaml:18:17 hosts[0].serverType: host "fsn1-a" (cx42) cannot hold its tenants: memory 16Gi needed, 15Gi available (16 GB less 1Gi reserved). Tenants: acme (pro), globex (enterprise), initech (pro). Use a larger serverType or move tenants to another host.\n',
    );
    expect(read(dir)).toBe(FIXTURE);
    expect(refused(setTenantPlan(FIXTURE, "hooli", "platinum", CLI_OPTIONS))).toContain('tenants.yaml:40:11 tenants[4].plan: unknown plan "platinum". Plans: basic, pro, enterprise');
  });

  test("set-plan to the plan it already has: nothing written, exit 0", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "set-plan", "umbrella", "pro");
    expect(result).toEqual({ status: 0, stdout: "umbrella already has plan pro; tenants.yaml is unchanged\n", stderr: "" });
    expect(read(dir)).toBe(FIXTURE);
  });

  test("move without a stack: the host value changes (its comment stays) and a note says how to apply it with the data", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "move", "initech", "fsn1-b");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("! initech: moves fsn1-a -> fsn1-b, data migration required (apply with `agentpod tenant move initech fsn1-b`)\nupdated tenants.yaml\n");
    expect(result.stderr).toBe(
      "note: the data of initech is on fsn1-a. A plain `agentpod up` refuses this change (it would start initech on fsn1-b without its data); apply it with `agentpod tenant move initech fsn1-b --stack <stack>`, which carries the data.\n",
    );
    expect(read(dir)).toBe(edited("    host: fsn1-a                       # plan: basic", "    host: fsn1-b                       # plan: basic"));
  });

  test("move to an unknown or a full host is refused, the file untouched", async () => {
    const dir = workdir();
    const unknown = await agentpod(dir, "tenant", "move", "hooli", "fsn1-c");
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('tenants.yaml:39:11 tenants[4].host: unknown host "fsn1-c"');
    expect(read(dir)).toBe(FIXTURE);
    expect(refused(moveTenant(FIXTURE, "hooli", "fsn1-a", CLI_OPTIONS))).toContain('host "fsn1-a" (cx42) cannot hold its tenants: memory 16Gi needed');
  });

  test("a file that already has problems is not edited", async () => {
    const broken = edited("    plan: enterprise\n", "    plan: enterprize\n");
    const dir = workdir({ "tenants.yaml": broken });
    const result = await agentpod(dir, "tenant", "remove", "hooli");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      "agentpod: tenants.yaml has 1 problem; fix them before editing it (nothing was changed):\n" +
        '  tenants.yaml:31:11 tenants[1].plan: unknown plan "enterprize". Did you mean "enterprise"? Plans: basic, pro, enterprise (the file\'s `plans:` replaces the built-in ones).\n',
    );
    expect(read(dir)).toBe(broken);
  });
});

describe.concurrent("tenant list, usage and help", () => {
  test("list: a table of the tenants as the stack resolves them (defaults applied, sorted by name)", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "list");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      [
        "NAME      HOST    PLAN        DOMAIN                     IMAGE",
        "acme      fsn1-a  pro         acme.agents.example.com    ghcr.io/openclaw/openclaw:2026.9.6",
        "globex    fsn1-a  enterprise  globex.agents.localhost    ghcr.io/openclaw/openclaw:2026.9.6",
        "hooli     fsn1-b  basic       hooli.agents.localhost     ghcr.io/openclaw/openclaw:2026.9.6",
        "initech   fsn1-a  basic       initech.agents.localhost   ghcr.io/openclaw/openclaw:2026.9.6",
        "umbrella  fsn1-b  pro         umbrella.agents.localhost  ghcr.io/openclaw/openclaw:2026.9.6",
        "",
      ].join("\n"),
    );
  });

  test("list --json, with --zone for the default domains", async () => {
    const dir = workdir();
    const result = await agentpod(dir, "tenant", "list", "--json", "--zone", "agents.example.com");
    expect(result.status).toBe(0);
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.name)).toEqual(["acme", "globex", "hooli", "initech", "umbrella"]);
    expect(rows[4]).toEqual({ name: "umbrella", host: "fsn1-b", plan: "pro", cpus: 2, memory: "4Gi", domain: "umbrella.agents.example.com", image: "ghcr.io/openclaw/openclaw:2026.9.6", modelProvider: "openai" });
  });

  test("bad usage exits 2 and leaves the file alone", async () => {
    const dir = workdir();
    const [none, option] = await Promise.all([agentpod(dir, "tenant"), agentpod(dir, "tenant", "add", "wayne", "--colour", "red")]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^agentpod tenant <subcommand> \[options\]\n/);
    expect(option.status).toBe(2);
    expect(option.stderr).toMatch(/^agentpod: Unknown option '--colour'.*\n\nagentpod tenant add <name>/);
    expect(read(dir)).toBe(FIXTURE);
  });

  test("the top-level help lists the new commands; `tenant --help` exits 0", async () => {
    const [top, tenant] = await Promise.all([agentpod(scratch, "--help"), agentpod(scratch, "tenant", "--help")]);
    expect(top.status).toBe(0);
    for (const command of ["tenant", "summary", "status"]) expect(top.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    expect(tenant.status).toBe(0);
    expect(tenant.stdout).toMatch(/^agentpod tenant <subcommand> \[options\]\n/);
  });

});

describe("usage and help, in process", () => {
  test.each([
    [[], 2, /^agentpod host <subcommand>/],
    [["rebuild", "b"], 2, /^agentpod: unknown host subcommand "rebuild"/],
    [["replace"], 2, /^agentpod: missing <host>\n\nagentpod host replace <host>/],
    [["replace", "b", "c"], 2, /^agentpod: unexpected argument "c"/],
  ])("`host %s` is bad usage: exit status %i with the usage", async (args, status, message) => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await hostCommand(args)).toBe(status);
      expect(String(error.mock.calls[0]?.[0])).toMatch(message);
    } finally {
      error.mockRestore();
    }
  });

  test.each([
    [["frobnicate"], /^agentpod: unknown tenant subcommand "frobnicate"\n\nagentpod tenant <subcommand>/],
    [["add"], /^agentpod: missing <name>\n\nagentpod tenant add <name>/],
    [["set-plan", "acme"], /^agentpod: missing <plan>\n\nagentpod tenant set-plan/],
    [["move", "acme", "fsn1-b", "extra"], /^agentpod: unexpected argument "extra"\n\nagentpod tenant move/],
    [["move", "acme", "fsn1-b", "--stack", "prod", "--file", "t.yaml"], /^agentpod: --file and --stack do not go together/],
    [["purge"], /^agentpod: missing <name>\n\nagentpod tenant purge <name>/],
    [["purge", "acme", "--force"], /^agentpod: Unknown option '--force'/],
  ])("`tenant %s` is bad usage: exit status 2 with the usage", async (args, message) => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await tenantCommand(args)).toBe(2);
      expect(String(error.mock.calls[0]?.[0])).toMatch(message);
    } finally {
      error.mockRestore();
    }
  });

  test.each([
    ["add", /^agentpod tenant add <name> \[--host H\]/],
    ["remove", /^agentpod tenant remove <name>/],
    ["set-plan", /^agentpod tenant set-plan <name> <plan>/],
    ["move", /^agentpod tenant move <name> <host>/],
    ["purge", /^agentpod tenant purge <name> \[--host H\]/],
    ["list", /^agentpod tenant list \[--json\]/],
  ])("`tenant %s --help` prints its usage and exits 0", async (subcommand, usage) => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      expect(await tenantCommand([subcommand, "--help"])).toBe(0);
      expect(String(log.mock.calls[0]?.[0])).toMatch(usage);
    } finally {
      log.mockRestore();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The edit logic, directly

const OPTIONS = { file: "t.yaml", domainSuffix: "localhost" };

function ok(result: EditResult): string {
  if (!result.ok) throw new Error(`${result.message}\n${result.issues.map(formatIssue).join("\n")}`);
  expect(result.formattingPreserved).toBe(true);
  return result.text;
}

const FLOW = `hosts:
  - { name: h1, location: fsn1, serverType: cx42 }   # one
  - { name: h2, location: fsn1, serverType: cx42 }
tenants:
  - { name: a, host: h1 }   # first
  - { name: b, host: h1, plan: "pro" }
`;

describe("edits keep the file's style", () => {
  test("flow-style entries: new entries are flow too, values are set in place, quoting is kept", () => {
    expect(ok(addTenant(FLOW, { name: "c", plan: "pro" }, OPTIONS))).toBe(FLOW + "  - { name: c, host: h2, plan: pro }\n");
    expect(ok(setTenantPlan(FLOW, "a", "enterprise", OPTIONS))).toBe(FLOW.replace("{ name: a, host: h1 }", "{ name: a, host: h1, plan: enterprise }"));
    expect(ok(setTenantPlan(FLOW, "b", "basic", OPTIONS))).toBe(FLOW.replace('plan: "pro"', 'plan: "basic"'));
    expect(ok(moveTenant(FLOW, "b", "h2", OPTIONS))).toBe(FLOW.replace("{ name: b, host: h1,", "{ name: b, host: h2,"));
    expect(ok(removeTenant(FLOW, "a", OPTIONS))).toBe(FLOW.replace("  - { name: a, host: h1 }   # first\n", ""));
  });

  test("a flow sequence of tenants", () => {
    const text = "hosts: [{ name: h1, location: fsn1, serverType: cx42 }]\ntenants: [{ name: a, host: h1 }, { name: b, host: h1 }]\n";
    expect(ok(addTenant(text, { name: "c" }, OPTIONS))).toBe(text.replace("{ name: b, host: h1 }]", "{ name: b, host: h1 }, { name: c, host: h1 }]"));
    expect(ok(removeTenant(text, "a", OPTIONS))).toBe(text.replace("{ name: a, host: h1 }, ", ""));
    expect(ok(removeTenant(text, "b", OPTIONS))).toBe(text.replace(", { name: b, host: h1 }", ""));
  });

  test("`tenants: []` becomes a block list with the first tenant; removing the last tenant leaves `tenants: []`", () => {
    const empty = "hosts:\n  - name: h1\n    location: fsn1\n    serverType: cx42\ntenants: []   # none yet\n# end\n";
    const one = ok(addTenant(empty, { name: "c", modelProvider: "openai" }, OPTIONS));
    expect(one).toBe("hosts:\n  - name: h1\n    location: fsn1\n    serverType: cx42\ntenants:   # none yet\n  - name: c\n    host: h1\n    modelProvider: openai\n# end\n");
    expect(ok(removeTenant(one, "c", OPTIONS))).toBe("hosts:\n  - name: h1\n    location: fsn1\n    serverType: cx42\ntenants: []   # none yet\n# end\n");
  });

  test("CRLF files get CRLF lines; a file without a final newline gets one before the new entry", () => {
    const crlf = "hosts:\r\n  - name: h1\r\n    location: fsn1\r\n    serverType: cx42\r\ntenants:\r\n  - name: a   # a!\r\n    host: h1\r\n";
    expect(ok(addTenant(crlf, { name: "c" }, OPTIONS))).toBe(crlf + "  - name: c\r\n    host: h1\r\n");
    expect(ok(setTenantPlan(crlf, "a", "pro", OPTIONS))).toBe(crlf + "    plan: pro\r\n");
    const noEol = "hosts:\n  - name: h1\n    location: fsn1\n    serverType: cx42\ntenants:\n  - name: a\n    host: h1";
    expect(ok(addTenant(noEol, { name: "c" }, OPTIONS))).toBe(noEol + "\n  - name: c\n    host: h1\n");
  });

  test("values YAML would read as another type are quoted", () => {
    expect(renderScalar("123", false)).toBe('"123"');
    expect(renderScalar("true", false)).toBe('"true"');
    expect(renderScalar("ghcr.io/openclaw/openclaw:2026.9.6", false)).toBe("ghcr.io/openclaw/openclaw:2026.9.6");
    expect(renderScalar("a,b", true)).toBe('"a,b"');
    const text = "hosts:\n  - name: h1\n    location: fsn1\n    serverType: cx42\ntenants: []\n";
    expect(ok(addTenant(text, { name: "123" }, OPTIONS))).toContain('  - name: "123"\n');
  });

  test("what cannot be spliced faithfully is written by the YAML library: same data, comments kept", () => {
    const text = "hosts:\n  - { name: h1, location: fsn1, serverType: cx42 }\n  - { name: h2, location: fsn1, serverType: cx42 }\ntenants:\n  - name: a\n    host: >-\n      h1\n    plan: pro   # keep\n";
    const result = moveTenant(text, "a", "h2", OPTIONS);
    expect(result.ok && result.formattingPreserved).toBe(false);
    expect(result.ok && result.text).toContain("# keep");
    expect(result.ok && loadFleet(result.text, OPTIONS).tenants[0]!.host).toBe("h2");
  });
});

describe("placement", () => {
  const fleetOf = (hosts: string, tenants: string) => loadFleet(`hosts:\n${hosts}tenants:\n${tenants}`, OPTIONS);
  const basic = { cpus: 1, memoryBytes: 2 * GiB };

  test("the host with the smallest memory share once the tenant is placed, relative to its server type", () => {
    // a: cx22 (3Gi), empty: 2/3 after. b: cx52 (31Gi) with 4Gi used: 6/31 after. b wins although a is emptier now.
    const fleet = fleetOf("  - { name: a, location: fsn1, serverType: cx22 }\n  - { name: b, location: fsn1, serverType: cx52 }\n", "  - { name: t1, host: b, plan: pro }\n");
    expect(chooseHost(fleet, basic)).toMatchObject({ host: "b", fits: true, memoryUsedBytes: 6 * GiB, memoryAvailableBytes: 31 * GiB });
  });

  test("equal memory shares: the smaller CPU share wins; then the name", () => {
    const custom = `plans:\n  lean: { cpus: 1, memory: 4Gi }\n  fat: { cpus: 3, memory: 4Gi }\n`;
    const fleet = loadFleet(`${custom}defaults: { plan: lean }\nhosts:\n  - { name: a, location: fsn1, serverType: cx42 }\n  - { name: b, location: fsn1, serverType: cx42 }\ntenants:\n  - { name: t1, host: a, plan: fat }\n  - { name: t2, host: b, plan: lean }\n`, OPTIONS);
    expect(chooseHost(fleet, { cpus: 1, memoryBytes: 4 * GiB })?.host).toBe("b");
    const even = fleetOf("  - { name: b, location: fsn1, serverType: cx42 }\n  - { name: a, location: fsn1, serverType: cx42 }\n", "  []\n");
    expect(chooseHost(even, basic)?.host).toBe("a");
  });

  test("a host without room is never chosen while another has room, even if its memory share would be lower", () => {
    // a: cx52 (16 vCPU, 31Gi) with 15 CPUs and 10Gi used: memory share 12/31 after, but 17 CPUs do not fit.
    // b: cx42 (8 vCPU, 15Gi) with 1 CPU and 8Gi used: memory share 10/15 after, and it fits.
    const tenants = [1, 2, 3, 4, 5].map((i) => `  - { name: t${i}, host: a, plan: cpu }\n`).join("") + "  - { name: t6, host: b, plan: mem }\n";
    const fleet = loadFleet(
      `plans:\n  basic: { cpus: 1, memory: 2Gi }\n  cpu: { cpus: 3, memory: 2Gi }\n  mem: { cpus: 1, memory: 8Gi }\nhosts:\n  - { name: a, location: fsn1, serverType: cx52 }\n  - { name: b, location: fsn1, serverType: cx42 }\ntenants:\n${tenants}`,
      OPTIONS,
    );
    expect(chooseHost(fleet, { cpus: 2, memoryBytes: 2 * GiB })).toMatchObject({ host: "b", fits: true, cpusUsed: 3 });
    // Nothing fits 9 CPUs: the least loaded by memory share is named, so that the validator reports it there.
    expect(chooseHost(fleet, { cpus: 9, memoryBytes: 2 * GiB })).toMatchObject({ host: "a", fits: false });
  });
});

describe("domain options: where default domains and the zone check come from", () => {
  test("--zone, else the project's hetzner stack that deploys this file, else the local zone, agents.localhost", () => {
    const dir = workdir({ "tenants.yaml": FIXTURE, "Pulumi.yaml": "name: agentpod\n", "Pulumi.prod.yaml": "config:\n  agentpod:target: hetzner\n  agentpod:zone: Agents.Example.com\n", "Pulumi.local.yaml": "config:\n  agentpod:target: local\n  agentpod:tenantsFile: tenants.local.yaml\n" });
    expect(domainOptionsFor(path.join(dir, "tenants.yaml"), undefined)).toEqual({ domainSuffix: "agents.example.com", zone: "agents.example.com" });
    expect(domainOptionsFor(path.join(dir, "tenants.local.yaml"), undefined)).toEqual({ domainSuffix: "agents.localhost" });
    expect(domainOptionsFor(path.join(dir, "tenants.yaml"), "other.example.net")).toEqual({ domainSuffix: "other.example.net", zone: "other.example.net" });
    expect(() => domainOptionsFor(path.join(dir, "tenants.yaml"), "not a zone")).toThrow(/is not a DNS zone name/);
    expect(domainOptionsFor(path.join(scratch, "elsewhere.yaml"), undefined)).toEqual({ domainSuffix: "agents.localhost" });
  });

  test("two hetzner stacks with different zones for one file: --zone is required", () => {
    const dir = workdir({ "Pulumi.yaml": "name: agentpod\n", "Pulumi.prod.yaml": "config:\n  agentpod:target: hetzner\n  agentpod:zone: a.example.com\n", "Pulumi.staging.yaml": "config:\n  agentpod:target: hetzner\n  agentpod:zone: b.example.com\n" });
    expect(() => domainOptionsFor(path.join(dir, "tenants.yaml"), undefined)).toThrow(/stacks with different zones: prod \(a\.example\.com\); staging \(b\.example\.com\)\. Pass --zone/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// agentpod status: the pure parts (the live path runs in the end-to-end suite)

describe("status", () => {
  const row = (tenant: string, state: string, health: string, extra: Partial<TenantStatus> = {}): TenantStatus => ({
    tenant,
    host: "local",
    plan: "basic",
    url: `http://${tenant}.localhost:8080`,
    state,
    health,
    ...extra,
  });

  test("docker inspect's State becomes state and health; no container is `missing`", () => {
    expect(containerStatus({ Status: "running", Health: { Status: "healthy", FailingStreak: 0 } })).toEqual({ state: "running", health: "healthy" });
    expect(containerStatus({ Status: "exited", ExitCode: 137 })).toEqual({ state: "exited", health: "none" });
    expect(containerStatus(undefined)).toEqual({ state: "missing", health: "-" });
  });

  test("all running and healthy: a table and exit status 0", () => {
    const { text, ok } = renderStatus("local", [row("bravo", "running", "healthy", { plan: "pro" }), row("alpha", "running", "healthy")]);
    expect(ok).toBe(true);
    expect(text).toBe(
      [
        "TENANT  HOST   PLAN   STATE    HEALTH   URL",
        "alpha   local  basic  running  healthy  http://alpha.localhost:8080",
        "bravo   local  pro    running  healthy  http://bravo.localhost:8080",
        "",
        "all 2 tenants running and healthy",
        "",
      ].join("\n"),
    );
  });

  test("with --devices, a DEVICES column: the paired devices of each running gateway, - where the gateway did not say", () => {
    const { text } = renderStatus("local", [row("alpha", "running", "healthy", { devices: 2 }), row("bravo", "running", "healthy", { devices: 0 }), row("charlie", "exited", "none")]);
    expect(text.split("\n").slice(0, 4)).toEqual([
      "TENANT   HOST   PLAN   STATE    HEALTH   DEVICES  URL",
      "alpha    local  basic  running  healthy  2        http://alpha.localhost:8080",
      "bravo    local  basic  running  healthy  0        http://bravo.localhost:8080",
      "charlie  local  basic  exited   none     -        http://charlie.localhost:8080",
    ]);
  });

  test("any tenant not running and healthy fails the status and is named", () => {
    const rows = [row("alpha", "running", "healthy"), row("bravo", "running", "unhealthy"), row("charlie", "exited", "none"), row("delta", "missing", "-")];
    const { text, ok } = renderStatus("local", rows);
    expect(ok).toBe(false);
    expect(text.trimEnd().split("\n").at(-1)).toBe("3 of 4 tenants not running and healthy: bravo (running, unhealthy), charlie (exited), delta (missing)");
    expect(renderStatus("local", [row("alpha", "running", "starting")]).ok).toBe(false);
    expect(renderStatus("local", [row("alpha", "unknown", "-", { error: "cannot connect" })]).text).toContain("\n  alpha: cannot connect\n");
    expect(renderStatus("local", [])).toEqual({ text: "stack local has no tenants\n", ok: true });
  });

  test("each host's Docker endpoint: the local server's engine locally, ssh://root@ipv4 on Hetzner", () => {
    const local = parseSettings({ stack: "local", values: { target: "local", fleet: "demo" }, secretsSet: new Set() });
    expect(hostEndpoint(local, "local-b", {})).toBe("unix:///run/agentpod/servers/demo-local-b/docker.sock");
    const hetzner = { target: "hetzner" } as Parameters<typeof hostEndpoint>[0];
    expect(hostEndpoint(hetzner, "fsn1-a", { "fsn1-a": { ipv4: "203.0.113.7" } })).toBe("ssh://root@203.0.113.7");
    expect(hostEndpoint(hetzner, "fsn1-b", {})).toBeUndefined();
  });
});
