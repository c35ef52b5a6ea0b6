/**
 * Property-based tests of the pure fleet logic: the plan is a function of what tenants.yaml says, not of how it is
 * written; the helpers behind hints, units, image pins and secret detection hold their laws for any input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Document, isScalar, visit, type ToStringOptions } from "yaml";
import { LOCATIONS, MiB, GiB, MODEL_PROVIDER_NAMES, MOVING_TAGS } from "../../fleet/catalog";
import { closest, editDistance } from "../../fleet/didYouMean";
import { imagePinProblem } from "../../fleet/images";
import { planFleet } from "../../fleet/plan";
import type { TenantsFile } from "../../fleet/schema";
import { looksLikeSecretValue } from "../../fleet/secrets";
import { formatMemory, parseMemory } from "../../fleet/units";
import { checkTenantsFile } from "../../fleet/validate";

const ZONE = "agents.example.com";
const PROD = { file: "tenants.yaml", domainSuffix: ZONE, zone: ZONE };

// --- generators -------------------------------------------------------------------------------------------------

/**
 * Any DNS label the schema accepts, except 40 hex digits: that is also the shape of a SHA-1 token, and the secret
 * check refuses it on purpose (it errs on the side of refusing).
 */
const dnsLabel = fc
  .stringMatching(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/)
  .filter((name) => !/^[0-9a-f]{40}$/.test(name));
const hex = (length: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });
const alnum = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"), minLength: 1, maxLength: 8 });
const pathComponent = fc.tuple(alnum, fc.array(fc.tuple(fc.constantFrom(".", "_", "__", "-", "--"), alnum), { maxLength: 2 })).map(([head, rest]) => head + rest.map(([s, p]) => s + p).join(""));
const registry = fc.option(
  fc.oneof(
    fc.constantFrom("ghcr.io", "docker.io", "registry.example.com", "quay.io"),
    fc.tuple(fc.constantFrom("localhost", "registry.example.com", "10.0.0.5"), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  ),
  { nil: undefined },
);
/** The validator reads the first component as a possible registry host: no "__" or "--" there (Docker Hub names have none). */
const firstComponent = fc.tuple(alnum, fc.array(fc.tuple(fc.constantFrom(".", "_", "-"), alnum), { maxLength: 2 })).map(([head, rest]) => head + rest.map(([s, p]) => s + p).join(""));
const repository = fc
  .tuple(registry, firstComponent, fc.array(pathComponent, { maxLength: 2 }))
  .map(([reg, first, rest]) => [...(reg ? [reg] : []), first, ...rest].join("/"));
const versionTag = fc
  .tuple(fc.boolean(), fc.nat(2100), fc.nat(99), fc.option(fc.nat(99), { nil: undefined }), fc.option(fc.constantFrom("-rc.1", "-alpine", "_beta2", "-r3"), { nil: undefined }))
  .map(([v, major, minor, patch, suffix]) => `${v ? "v" : ""}${major}.${minor}${patch === undefined ? "" : `.${patch}`}${suffix ?? ""}`);
const digest = hex(64).map((h) => `sha256:${h}`);
const pinnedImage = fc.oneof(
  fc.tuple(repository, versionTag).map(([r, t]) => `${r}:${t}`),
  fc.tuple(repository, digest).map(([r, d]) => `${r}@${d}`),
  fc.tuple(repository, versionTag, digest).map(([r, t, d]) => `${r}:${t}@${d}`),
);
const domainFor = (name: string) =>
  fc.oneof(
    fc.constant(`${name}.${ZONE}`),
    fc.constantFrom("chat", "agent", "gw-1").map((sub) => `${sub}.${name}.${ZONE}`),
    fc.constant(`${name.toUpperCase()}.Agents.Example.com`),
  );
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Drops undefined fields, so the YAML has no `key: null` lines. */
const compact = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** A valid fleet: big hosts (at most 8 tenants of at most 4 CPU / 8Gi cannot overflow them), built-in plans. */
const validFleet = fc
  .record({
    hostNames: fc.uniqueArray(dnsLabel, { minLength: 1, maxLength: 4 }),
    // At least one: yaml 2.9.1 writes an empty list as `tenants:\n[]` with indentSeq: false, which does not parse.
    tenantNames: fc.uniqueArray(dnsLabel, { minLength: 1, maxLength: 8 }),
    defaults: fc.record(
      { image: pinnedImage, plan: fc.constantFrom("basic", "pro", "enterprise"), modelProvider: fc.constantFrom(...MODEL_PROVIDER_NAMES) },
      { requiredKeys: [] },
    ),
  })
  .chain(({ hostNames, tenantNames, defaults }) =>
    fc.record({
      defaults: fc.constant(defaults),
      hosts: fc.tuple(
        ...hostNames.map((name) =>
          fc.record({ name: fc.constant(name), location: fc.constantFrom(...LOCATIONS), serverType: fc.constantFrom("ccx53", "ccx63"), dataVolumeGb: optional(fc.integer({ min: 10, max: 10240 })) }).map(compact),
        ),
      ),
      tenants: fc.tuple(
        ...tenantNames.map((name) =>
          fc
            .record({
              name: fc.constant(name),
              host: fc.constantFrom(...hostNames),
              plan: optional(fc.constantFrom("basic", "pro", "enterprise")),
              domain: optional(domainFor(name)),
              image: optional(pinnedImage),
              modelProvider: optional(fc.constantFrom(...MODEL_PROVIDER_NAMES)),
            })
            .map(compact),
        ),
      ),
    }),
  );

const formatting = fc.record({
  indent: fc.integer({ min: 1, max: 8 }),
  indentSeq: fc.boolean(),
  collectionStyle: fc.constantFrom("any", "block", "flow") as fc.Arbitrary<ToStringOptions["collectionStyle"]>,
  defaultStringType: fc.constantFrom("PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE") as fc.Arbitrary<ToStringOptions["defaultStringType"]>,
  flowCollectionPadding: fc.boolean(),
  lineWidth: fc.constantFrom(0, 40, 80),
  sortMapEntries: fc.boolean(),
  comments: fc.boolean(),
});

type Formatting = typeof formatting extends fc.Arbitrary<infer F> ? F : never;

/** Serialises with the given formatting; with `comments`, adds file, key and trailing comments here and there. */
function toYaml(fleet: object, format: Formatting): string {
  const { comments, sortMapEntries, ...options } = format;
  const doc = new Document(fleet, { sortMapEntries });
  if (comments) {
    doc.commentBefore = " yaml-language-server: $schema=./tenants.schema.json\n AgentPod fleet, reformatted";
    let n = 0;
    // Trailing comments go on values only: yaml 2.9.1 corrupts a folded double-quoted value whose key has one.
    visit(doc, {
      Pair(_, pair) {
        if (isScalar(pair.key) && n++ % 3 === 0) pair.key.commentBefore = ` note ${n}: hosts, tenants and plans`;
        if (isScalar(pair.value) && n++ % 4 === 0) pair.value.comment = " trailing comment";
      },
    });
  }
  return doc.toString(options);
}

const shuffled = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });

// --- properties -------------------------------------------------------------------------------------------------

describe("planFleet does not depend on how tenants.yaml is written", () => {
  it("order of hosts and tenants, YAML style and comments never change the plan", () => {
    fc.assert(
      fc.property(
        validFleet.chain((fleet) => fc.tuple(fc.constant(fleet), shuffled(fleet.hosts), shuffled(fleet.tenants), formatting, formatting)),
        ([fleet, hosts, tenants, formatA, formatB]) => {
          const a = checkTenantsFile(toYaml(fleet, formatA), PROD);
          const reordered = toYaml({ tenants, hosts, ...(Object.keys(fleet.defaults).length ? { defaults: fleet.defaults } : {}) }, formatB);
          const b = checkTenantsFile(reordered, PROD);
          expect(a.issues).toEqual([]);
          expect(b.issues).toEqual([]);
          expect(b.fleet).toEqual(a.fleet);
          expect(a.fleet).toEqual(planFleet(fleet as TenantsFile, PROD));
          expect(a.fleet!.tenants.map((t) => t.name)).toEqual([...fleet.tenants.map((t) => t.name)].sort());
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("did-you-mean", () => {
  it("editDistance is symmetric, zero iff equal, at most the longer length, and a metric", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (a, b, c) => {
        const ab = editDistance(a, b);
        expect(editDistance(b, a)).toBe(ab);
        expect(ab === 0).toBe(a === b);
        expect(ab).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(ab).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        expect(editDistance(a, c)).toBeLessThanOrEqual(ab + editDistance(b, c));
      }),
    );
  });

  it("closest() returns the candidate itself when it is present", () => {
    // Candidates distinct ignoring case: the match is case-insensitive, like the names it suggests.
    const candidates = fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 10, selector: (s) => s.toLowerCase() });
    fc.assert(
      fc.property(
        candidates.chain((list) => fc.tuple(fc.constant(list), fc.constantFrom(...list))),
        ([list, input]) => {
          expect(closest(input, list)).toBe(input);
        },
      ),
    );
  });
});

describe("memory quantities", () => {
  it("parseMemory(formatMemory(n MiB)) is n MiB", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 * 1024 * 1024 }), (n) => {
        expect(parseMemory(formatMemory(n * MiB))).toBe(n * MiB);
      }),
    );
  });

  it("formatMemory writes whole GiB as Gi and the rest as Mi", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 1023 }), (gi, mi) => {
        expect(formatMemory(gi * GiB)).toBe(`${gi}Gi`);
        expect(formatMemory(gi * GiB + mi * MiB)).toBe(`${gi * 1024 + mi}Mi`);
      }),
    );
  });
});

describe("image pins", () => {
  it("accepts any repository with a version tag, a digest, or both", () => {
    fc.assert(fc.property(pinnedImage, fc.boolean(), (image, allow) => {
        expect(imagePinProblem(image, allow)).toBeUndefined();
      }),
    );
  });

  it("refuses every moving tag, in any case, unless allowed", () => {
    const movingTag = fc.constantFrom(...MOVING_TAGS).chain((tag) => fc.constantFrom(tag, tag.toUpperCase(), tag[0]!.toUpperCase() + tag.slice(1)));
    fc.assert(
      fc.property(repository, movingTag, (repo, tag) => {
        expect(imagePinProblem(`${repo}:${tag}`, false)).toContain(`tag "${tag}" moves`);
        expect(imagePinProblem(`${repo}:${tag}`, true)).toBeUndefined();
      }),
    );
  });

  it("refuses a reference without a tag or digest", () => {
    fc.assert(fc.property(repository, (repo) => {
        expect(imagePinProblem(repo, false)).toContain("has no tag");
      }),
    );
  });
});

describe("secret detection", () => {
  it("has no false positives on names, domains, image references and plan names", () => {
    const legitimate = fc.oneof(
      dnsLabel,
      dnsLabel.chain(domainFor),
      pinnedImage,
      fc.constantFrom("basic", "pro", "enterprise", "2Gi", "1536Mi", ...LOCATIONS, ...MODEL_PROVIDER_NAMES),
    );
    fc.assert(fc.property(legitimate, (value) => {
        expect(looksLikeSecretValue(value)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("recognises Anthropic keys, GitHub tokens and long hex tokens", () => {
    const tokenChars = (chars: string, min: number) => fc.string({ unit: fc.constantFrom(...chars), minLength: min, maxLength: min + 80 });
    const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const secret = fc.oneof(
      tokenChars(letters + "_-", 8).map((s) => `sk-ant-api03-${s}`),
      fc.tuple(fc.constantFrom("ghp", "gho", "ghs", "ghu", "ghr", "github_pat"), tokenChars(letters + "_", 20)).map(([p, s]) => `${p}_${s}`),
      tokenChars("0123456789abcdef", 40),
      tokenChars("0123456789ABCDEF", 40),
    );
    fc.assert(fc.property(secret, (value) => {
        expect(looksLikeSecretValue(value)).toBe(true);
      }),
    );
  });
});
