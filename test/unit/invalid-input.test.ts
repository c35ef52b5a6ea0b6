/**
 * Every malformed tenants.yaml in test/fixtures/invalid is refused by the real program before any resource is
 * registered, with every problem at file:line:column. Each fixture states what it expects in its header:
 *   # expect: <line>:<column> <path>: <message or a distinctive prefix of it>   (one per reported problem)
 *   # must-not-contain: <text>                                                 (e.g. a secret that must not be echoed)
 * Adding a file adds a test. Files in test/fixtures/valid must pass.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../fleet/issues";
import { checkTenantsFile } from "../../fleet/validate";
import { runFleet } from "../support/mockFleet";

const FIXTURES = path.join(__dirname, "../fixtures");
const PROD = { file: "tenants.yaml", domainSuffix: "agents.example.com", zone: "agents.example.com" };

function load(kind: "invalid" | "valid") {
  return readdirSync(path.join(FIXTURES, kind))
    .filter((name) => name.endsWith(".yaml"))
    .sort()
    .map((name) => {
      // The bytes go to the program as they are on disk (a fixture may not be UTF-8); headers are ASCII.
      const bytes = readFileSync(path.join(FIXTURES, kind, name));
      const text = bytes.toString("latin1");
      const header = (tag: string) => text.split("\n").filter((l) => l.startsWith(`# ${tag}: `)).map((l) => l.slice(tag.length + 4));
      const expected = header("expect").map((e) => {
        const match = /^(\d+):(\d+) (.+)$/.exec(e);
        if (!match) throw new Error(`${name}: malformed expectation "${e}"`);
        return { line: Number(match[1]), column: Number(match[2]), text: `tenants.yaml:${match[1]}:${match[2]} ${match[3]}` };
      });
      return { name, bytes, expected, forbidden: header("must-not-contain") };
    });
}

const invalid = load("invalid");
const valid = load("valid");

describe("invalid tenants.yaml", () => {
  it("has enough fixtures, each starting with its expectation", () => {
    expect(invalid.length).toBeGreaterThanOrEqual(40);
    for (const fixture of invalid) expect(fixture.bytes.toString("latin1"), fixture.name).toMatch(/^# expect: /);
  });

  it.each(invalid)("$name: refused with every problem listed, nothing registered", async ({ bytes, expected, forbidden }) => {
    const run = await runFleet({ tenantsYaml: bytes, stack: "prod" });
    expect(run.error).toBeDefined();
    const message = run.error!.message;
    expect(message).toMatch(/^tenants\.yaml has \d+ problems?; nothing was changed:\n/);
    for (const expectation of expected) expect(message).toContain(expectation.text);
    expect(message.split("\n").filter((line) => line.startsWith("  tenants.yaml:"))).toHaveLength(expected.length);
    for (const secret of forbidden) expect(message).not.toContain(secret);
    expect(run.resources).toHaveLength(0);
  });

  it("checkTenantsFile reports all problems of a file, sorted by position", () => {
    const fixture = invalid.find((f) => f.name === "many-problems.yaml")!;
    const result = checkTenantsFile(fixture.bytes, PROD);
    expect(result.fleet).toBeUndefined();
    expect(result.issues.map((i) => [i.line, i.column])).toEqual(fixture.expected.map((e) => [e.line, e.column]));
    result.issues.forEach((issue, i) => expect(formatIssue(issue)).toContain(fixture.expected[i]!.text));
    const positions = result.issues.map((i) => i.line * 1000 + i.column);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(result.issues.map((i) => i.path.split(/[.[]/)[0])).size).toBe(4); // defaults, plans, hosts, tenants
  });
});

describe("valid tenants.yaml", () => {
  const example = { name: "tenants.yaml (the example)", bytes: readFileSync(path.join(__dirname, "../../tenants.yaml")) };
  it.each([...valid, example])("$name: accepted", async ({ bytes }) => {
    const result = checkTenantsFile(bytes, PROD);
    expect(result.issues).toEqual([]);
    const run = await runFleet({ tenantsYaml: bytes, stack: "prod" });
    expect(run.error).toBeUndefined();
    const gateways = run.ofType("agentpod:index:TenantGateway").map((r) => r.name);
    expect(gateways.sort()).toEqual(result.fleet!.tenants.map((t) => t.name));
  });
});
