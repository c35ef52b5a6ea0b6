/**
 * What the operator sees when the engine fails: each problem of tenants.yaml once, with its file:line:column, no
 * stack trace, exit status 1; a failure of anything else in full. The formatting is tested on output captured from
 * the real engine (test/fixtures/engine: the streamed output and the Automation API's exception of one run each),
 * then `agentpod preview` and `up` run for real on a throwaway project whose tenants.yaml has two problems (the
 * program refuses it before registering anything, so nothing reaches Docker).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { EngineOutputFilter, engineErrorText } from "../../cli/engineOutput";

const ENGINE = path.join(__dirname, "../fixtures/engine");
const capture = (name: string) => ({
  stream: readFileSync(path.join(ENGINE, `${name}.stream.txt`), "utf8"),
  error: readFileSync(path.join(ENGINE, `${name}.error.txt`), "utf8"),
});
const PROBLEMS = [
  'tenants.yaml:8:11 tenants[0].plan: unknown plan "nope". Plans: basic, pro, enterprise.',
  "tenants.yaml:9:11 tenants[1].name: must be a DNS label: lowercase letters, digits and dashes, 1-40 characters, starting and ending with a letter or digit",
];
const HEADER = "tenants.yaml has 2 problems; nothing was changed:";

/** How often `line` occurs as a whole line of `text`, whatever its indentation or prefix. */
const occurrences = (text: string, line: string) => text.split("\n").filter((l) => l.trim() === line || l.trim() === `error: ${line}`).length;

/** The streamed output as the CLI prints it (fed in the given chunk sizes), then its message after the failure. */
function whatTheOperatorSees(name: string, chunkSizes: number[] = []) {
  const { stream, error } = capture(name);
  const filter = new EngineOutputFilter();
  let shown = "";
  let at = 0;
  for (const size of chunkSizes) {
    shown += filter.push(stream.slice(at, at + size));
    at += size;
  }
  shown += filter.push(stream.slice(at)) + filter.end();
  return { shown, failure: engineErrorText(error) };
}

describe("engine output after a failed run", () => {
  test("the captured `up` of an invalid file really has each problem twice (the SDK logs it and returns it)", () => {
    const { stream, error } = capture("invalid-up");
    for (const problem of PROBLEMS) expect(occurrences(stream, problem)).toBe(2);
    expect(occurrences(error, PROBLEMS[0]!)).toBeGreaterThanOrEqual(2);
  });

  test("up: the problems are left out of the streamed Diagnostics; the final message lists each once", () => {
    const { shown, failure } = whatTheOperatorSees("invalid-up");
    const all = `${shown}agentpod: ${failure}\n`;
    for (const problem of PROBLEMS) expect(occurrences(all, problem), all).toBe(1);
    expect(failure).toBe([`error: ${HEADER}`, ...PROBLEMS.map((p) => `  ${p}`)].join("\n"));
    // The rest of the engine's output is untouched; the section that only held the errors is gone.
    expect(shown).toBe(
      "Updating (local-fuzz):\n\n" +
        `    pulumi:pulumi:Stack agentpod-local-fuzz running error: ${HEADER}\n` +
        "    pulumi:pulumi:Stack agentpod-local-fuzz **failed** 2 errors\n" +
        "Resources:\n    1 unchanged\n    1 errored\n\nDuration: 1s\n\n",
    );
    expect(all).not.toMatch(/^\s+at /m);
  });

  test("the same, however the engine's output is cut into chunks", () => {
    const whole = whatTheOperatorSees("invalid-up");
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 80 }), { maxLength: 40 }), (sizes) => {
        expect(whatTheOperatorSees("invalid-up", sizes)).toEqual(whole);
      }),
    );
  });

  test("preview (diff): the engine shows the problems only in its exception; the final message lists each once", () => {
    const { shown, failure } = whatTheOperatorSees("invalid-preview");
    const all = `${shown}agentpod: ${failure}\n`;
    for (const problem of PROBLEMS) expect(occurrences(all, problem), all).toBe(1);
    expect(failure).toBe([`error: ${HEADER}`, ...PROBLEMS.map((p) => `  ${p}`)].join("\n"));
  });

  test("a program that crashes: both of the engine's reports in the final message, its stack trace included", () => {
    const { shown, failure } = whatTheOperatorSees("crash-up");
    expect(shown).not.toContain("Diagnostics:");
    expect(failure).toMatch(/^error: Unhandled exception: TypeError: Cannot read properties of undefined \(reading 'boom'\)\n {2}at Object\.program \(\/repo\/program\.ts:9:73\)\n( {2}at .*\n){3}error: Cannot read properties of undefined \(reading 'boom'\)$/);
  });

  test("an engine that fails before the program runs: its error in full", () => {
    const { shown, failure } = whatTheOperatorSees("config-up");
    expect(shown).toBe("");
    expect(failure).toBe("error: validating stack config: bad value: illegal base64 data at input byte 8");
  });

  test("warnings stay in the streamed Diagnostics, under their resource", () => {
    const filter = new EngineOutputFilter();
    const stream = "Diagnostics:\n  docker:index:Container (a):\n    warning: deprecated\n  pulumi:pulumi:Stack (s):\n    error: boom\n      detail\n\nResources:\n";
    expect(filter.push(stream) + filter.end()).toBe("Diagnostics:\n  docker:index:Container (a):\n    warning: deprecated\n\nResources:\n");
  });
});

describe("agentpod preview and up on an invalid tenants.yaml (the real engine, nothing created)", () => {
  const AGENTPOD = path.resolve(__dirname, "../../bin/agentpod");
  const dir = mkdtempSync(path.join(tmpdir(), "agentpod-engine-output-"));
  symlinkSync(path.resolve(__dirname, "../../node_modules"), path.join(dir, "node_modules"));
  writeFileSync(path.join(dir, "Pulumi.yaml"), "name: agentpod\nruntime: nodejs\n");
  writeFileSync(path.join(dir, "Pulumi.local-output.yaml"), "config:\n  agentpod:target: local\n  agentpod:tenantsFile: tenants.yaml\n  agentpod:fleet: output\n");
  writeFileSync(
    path.join(dir, "tenants.yaml"),
    "hosts:\n  - name: local-a\n    location: fsn1\n    serverType: cx42\ntenants:\n  - name: alpha\n    host: local-a\n    plan: nope\n  - name: Bad_Name\n    host: local-a\n",
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // up first: it creates the stack, which preview then needs.
  test.each([["up", "--yes"], ["preview"]])("%s: exit 1, each problem line exactly once, no stack trace", (...command) => {
    const run = spawnSync(AGENTPOD, [...command, "--stack", "local-output", "--project", dir], { encoding: "utf8", timeout: 240_000 });
    const all = run.stdout + run.stderr;
    expect(run.status, all).toBe(1);
    // Once in all the operator sees, and that once on stderr, where errors go.
    for (const problem of PROBLEMS) expect([occurrences(all, problem), occurrences(run.stderr, problem)], all).toEqual([1, 1]);
    expect(all).not.toMatch(/^\s+at /m);
    expect(all).not.toContain("Command failed with exit code");
  });
});
