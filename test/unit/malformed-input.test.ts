/**
 * Malformed tenants.yaml files made by mutating valid ones: lines deleted and duplicated, values of the wrong type,
 * deep nesting, huge scalars, stray indicators, tabs, BOMs, CRLF, NUL and bytes that are not UTF-8. Whatever the
 * input, the validator answers with a plan or with located issues, quickly: it never throws, never hangs, and every
 * issue points at a line and column of the file. Inputs are bytes, as the program reads the file
 * (stack/program.ts passes readFileSync's Buffer to loadFleet, which calls checkTenantsFile). AGENTPOD_FUZZ_RUNS=3000
 * runs the generator longer (300 runs by default).
 */
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { MAX_ISSUE_LENGTH, formatIssue } from "../../fleet/issues";
import { MAX_NESTING, MAX_TENANTS_FILE_LENGTH } from "../../fleet/source";
import { checkTenantsFile, type ValidateOptions } from "../../fleet/validate";

const PROD: ValidateOptions = { file: "tenants.yaml", domainSuffix: "agents.example.com", zone: "agents.example.com" };
const LOCAL: ValidateOptions = { file: "tenants.local.yaml", domainSuffix: "localhost" };
/** Per generated input, on a loaded 2-core machine. */
const BOUND_MS = 2_000;
/**
 * Per example below: files of 20,000 keys or 120,000 anchors take the YAML library itself up to 3 s on this machine
 * when it is busy; before the fixes they took 20 s and more (the library's duplicate-key check, its resolution of
 * aliases and a search per issue were quadratic).
 */
const LARGE_BOUND_MS = 8_000;

const ROOT = path.join(__dirname, "../..");
const VALID = path.join(ROOT, "test/fixtures/valid");
const seeds = [
  ...readdirSync(VALID)
    .filter((name) => name.endsWith(".yaml"))
    .sort()
    .map((name) => ({ name, text: readFileSync(path.join(VALID, name), "utf8"), options: PROD })),
  { name: "tenants.yaml", text: readFileSync(path.join(ROOT, "tenants.yaml"), "utf8"), options: PROD },
  { name: "tenants.local.yaml", text: readFileSync(path.join(ROOT, "tenants.local.yaml"), "utf8"), options: LOCAL },
];

/** Runs the validator on one input and checks what it answered; returns the issues for further checks. */
function expectHandled(input: Uint8Array, options: ValidateOptions, bound = BOUND_MS) {
  const started = performance.now();
  const result = checkTenantsFile(input, options);
  const elapsed = performance.now() - started;
  expect(elapsed, `took ${Math.round(elapsed)} ms`).toBeLessThan(bound);
  if (result.fleet) {
    expect(result.issues).toEqual([]);
    return result.issues;
  }
  expect(result.issues.length).toBeGreaterThan(0);
  const lines = Buffer.from(input).toString("utf8").split("\n");
  for (const issue of result.issues) {
    const text = formatIssue(issue);
    expect(issue.file, text).toBe(options.file);
    expect(Number.isInteger(issue.line) && issue.line >= 1 && issue.line <= lines.length, `${text} (the file has ${lines.length} lines)`).toBe(true);
    const line = lines[issue.line - 1]!;
    expect(Number.isInteger(issue.column) && issue.column >= 1 && issue.column <= line.length + 1, `${text} (line ${issue.line}: ${JSON.stringify(line.slice(0, 200))})`).toBe(true);
    expect(issue.message.trim(), text).not.toBe("");
    // One line per problem, of a readable length, and nothing from the file that would drive the terminal.
    expect(text, text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(text.length).toBeLessThanOrEqual(MAX_ISSUE_LENGTH + 40);
    // The library's own wording for a crash it caught must never reach the operator.
    expect(issue.message, text).not.toMatch(/call stack|stack overflow|\[object /i);
  }
  return result.issues;
}

// --- mutations of a document's lines --------------------------------------------------------------------------------

type Mutation = (text: string) => string;
const lineAt = (lines: string[], n: number) => n % Math.max(lines.length, 1);
const onLines = (edit: (lines: string[]) => void): Mutation => (text) => {
  const lines = text.split("\n");
  edit(lines);
  return lines.join("\n");
};
/** Replaces the value of a `key: value` or `- value` line (or appends one) with `value`. */
const withValue = (n: number, value: string): Mutation =>
  onLines((lines) => {
    const i = lineAt(lines, n);
    const match = /^(\s*(?:- )?(?:[^:#]+: ?)?)/.exec(lines[i]!)!;
    lines[i] = match[1]!.endsWith(": ") || match[1]!.trimStart().startsWith("- ") ? match[1] + value : `${lines[i]}: ${value}`;
  });

const HUGE = 1_000_000;
const values = fc.constantFrom(
  '"text"', "text", "42", "-1.5", "0", "1e400", "-1e400", "0x1F", "0o17", ".nan", ".inf", "1" + "0".repeat(400), "~", "null", "true", "no", '""', "''",
  "[]", "{}", "[a, 1, ~]", "{a: 1, b: [2]}", "!!binary aGk=", "!!set {a}", "!custom x", "&anchor x", "*anchor", "*missing", "2026-12-01", "12:30:00",
  "|\n  block\n  text", ">-\n  folded", '"\\x00\\u0000"', "'it''s'", "\"unterminated", "[unclosed", "{a: 1", "- item", "? key", ": value",
  "\n  - a\n  - b", "\n  a: 1\n  b: 2", "<<: {a: 1}", "*anchor : 1",
);
const huge = fc.constantFrom(
  () => "a".repeat(HUGE),
  () => `"${"\\u00e9".repeat(HUGE / 6)}"`,
  () => `'${"x'' ".repeat(HUGE / 4)}'`,
  () => "9".repeat(HUGE),
  () => `ghcr.io/${"a-".repeat(HUGE / 2)}!`,
  () => "a.".repeat(HUGE / 2),
  () => `sk-ant-${"A".repeat(HUGE)}`,
  () => `"${"[{".repeat(HUGE / 2)}"`,
);
const nested = fc.tuple(fc.constantFrom(MAX_NESTING - 4, MAX_NESTING + 1, 1_000, 10_000, 100_000), fc.constantFrom("[", "{a: ", "- ", "? ", "[{", "{[", "- [", "a: ", "&x [", "!t - ")).map(
  ([depth, unit]) => unit.repeat(depth),
);
const insertions = fc.constantFrom(
  "\t", "\uFEFF", "\r\n", "\r", "\0", "\u2028", "\u0085", "\x1b[31m", "#", ":", ": ", "- ", "? ", "&a ", "*a", "*b ", "!!str ", "!!map ", "|", ">",
  "'", '"', "[", "]", "{", "}", ",", "---\n", "...\n", "%YAML 1.2\n---\n", "<<: *a\n", "\n  ", "\n\t", "\\", "\uD800", "\uDC00", "\u{1F600}", "é",
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 1, max: 6 })).map(([n, count]): Mutation => onLines((l) => l.splice(lineAt(l, n), count))) },
  { weight: 4, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 1, max: 6 })).map(([n, count]): Mutation => onLines((l) => l.splice(lineAt(l, n), 0, ...l.slice(lineAt(l, n), lineAt(l, n) + count)))) },
  { weight: 6, arbitrary: fc.tuple(fc.nat(), values).map(([n, value]) => withValue(n, value)) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), huge).map(([n, make]): Mutation => (text) => withValue(n, make())(text)) },
  { weight: 1, arbitrary: fc.nat().map((n): Mutation => onLines((l) => l.splice(lineAt(l, n), 0, `${"k".repeat(HUGE)}: 1`))) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), nested).map(([n, deep]) => withValue(n, deep)) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 2, max: 2_000 })).map(([n, depth]): Mutation => onLines((l) => l.splice(lineAt(l, n), 0, ...Array.from({ length: depth }, (_, i) => `${" ".repeat(i)}k${i}:`)))) },
  { weight: 5, arbitrary: fc.tuple(fc.nat(), insertions).map(([n, insert]): Mutation => (text) => text.slice(0, n % (text.length + 1)) + insert + text.slice(n % (text.length + 1))) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 0, max: 8 })).map(([n, spaces]): Mutation => onLines((l) => (l[lineAt(l, n)] = " ".repeat(spaces) + l[lineAt(l, n)]!.trimStart()))) },
  { weight: 1, arbitrary: fc.constant<Mutation>((text) => text.replace(/\n/g, "\r\n")) },
  { weight: 1, arbitrary: fc.constant<Mutation>((text) => text.replace(/^( *)/gm, (s) => "\t".repeat(s.length / 2))) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Mutation => onLines((l) => {
    // An anchor on one value and aliases to it elsewhere (before it, after it, inside it).
    const i = lineAt(l, a);
    l[i] = l[i]!.replace(/(: |- )/, "$1&a ");
    const j = lineAt(l, b);
    l[j] = l[j]!.replace(/(: |- ).*$/, "$1*a");
  })) },
  { weight: 1, arbitrary: fc.nat().map((n): Mutation => (text) => text.slice(0, n % (text.length + 1))) },
  { weight: 1, arbitrary: fc.nat({ max: 200_000 }).map((n): Mutation => (text) => text + "\n" + `k${n}: [a, {b: c}]\n`.repeat(Math.ceil((MAX_TENANTS_FILE_LENGTH + n) / 16))) },
);

/** Raw bytes over the UTF-8 encoding: random ones, and sequences that are not UTF-8 (stray, truncated, overlong, surrogate). */
const byteEdit = fc.oneof(
  fc.constant<Uint8Array | undefined>(undefined),
  fc.uint8Array({ minLength: 1, maxLength: 8 }),
  fc.constantFrom([0xff], [0xfe, 0xff], [0xc3], [0xe9], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x00]).map((b) => Uint8Array.from(b)),
);

const malformed = fc.record({
  seed: fc.constantFrom(...seeds),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  bytes: byteEdit,
  at: fc.nat(),
});

type Malformed = typeof malformed extends fc.Arbitrary<infer T> ? T : never;

function bytesOf({ seed, mutations, bytes, at }: Malformed): Buffer {
  const text = mutations.reduce((t, mutate) => mutate(t), seed.text);
  const encoded = Buffer.from(text, "utf8");
  if (!bytes) return encoded;
  const offset = at % (encoded.length + 1);
  return Buffer.concat([encoded.subarray(0, offset), bytes, encoded.subarray(offset)]);
}

describe("malformed tenants.yaml", () => {
  it("the seeds are valid", () => {
    for (const seed of seeds) expect(checkTenantsFile(seed.text, seed.options).issues, seed.name).toEqual([]);
  });

  it("any mutation of a valid file yields a plan or located issues, within the bound, without throwing", () => {
    fc.assert(
      fc.property(malformed, (input) => {
        expectHandled(bytesOf(input), input.seed.options);
      }),
      { numRuns: Number(process.env.AGENTPOD_FUZZ_RUNS ?? 300) },
    );
  });

  // What the generator found, kept as examples that run every time.
  const big = "x".repeat(HUGE);
  const found: Array<[string, string | Uint8Array, RegExp]> = [
    ["10,000 nested lists", `hosts:\n${"- ".repeat(10_000)}x\ntenants: []\n`, /^2:\d+ values nest more than 64 levels deep here/],
    ["10,000 `a: ` chained in a flow mapping", `hosts: []\ntenants:\n  - { name: ${"a: ".repeat(10_000)}\n`, /^3:\d+ values nest more than 64 levels deep here/],
    ["100,000 open brackets", `hosts: []\ntenants: ${"[".repeat(100_000)}\n`, /^2:\d+ values nest more than 64 levels deep here/],
    ["brackets inside quotes do not close anything", `hosts: []\ntenants: ${'["]", ['.repeat(1_000)}\n`, /^2:\d+ values nest more than 64 levels deep here/],
    ["a staircase of 1,400 indented keys", `a:\n${Array.from({ length: 1_400 }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")}\n`, /values nest more than 64 levels deep here/],
    ["20,000 unknown keys in one mapping", `hosts: []\ntenants: []\n${Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join("\n")}\n`, /^3:1 k0: unknown key "k0"/],
    ["20,000 duplicate keys in one mapping", `hosts: []\ntenants: []\nplans:\n${"  a: {cpus: 1, memory: 2Gi}\n".repeat(20_000)}`, /^5:3 key "a" appears twice in the same mapping: keep one$/],
    ["120,000 anchors and 10,000 aliases", `hosts: []\ntenants: []\nx:\n${"- &a 1\n".repeat(120_000)}y:\n${"- *a\n".repeat(10_000)}`, /^3:1 x: unknown key "x"/],
    ["two 500 KB host names", `hosts:\n  - {name: a${big.slice(0, 500_000)}, location: fsn1, serverType: cx22}\ntenants:\n  - {name: t, host: b${big.slice(0, 500_000)}}\n`, /tenants\[0\]\.host: unknown host "b/],
    ["a file over the size limit", `hosts: []\ntenants: []\n# ${big}${big}\n`, /^1:1 the file has 2000025 characters, more than the 1048576 a tenants file may have/],
    ["a list as a key", `hosts: []\ntenants: []\n? [a, b]\n: 1\n`, /^3:3 a key must be a name, not a list or mapping/],
    ["a Latin-1 byte", Buffer.concat([Buffer.from("hosts: []\ntenants: [] # caf"), Buffer.from([0xe9]), Buffer.from("\n")]), /^2:18 the file is not UTF-8 text \(byte 0xe9 here\): save it as UTF-8$/],
    ["a lone surrogate, encoded", Buffer.concat([Buffer.from("hosts: []\n# \u{1F600}"), Buffer.from([0xed, 0xa0, 0x80])]), /^2:5 the file is not UTF-8 text \(byte 0xed here\)/],
  ];
  it.each(found)("%s: refused at its place", (_, input, expected) => {
    const issues = expectHandled(typeof input === "string" ? Buffer.from(input) : input, PROD, LARGE_BOUND_MS);
    expect(issues.map((i) => formatIssue(i).replace(/^tenants\.yaml:/, "")).find((line) => expected.test(line)), issues.map(formatIssue).join("\n").slice(0, 2_000)).toBeDefined();
  });

  it("a literal U+FFFD and a byte-order mark are UTF-8 like any other text", () => {
    const valid = seeds.find((s) => s.name === "tenants.yaml")!;
    expect(expectHandled(Buffer.from(`\uFEFF${valid.text}# \uFFFD\n`), PROD)).toEqual([]);
  });
});
