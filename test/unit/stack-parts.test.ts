/**
 * What each stack of a fleet is given, and its fingerprint (stack/parts.ts): properties over generated fleets, built
 * from tenants.yaml text by the validator and from config values by the settings parser, as the CLI builds them.
 * A change reaches exactly the stacks it concerns: one tenant's change its own stack, a fleet-wide setting every
 * host, new code every stack; nothing else runs.
 */
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, test } from "vitest";
import type { HostOutputs } from "../../components/dockerHost";
import { LOCAL_ZONE } from "../../fleet/localServers";
import { planModelKeys } from "../../fleet/modelKeys";
import { parseSettings } from "../../fleet/settings";
import { loadFleet } from "../../fleet/validate";
import { planHostParts, plannedRemovals, planTenantParts, sharedFingerprint, stableJson, type PartPlanContext } from "../../stack/parts";
import type { FleetRecord } from "../../stack/program";

const TENANT_NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"] as const;
const HOST_NAMES = ["host-a", "host-b", "host-c"] as const;
const IMAGES = ["agentpod/openclaw:2026.9.6", "agentpod/standin:1"] as const;
const PLANS = ["small", "large"] as const;

interface TenantShape {
  name: string;
  host: string;
  image: (typeof IMAGES)[number];
  plan: (typeof PLANS)[number];
}
interface FleetShape {
  hosts: string[];
  tenants: TenantShape[];
}

const tenantsYaml = (shape: FleetShape) => `
defaults:
  plan: small
plans:
  small: { cpus: 0.25, memory: 2Gi }
  large: { cpus: 0.5, memory: 3Gi }
hosts:
${shape.hosts.map((h) => `  - { name: ${h}, location: fsn1, serverType: ccx33 }`).join("\n")}
tenants:
${shape.tenants.map((t) => `  - { name: ${t.name}, host: ${t.host}, image: "${t.image}", plan: ${t.plan} }`).join("\n")}
`;

/** A fleet: 1-3 hosts, 1-6 tenants (the 7th name stays free for the "add a tenant" property), each somewhere. */
const fleetShape: fc.Arbitrary<FleetShape> = fc
  .subarray([...HOST_NAMES], { minLength: 1 })
  .chain((hosts) =>
    fc.record({
      hosts: fc.constant(hosts),
      tenants: fc
        .subarray([...TENANT_NAMES].slice(0, 6), { minLength: 1 })
        .chain((names) => fc.tuple(...names.map((name) => fc.record({ name: fc.constant(name), host: fc.constantFrom(...hosts), image: fc.constantFrom(...IMAGES), plan: fc.constantFrom(...PLANS) })))),
    }),
  );

interface SettingsShape {
  traefikImage?: string;
  tokenRotations?: Record<string, string>;
  /** Tenants with a model key of their own, and the key (a secret). */
  modelKeys?: Record<string, string>;
}

const CODE = "code-digest-1";
/** What the host stacks publish: fixed per host, so a tenant's input changes only with what the test changes. */
const hostOutputs = (host: string): HostOutputs => ({
  endpoint: `unix:///run/agentpod/${host}/docker.sock`,
  shell: { kind: "docker-exec", engine: "unix:///var/run/docker.sock", container: `demo-host-${host}` },
  serverId: `${host}-server-id`,
  ipv4: "127.77.0.1",
  proxy: { containerName: "demo-traefik", containerId: `${host}-traefik-id` },
});

/** The plan context as cli/fleetStacks.ts builds it: settings parsed from config values, secrets decrypted. */
function contextOf(shape: FleetShape, settings: SettingsShape = {}, options: { codeDigest?: string; record?: FleetRecord } = {}): PartPlanContext {
  const secrets: Record<string, string> = settings.modelKeys ? { tenantModelKeys: JSON.stringify(settings.modelKeys) } : {};
  const values: Record<string, string> = {
    target: "local",
    fleet: "demo",
    ...(settings.traefikImage ? { traefikImage: settings.traefikImage } : {}),
    ...(settings.tokenRotations ? { tokenRotations: JSON.stringify(settings.tokenRotations) } : {}),
    ...secrets,
  };
  const parsed = parseSettings({ stack: "local", values, secretsSet: new Set(Object.keys(secrets)) });
  const fleet = loadFleet(tenantsYaml(shape), { file: "tenants.yaml", domainSuffix: LOCAL_ZONE });
  const modelKeys = planModelKeys(fleet, { tenantKeys: new Set(parsed.tenantModelKeys), sharedKeys: new Set() }, "local");
  return { fleetStack: "local", settings: parsed, secrets, fleet, modelKeys, record: options.record ?? { hosts: {}, tenants: {} }, permissions: {}, codeDigest: options.codeDigest ?? CODE };
}

/** Every stack's fingerprint, by stack name. */
function fingerprints(context: PartPlanContext): Record<string, string> {
  const hosts = planHostParts(context, { backupPassword: "fleet-key" });
  const tenants = planTenantParts(context, Object.fromEntries(context.fleet.hosts.map((h) => [h.name, hostOutputs(h.name)])));
  return { local: sharedFingerprint(context), ...Object.fromEntries([...hosts, ...tenants].map((p) => [p.stack, p.fingerprint])) };
}

/** The stacks whose fingerprint differs (or that exist on one side only). */
function changedStacks(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((stack) => before[stack] !== after[stack]).sort();
}

const tenantStack = (tenant: string) => `local.tenant.${tenant}`;
const hostStack = (host: string) => `local.host.${host}`;
const replaceTenant = (shape: FleetShape, name: string, change: Partial<TenantShape>): FleetShape => ({ ...shape, tenants: shape.tenants.map((t) => (t.name === name ? { ...t, ...change } : t)) });

describe("stack/parts: which stacks a change reaches", () => {
  test("the fingerprints cover every stack of the fleet, and are the same when computed again", () => {
    fc.assert(
      fc.property(fleetShape, (shape) => {
        const prints = fingerprints(contextOf(shape));
        expect(Object.keys(prints).sort()).toEqual(["local", ...shape.hosts.map(hostStack), ...shape.tenants.map((t) => tenantStack(t.name))].sort());
        expect(fingerprints(contextOf(shape))).toEqual(prints);
      }),
    );
  });

  test("changing one tenant's image, plan or host changes that tenant's fingerprint only", () => {
    const change = fleetShape.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        tenant: fc.constantFrom(...shape.tenants),
        field: fc.constantFrom("image", "plan", "host"),
      }),
    );
    fc.assert(
      fc.property(change, ({ shape, tenant, field }) => {
        const otherHosts = shape.hosts.filter((h) => h !== tenant.host);
        fc.pre(field !== "host" || otherHosts.length > 0);
        const changed: Partial<TenantShape> =
          field === "image" ? { image: IMAGES.find((i) => i !== tenant.image)! } : field === "plan" ? { plan: PLANS.find((p) => p !== tenant.plan)! } : { host: otherHosts[0]! };
        const before = fingerprints(contextOf(shape));
        const after = fingerprints(contextOf(replaceTenant(shape, tenant.name, changed)));
        expect(changedStacks(before, after)).toEqual([tenantStack(tenant.name)]);
      }),
    );
  });

  test("adding a tenant changes no existing host's or tenant's fingerprint (the new tenant's stack is the only new one)", () => {
    const addition = fleetShape.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        added: fc.record({
          name: fc.constantFrom(...TENANT_NAMES.filter((n) => !shape.tenants.some((t) => t.name === n))),
          host: fc.constantFrom(...shape.hosts),
          image: fc.constantFrom(...IMAGES),
          plan: fc.constantFrom(...PLANS),
        }),
      }),
    );
    fc.assert(
      fc.property(addition, ({ shape, added }) => {
        const before = fingerprints(contextOf(shape));
        const after = fingerprints(contextOf({ ...shape, tenants: [...shape.tenants, added] }));
        expect(changedStacks(before, after)).toEqual([tenantStack(added.name)]);
      }),
    );
  });

  test("a per-tenant setting (its token rotation, its own model key, that key's value) changes that tenant only", () => {
    const change = fleetShape.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        tenant: fc.constantFrom(...shape.tenants.map((t) => t.name)),
        // Other tenants' settings, present before and after: they must not make anyone else's stack run.
        others: fc.subarray(shape.tenants.map((t) => t.name)),
        setting: fc.constantFrom("tokenRotation", "modelKey", "modelKeyValue"),
      }),
    );
    fc.assert(
      fc.property(change, ({ shape, tenant, others, setting }) => {
        const bystanders = others.filter((t) => t !== tenant);
        const base: SettingsShape = {
          tokenRotations: Object.fromEntries(bystanders.map((t) => [t, "2026-11-01T00:00:00.000Z"])),
          modelKeys: Object.fromEntries(bystanders.map((t) => [t, `key-of-${t}`])),
        };
        const before: SettingsShape =
          setting === "modelKeyValue" ? { ...base, modelKeys: { ...base.modelKeys, [tenant]: `first-key-of-${tenant}` } } : base;
        const after: SettingsShape =
          setting === "tokenRotation"
            ? { ...base, tokenRotations: { ...base.tokenRotations, [tenant]: "2026-12-02T04:00:00.000Z" } }
            : setting === "modelKey"
              ? { ...base, modelKeys: { ...base.modelKeys, [tenant]: `key-of-${tenant}` } }
              : { ...base, modelKeys: { ...base.modelKeys, [tenant]: `second-key-of-${tenant}` } };
        expect(changedStacks(fingerprints(contextOf(shape, before)), fingerprints(contextOf(shape, after)))).toEqual([tenantStack(tenant)]);
      }),
    );
  });

  test("a fleet-wide setting (the proxies' Traefik image) changes every host's fingerprint", () => {
    fc.assert(
      fc.property(fleetShape, (shape) => {
        const before = fingerprints(contextOf(shape, { traefikImage: "agentpod/traefik:v3.7.15" }));
        const after = fingerprints(contextOf(shape, { traefikImage: "agentpod/traefik:v3.7.16" }));
        const changed = changedStacks(before, after);
        expect(changed).toEqual(expect.arrayContaining(shape.hosts.map(hostStack)));
      }),
    );
  });

  test("a different code digest changes every fingerprint: new code runs every stack once", () => {
    fc.assert(
      fc.property(fleetShape, (shape) => {
        const before = fingerprints(contextOf(shape));
        const after = fingerprints(contextOf(shape, {}, { codeDigest: "code-digest-2" }));
        expect(changedStacks(before, after)).toEqual(Object.keys(before).sort());
      }),
    );
  });

  test("an unchanged fleet is not planned to run against its own record; a changed tenant is", () => {
    fc.assert(
      fc.property(fleetShape, (shape) => {
        const first = contextOf(shape);
        const hosts = planHostParts(first, { backupPassword: "fleet-key" });
        const tenants = planTenantParts(first, Object.fromEntries(shape.hosts.map((h) => [h, hostOutputs(h)])));
        const record: FleetRecord = {
          hosts: Object.fromEntries(hosts.map((p) => [p.input.host.name, { fingerprint: p.fingerprint, outputs: hostOutputs(p.input.host.name) }])),
          tenants: Object.fromEntries(tenants.map((p) => [p.input.tenant.name, { fingerprint: p.fingerprint, output: { url: "", host: p.input.tenant.host, plan: "", healthUrl: "" }, token: "", image: p.input.tenant.image }])),
        };
        const again = contextOf(shape, {}, { record });
        expect(planHostParts(again, { backupPassword: "fleet-key" }).filter((p) => p.changed)).toEqual([]);
        expect(planTenantParts(again, Object.fromEntries(shape.hosts.map((h) => [h, hostOutputs(h)]))).filter((p) => p.changed)).toEqual([]);
        // Control: the same record against a changed tenant plans exactly that tenant.
        const changedTenant = shape.tenants[0]!;
        const edited = contextOf(replaceTenant(shape, changedTenant.name, { image: IMAGES.find((i) => i !== changedTenant.image)! }), {}, { record });
        const planned = planTenantParts(edited, Object.fromEntries(shape.hosts.map((h) => [h, hostOutputs(h)]))).filter((p) => p.changed);
        expect(planned.map((p) => p.stack)).toEqual([tenantStack(changedTenant.name)]);
      }),
    );
  });

  test("only a tenant whose image changes renews its gateway's health check; once recorded, it does not run again", () => {
    fc.assert(
      fc.property(fleetShape, (shape) => {
        const outputs = Object.fromEntries(shape.hosts.map((h) => [h, hostOutputs(h)]));
        const recordOf = (tenants: ReturnType<typeof planTenantParts>): FleetRecord => ({
          hosts: {},
          tenants: Object.fromEntries(tenants.map((p) => [p.input.tenant.name, { fingerprint: p.fingerprint, output: { url: "", host: p.input.tenant.host, plan: "", healthUrl: "" }, token: "", image: p.input.tenant.image }])),
        });
        // Not yet recorded (a new tenant, or a fleet being migrated): its container is created, or kept as it is.
        const first = planTenantParts(contextOf(shape), outputs);
        expect(first.filter((p) => p.input.renewHealthCheck)).toEqual([]);
        const upgraded = shape.tenants[0]!;
        const edited = replaceTenant(shape, upgraded.name, { image: IMAGES.find((i) => i !== upgraded.image)! });
        const upgrade = planTenantParts(contextOf(edited, {}, { record: recordOf(first) }), outputs);
        expect(upgrade.filter((p) => p.input.renewHealthCheck).map((p) => p.stack)).toEqual([tenantStack(upgraded.name)]);
        // Recorded with its new image, nothing runs: the flag follows the image and is not part of the fingerprint.
        const after = planTenantParts(contextOf(edited, {}, { record: recordOf(upgrade) }), outputs);
        expect(after.filter((p) => p.changed || p.input.renewHealthCheck)).toEqual([]);
        expect(after.map((p) => p.fingerprint)).toEqual(upgrade.map((p) => p.fingerprint));
      }),
    );
  });
});

describe("stack/parts: removals and stable JSON", () => {
  test("plannedRemovals lists exactly the record's tenants and hosts that tenants.yaml no longer declares", () => {
    const recorded = fc.record({ hosts: fc.subarray([...HOST_NAMES, "host-gone"]), tenants: fc.subarray([...TENANT_NAMES, "zulu"]) });
    fc.assert(
      fc.property(fleetShape, recorded, (shape, inRecord) => {
        const entry = { fingerprint: "f", outputs: hostOutputs("x") };
        const record: FleetRecord = {
          hosts: Object.fromEntries(inRecord.hosts.map((h) => [h, entry])),
          tenants: Object.fromEntries(inRecord.tenants.map((t) => [t, { fingerprint: "f", output: { url: "", host: "", plan: "", healthUrl: "" }, token: "", image: "" }])),
        };
        const removals = plannedRemovals(contextOf(shape, {}, { record }));
        const declaredHosts = new Set(shape.hosts);
        const declaredTenants = new Set(shape.tenants.map((t) => t.name));
        expect(removals).toEqual({
          hosts: inRecord.hosts.filter((h) => !declaredHosts.has(h)).sort(),
          tenants: inRecord.tenants.filter((t) => !declaredTenants.has(t)).sort(),
        });
      }),
    );
  });

  /** The same value with every object's keys in another order. */
  const reordered = (value: unknown, seed: number): unknown => {
    if (Array.isArray(value)) return value.map((v) => reordered(v, seed));
    if (value && typeof value === "object") {
      const entries = Object.entries(value as Record<string, unknown>);
      const rotated = entries.length ? [...entries.slice(seed % entries.length), ...entries.slice(0, seed % entries.length)].reverse() : entries;
      return Object.fromEntries(rotated.map(([k, v]) => [k, reordered(v, seed + 1)]));
    }
    return value;
  };

  test("stableJson ignores key order, and keeps the value (it parses back to it)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (value, seed) => {
        expect(stableJson(reordered(value, seed))).toBe(stableJson(value));
        // Control: it is the value itself, not a constant: JSON.parse gives back an equal value.
        expect(JSON.parse(stableJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  test("stableJson tells apart values that differ", () => {
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        fc.pre(!isDeepStrictEqual(plain(a), plain(b)));
        expect(stableJson(a)).not.toBe(stableJson(b));
      }),
    );
  });
});
