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
import { addTenant, chooseHost } from "../../fleet/edit";
import { effectivePlans, planFleet } from "../../fleet/plan";
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

describe("secret detection yields to the name rule, except for known credential formats", () => {
  const fileWithName = (name: string) => `hosts:\n  - { name: h, location: fsn1, serverType: cx42 }\ntenants:\n  - name: "${name}"\n    host: h\n`;
  const mixed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

  it("a name with only a secret's shape (long hex, high entropy) that breaks the name rule is reported by the name rule", () => {
    const shaped = fc.oneof(
      hex(41).chain((h) => hex(23).map((t) => h + t)), // 64 hex digits: a SHA-256, or just a long name of a-f letters
      fc.integer({ min: 41, max: 120 }).chain((n) => hex(n)),
      fc.string({ unit: fc.constantFrom(...mixed), minLength: 32, maxLength: 60 }).filter((v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /[0-9]/.test(v)),
    );
    fc.assert(
      fc.property(shaped, (name) => {
        expect(looksLikeSecretValue(name)).toBe(true); // the heuristic alone would call it a secret
        const issues = checkTenantsFile(fileWithName(name), PROD).issues;
        expect(issues.map((i) => i.path)).toEqual(["tenants[0].name"]);
        expect(issues[0]!.message).not.toContain("secret");
        expect(issues[0]!.message).toContain("must be a DNS label");
        if (name.length > 40) expect(issues[0]!.message).toMatch(new RegExp(`^is too long \\(${name.length} characters, at most 40\\)`));
        expect(issues[0]!.message).not.toContain(name.slice(0, 16));
      }),
      { numRuns: 300 },
    );
  });

  it("a value in a known credential format is reported as a secret even in a name, and never repeated", () => {
    const token = fc.string({ unit: fc.constantFrom(...mixed), minLength: 24, maxLength: 60 });
    const credential = fc.oneof(
      token.map((t) => `sk-ant-api03-${t}`),
      token.map((t) => `ghp_${t}`),
      token.map((t) => `github_pat_${t}`),
    );
    fc.assert(
      fc.property(credential, (name) => {
        const issues = checkTenantsFile(fileWithName(name), PROD).issues;
        expect(issues.map((i) => [i.path, i.message.slice(0, 30)])).toEqual([["tenants[0].name", "this value looks like a secret"]]);
        expect(JSON.stringify(issues)).not.toContain(name.slice(-16));
      }),
      { numRuns: 200 },
    );
  });
});

describe("capacity: placement and validation agree", () => {
  // Server types with little room, so that fleets are often full; cpx11 (2 GB) holds no tenant at all.
  const SMALL_TYPES = { cx22: [2, 4], cpx11: [2, 2], cpx21: [3, 4], ccx13: [2, 8], cx32: [4, 8], ccx23: [4, 16] } as const;
  type SmallType = keyof typeof SMALL_TYPES;
  /** The test's own arithmetic, in integers (hundredths of a core, MiB): what fits, independently of fleet/capacity.ts. */
  const roomOf = (type: SmallType) => ({ centiCpus: SMALL_TYPES[type][0] * 100, mib: SMALL_TYPES[type][1] * 1024 - 1024 });
  const planGen = fc.record({ centiCpus: fc.constantFrom(10, 20, 25, 30, 50, 70, 90, 110, 130, 150, 200), mib: fc.constantFrom(2048, 2560, 3072, 4096) });
  type Plan = { centiCpus: number; mib: number };

  const fleetGen = fc.record({
    plans: fc.array(planGen, { minLength: 1, maxLength: 4 }),
    hosts: fc.array(fc.constantFrom(...(Object.keys(SMALL_TYPES) as SmallType[])), { minLength: 1, maxLength: 3 }),
    tenants: fc.array(fc.record({ host: fc.nat(), plan: fc.nat() }), { maxLength: 10 }),
    newPlan: fc.nat(),
  });

  /** tenants.yaml for the fleet; tenants that would overfill their host (by the test's arithmetic) are left out. */
  function build(input: { plans: Plan[]; hosts: SmallType[]; tenants: Array<{ host: number; plan: number }> }) {
    const used = input.hosts.map(() => ({ centiCpus: 0, mib: 0 }));
    const placed: Array<{ name: string; host: number; plan: number }> = [];
    input.tenants.forEach((t, i) => {
      const host = t.host % input.hosts.length;
      const plan = input.plans[t.plan % input.plans.length]!;
      const room = roomOf(input.hosts[host]!);
      if (used[host]!.centiCpus + plan.centiCpus > room.centiCpus || used[host]!.mib + plan.mib > room.mib) return;
      used[host]!.centiCpus += plan.centiCpus;
      used[host]!.mib += plan.mib;
      placed.push({ name: `t${i}`, host, plan: t.plan % input.plans.length });
    });
    const plans = input.plans.map((p, i) => `  p${i}: { cpus: ${p.centiCpus / 100}, memory: ${p.mib}Mi }\n`).join("");
    const hosts = input.hosts.map((type, i) => `  - { name: h${i}, location: fsn1, serverType: ${type} }\n`).join("");
    const tenants = (extra: string) => placed.map((t) => `  - { name: ${t.name}, host: h${t.host}, plan: p${t.plan} }\n`).join("") + extra;
    const text = (extra = "") => `defaults: { plan: p0 }\nplans:\n${plans}hosts:\n${hosts}tenants:${placed.length || extra ? "\n" + tenants(extra) : " []\n"}`;
    const fitsOn = (host: number, plan: Plan) => {
      const room = roomOf(input.hosts[host]!);
      return used[host]!.centiCpus + plan.centiCpus <= room.centiCpus && used[host]!.mib + plan.mib <= room.mib;
    };
    return { text, fitsOn };
  }

  it("a host has room for a plan in `tenant add`'s placement exactly when the validator accepts the tenant there", () => {
    fc.assert(
      fc.property(fleetGen, (input) => {
        const { text, fitsOn } = build(input);
        const newPlan = input.newPlan % input.plans.length;
        const plan = input.plans[newPlan]!;
        const before = checkTenantsFile(text(), PROD);
        expect(before.issues).toEqual([]);
        const spec = effectivePlans(before.file!)[`p${newPlan}`]!;
        input.hosts.forEach((_, host) => {
          // The validator's verdict on the tenant placed on this host ...
          const withTenant = checkTenantsFile(text(`  - { name: newcomer, host: h${host}, plan: p${newPlan} }\n`), PROD);
          const refused = withTenant.issues.some((i) => i.path === `hosts[${host}].serverType` && i.message.includes("cannot hold"));
          expect(refused).toBe(!fitsOn(host, plan));
          // ... is placement's for the same host.
          const only = { hosts: before.fleet!.hosts.filter((h) => h.name === `h${host}`), tenants: before.fleet!.tenants };
          expect(chooseHost(only, spec)!.fits).toBe(fitsOn(host, plan));
        });
        // And `tenant add` without a host: placed where there is room, refused as "no-room" when there is none.
        const added = addTenant(text(), { name: "newcomer", plan: `p${newPlan}` }, PROD);
        const anyRoom = input.hosts.some((_, host) => fitsOn(host, plan));
        if (anyRoom) {
          expect(added.ok).toBe(true);
          expect(added.ok && added.placement?.fits).toBe(true);
          expect(added.ok && fitsOn(Number(added.placement!.host.slice(1)), plan)).toBe(true);
        } else {
          expect(added.ok).toBe(false);
          expect(!added.ok && added.reason).toBe("no-room");
        }
      }),
      { numRuns: 150 },
    );
  });
});
