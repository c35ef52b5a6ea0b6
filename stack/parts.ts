/**
 * A fleet as many small stacks (issue #10: a change to one tenant costs the same in a fleet of 3 or of 1,000): what
 * each stack of the fleet is given, and the fingerprint of that input, which says whether the stack must run at all.
 * Pure: cli/fleetStacks.ts runs the stacks this plans.
 *
 * One input, one fingerprint: a stack's program reads nothing but its input (its slice of tenants.yaml, of the
 * settings and of the secrets, and the outputs of the stacks it builds on), so an unchanged fingerprint means an
 * unchanged program, and the stack is left alone.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { HostOutputs } from "../components/dockerHost";
import { MODEL_PROVIDERS } from "../fleet/catalog";
import { TENANT_KEYS_SETTING, type ModelKeyPlan } from "../fleet/modelKeys";
import { rolloutSettings, type FleetPlan, type TenantPlan } from "../fleet/plan";
import type { StackSettings } from "../fleet/settings";
import { stackNameOf } from "../fleet/stackSplit";
import type { FleetRecord, HostPartInput, RunPermissions, SharedOutputs, TenantPartInput } from "./program";

/** Secrets a host's stack reads (its backup job's object-store keys, the DNS token of its proxy's ACME challenge). */
const HOST_SECRETS = ["backupAccessKeyId", "backupSecretAccessKey", "cloudflareDnsToken"] as const;
/** Set in config, the fleet stack uses it instead of generating the backup key. */
export const FLEET_SECRETS = ["backupPassword"] as const;

/** Settings without what belongs to single tenants or hosts: each part gets its own entries back (sliceSettings). */
function commonSettings(settings: StackSettings): StackSettings {
  return { ...settings, tokenRotations: {}, tenantModelKeys: [], ...(settings.target === "local" ? { hostAddresses: {} } : {}) } as StackSettings;
}

export const sliceSettingsForHost = (settings: StackSettings, host: string): StackSettings =>
  settings.target === "local" && Object.hasOwn(settings.hostAddresses, host)
    ? ({ ...commonSettings(settings), hostAddresses: { [host]: settings.hostAddresses[host]! } } as StackSettings)
    : commonSettings(settings);

export function sliceSettingsForTenant(settings: StackSettings, tenant: string): StackSettings {
  const common = commonSettings(settings);
  return {
    ...common,
    tokenRotations: Object.hasOwn(settings.tokenRotations, tenant) ? { [tenant]: settings.tokenRotations[tenant]! } : {},
    tenantModelKeys: settings.tenantModelKeys.includes(tenant) ? [tenant] : [],
  } as StackSettings;
}

const pick = (values: Readonly<Record<string, string>>, keys: readonly string[]) => Object.fromEntries(keys.filter((k) => Object.hasOwn(values, k)).map((k) => [k, values[k]!]));

/** What one run may do, narrowed to one host: a permission for another host must not make this stack run. */
function hostPermissions(permissions: RunPermissions, host: string): RunPermissions {
  return {
    ...(permissions.releaseServers?.includes(host) ? { releaseServers: [host] } : {}),
    ...(permissions.retireHosts?.includes(host) ? { retireHosts: [host] } : {}),
    ...(permissions.rebuiltHosts?.[host] ? { rebuiltHosts: { [host]: permissions.rebuiltHosts[host] } } : {}),
  };
}

function tenantPermissions(permissions: RunPermissions, tenant: string): RunPermissions {
  return {
    ...(permissions.adopt?.includes(tenant) ? { adopt: [tenant] } : {}),
    ...(permissions.moves?.[tenant] ? { moves: { [tenant]: permissions.moves[tenant] } } : {}),
    ...(permissions.withoutHostAccess ? { withoutHostAccess: true } : {}),
  };
}

/** A tenant as this run deploys it: an image rollout holds the tenants it has not reached on their current image. */
export const effectiveTenant = (tenant: TenantPlan, permissions: RunPermissions): TenantPlan =>
  permissions.heldImages && Object.hasOwn(permissions.heldImages, tenant.name) ? { ...tenant, image: permissions.heldImages[tenant.name]! } : tenant;

/** The record says the tenant runs another image than this run deploys (a tenant not yet recorded: no change). */
const imageChanges = (record: FleetRecord, tenant: TenantPlan): boolean => Object.hasOwn(record.tenants, tenant.name) && record.tenants[tenant.name]!.image !== tenant.image;

export interface PlannedPart<I> {
  readonly stack: string;
  readonly input: I;
  readonly fingerprint: string;
  /** The fleet's record holds another fingerprint for it (or none): it must run. */
  readonly changed: boolean;
}

export interface PartPlanContext {
  readonly fleetStack: string;
  readonly settings: StackSettings;
  /** The fleet stack's decrypted `agentpod:` secrets. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly fleet: FleetPlan;
  readonly modelKeys: Pick<ModelKeyPlan, "sources">;
  readonly record: FleetRecord;
  readonly permissions: RunPermissions;
  /** Digest of the program's code (programDigest): new code runs every stack once. */
  readonly codeDigest: string;
  /** Run every stack whatever its fingerprint (`--all`: after a change made outside AgentPod, or to check for drift). */
  readonly everyStack?: boolean;
}

export const fingerprintOf = (codeDigest: string, input: unknown) => createHash("sha256").update(codeDigest).update("\0").update(stableJson(input)).digest("hex");

/**
 * A part's fingerprint: its input, without what only a preview reads (`--no-host-access` leaves a probe out; an
 * `up` would do the same with or without it), so that the flag does not make every stack look changed.
 */
const partFingerprint = (codeDigest: string, input: HostPartInput | TenantPartInput) => {
  const { withoutHostAccess: _previewOnly, ...permissions } = input.permissions;
  // Follows from the image, which the fingerprint holds; kept, it would make every upgraded tenant run once more.
  const { renewHealthCheck: _followsImage, ...rest } = input as TenantPartInput;
  return fingerprintOf(codeDigest, { ...rest, permissions });
};

/** The fleet stack's own inputs (its record of the other stacks is its output, not an input). */
export function sharedFingerprint(context: Pick<PartPlanContext, "settings" | "secrets" | "codeDigest">): string {
  return fingerprintOf(context.codeDigest, { settings: commonSettings(context.settings), secrets: pick(context.secrets, FLEET_SECRETS) });
}

export function planHostParts(context: PartPlanContext, shared: SharedOutputs): PlannedPart<HostPartInput>[] {
  return context.fleet.hosts.map((host) => {
    const input: HostPartInput = {
      kind: "host",
      settings: sliceSettingsForHost(context.settings, host.name),
      secrets: pick(context.secrets, HOST_SECRETS),
      // The tenant list does not change what the host's stack declares: left out, so adding a tenant leaves it alone.
      host: { ...host, tenants: [] },
      shared,
      permissions: hostPermissions(context.permissions, host.name),
    };
    const fingerprint = partFingerprint(context.codeDigest, input);
    return { stack: stackNameOf(context.fleetStack, { kind: "host", host: host.name }), input, fingerprint, changed: context.everyStack === true || context.record.hosts[host.name]?.fingerprint !== fingerprint };
  });
}

/**
 * The tenants' stacks, given the outputs of their hosts' stacks as they are now (after the hosts ran), and for a
 * preview, which of them the hosts' pending changes will make new (hostOutputsChangedBy).
 */
export function planTenantParts(
  context: PartPlanContext,
  hosts: Readonly<Record<string, HostOutputs>>,
  changing: Readonly<Record<string, readonly HostOutputField[]>> = {},
): PlannedPart<TenantPartInput>[] {
  const { healthTimeoutSeconds } = rolloutSettings(context.fleet);
  return context.fleet.tenants.map((declared) => {
    const tenant = effectiveTenant(declared, context.permissions);
    const source = context.modelKeys.sources[tenant.name];
    const secrets =
      source === "own"
        ? { [TENANT_KEYS_SETTING]: JSON.stringify({ [tenant.name]: (JSON.parse(context.secrets[TENANT_KEYS_SETTING] ?? "{}") as Record<string, string>)[tenant.name] }) }
        : source === "shared"
          ? pick(context.secrets, [MODEL_PROVIDERS[tenant.modelProvider].configKey])
          : {};
    const input: TenantPartInput = {
      kind: "tenant",
      settings: sliceSettingsForTenant(context.settings, tenant.name),
      secrets,
      tenant,
      ...(source === "own" || source === "shared" ? { modelKeySource: source } : {}),
      healthTimeoutSeconds,
      ...(imageChanges(context.record, tenant) ? { renewHealthCheck: true as const } : {}),
      ...(hosts[tenant.host] ? { host: hosts[tenant.host] } : {}),
      ...(changing[tenant.host]?.length ? { hostChanging: changing[tenant.host] } : {}),
      permissions: tenantPermissions(context.permissions, tenant.name),
    };
    const fingerprint = partFingerprint(context.codeDigest, input);
    return { stack: stackNameOf(context.fleetStack, { kind: "tenant", tenant: tenant.name }), input, fingerprint, changed: context.everyStack === true || context.record.tenants[tenant.name]?.fingerprint !== fingerprint };
  });
}

/** A host output a tenant's stack reads; those a preview of the host's stack says will change are unknown to it. */
export type HostOutputField = "endpoint" | "shell" | "serverId" | "ipv4" | "ipv6" | "sshHostKey" | "proxy.containerId";

/**
 * Which of a host's outputs its pending changes make new, from the steps of the host stack's preview: a tenant's
 * preview then shows what follows from them (a new proxy container: each tenant's attachment follows it), as the
 * `up` that runs the host first would do.
 */
export function hostOutputsChangedBy(steps: ReadonlyArray<{ op: string; name: string }>, host: string, target: StackSettings["target"]): HostOutputField[] {
  const remade = (name: string) => steps.some((s) => s.name === name && s.op !== "same" && s.op !== "update" && s.op !== "read");
  const fields = new Set<HostOutputField>();
  if (remade(`${host}-server`)) {
    fields.add("serverId");
    if (target === "hetzner") for (const f of ["ipv4", "ipv6", "endpoint", "shell"] as const) fields.add(f);
  }
  if (remade(`${host}-host-key`)) for (const f of ["sshHostKey", "shell"] as const) fields.add(f);
  if (remade(`${host}-proxy-traefik`)) fields.add("proxy.containerId");
  return [...fields].sort();
}

/** Stacks the record holds that tenants.yaml no longer declares: they run with nothing declared, then go. */
export function plannedRemovals(context: Pick<PartPlanContext, "fleetStack" | "fleet" | "record">): { hosts: string[]; tenants: string[] } {
  const hosts = new Set(context.fleet.hosts.map((h) => h.name));
  const tenants = new Set(context.fleet.tenants.map((t) => t.name));
  return {
    hosts: Object.keys(context.record.hosts).filter((h) => !hosts.has(h)).sort(),
    tenants: Object.keys(context.record.tenants).filter((t) => !tenants.has(t)).sort(),
  };
}

/** JSON with object keys sorted: the same input gives the same text whatever order it was built in. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : stableJson(v))).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The program's code as it decides what stacks declare: its sources and the locked package versions. */
export function programDigest(root: string): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts")) hash.update(path.relative(root, full)).update("\0").update(readFileSync(full)).update("\0");
    }
  };
  for (const dir of ["stack", "components", "providers", "fleet"]) walk(path.join(root, dir));
  hash.update(readFileSync(path.join(root, "package-lock.json")));
  return hash.digest("hex");
}
