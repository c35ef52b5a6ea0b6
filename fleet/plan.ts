/**
 * The plan model: a validated tenants file resolved into plain data (defaults applied, plans looked up, domains
 * derived, everything sorted by name). Components are built from this and nothing else, and tests can write it by
 * hand. Ordering by name, never by position in the file, is what makes reordering tenants.yaml a no-op.
 */
import { BUILT_IN_PLANS, DEFAULT_DISK_BYTES, DEFAULT_PIDS, DEFAULT_REQUESTS_PER_MINUTE, MODEL_PROVIDERS, type ModelProvider, type PlanSpec } from "./catalog";
import {
  DEFAULT_DATA_VOLUME_GB,
  DEFAULT_HEALTH_TIMEOUT_SECONDS,
  DEFAULT_IMAGE,
  DEFAULT_MODEL_PROVIDER,
  DEFAULT_PLAN,
  DEFAULT_ROLLOUT_BATCH_SIZE,
  type TenantsFile,
} from "./schema";
import { parseDisk, parseMemory } from "./units";

export interface HostPlan {
  readonly name: string;
  readonly location: string;
  readonly serverType: string;
  readonly dataVolumeGb: number;
  /** Names of the tenants placed on this host, sorted. */
  readonly tenants: readonly string[];
}

export interface TenantPlan {
  readonly name: string;
  readonly host: string;
  readonly planName: string;
  readonly plan: PlanSpec;
  readonly domain: string;
  readonly image: string;
  readonly modelProvider: ModelProvider;
  /** Environment variable that carries the model key into the gateway. */
  readonly modelKeyEnv: string;
  /**
   * Opted in to the fleet-wide key of its provider (tenants.yaml `sharedModelKey`), used when it has no key of its
   * own. False unless the file says so: the documented default is a key per tenant (fleet/modelKeys.ts).
   */
  readonly sharedModelKey: boolean;
  /** Upgraded in the canary wave of an image change (fleet/rollout.ts). Absent: false. */
  readonly canary?: boolean;
}

/** How an image change rolls out (tenants.yaml `rollout:`, defaults applied). */
export interface RolloutSettings {
  /** Tenants per host upgraded together after the canary wave. */
  readonly batchSize: number;
  /** Seconds a replaced gateway has to turn healthy before it fails its gate. */
  readonly healthTimeoutSeconds: number;
}

export interface FleetPlan {
  readonly hosts: readonly HostPlan[];
  readonly tenants: readonly TenantPlan[];
  /** Absent in hand-written plans: the defaults (rolloutSettings). */
  readonly rollout?: RolloutSettings;
}

/** A fleet's rollout settings, defaults applied. */
export function rolloutSettings(fleet: Pick<FleetPlan, "rollout">): RolloutSettings {
  return fleet.rollout ?? { batchSize: DEFAULT_ROLLOUT_BATCH_SIZE, healthTimeoutSeconds: DEFAULT_HEALTH_TIMEOUT_SECONDS };
}

export interface PlanOptions {
  /** Suffix for tenants without an explicit domain: the DNS zone (prod) or "agents.localhost" (local, LOCAL_ZONE). */
  readonly domainSuffix: string;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The plans in force: the file's own when it has a `plans:` section, the built-in ones otherwise. */
export function effectivePlans(file: Pick<TenantsFile, "plans">): Record<string, PlanSpec> {
  // Without a prototype: a plan name such as "constructor" is looked up as itself, never as an Object method.
  const plans: Record<string, PlanSpec> = Object.create(null);
  if (!file.plans) return Object.assign(plans, BUILT_IN_PLANS);
  for (const [name, plan] of Object.entries(file.plans)) {
    plans[name] = {
      cpus: plan.cpus,
      memoryBytes: parseMemory(plan.memory) ?? NaN,
      pids: plan.pids ?? DEFAULT_PIDS,
      requestsPerMinute: plan.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE,
      diskBytes: plan.disk === undefined ? DEFAULT_DISK_BYTES : (parseDisk(plan.disk) ?? NaN),
    };
  }
  return plans;
}

export function defaultDomain(tenantName: string, domainSuffix: string): string {
  return `${tenantName}.${domainSuffix}`;
}

/** Resolves a file that has passed validation. */
export function planFleet(file: TenantsFile, options: PlanOptions): FleetPlan {
  const plans = effectivePlans(file);
  const defaults = file.defaults ?? {};
  const tenants: TenantPlan[] = file.tenants
    .map((tenant) => {
      const planName = tenant.plan ?? defaults.plan ?? DEFAULT_PLAN;
      const modelProvider = tenant.modelProvider ?? defaults.modelProvider ?? DEFAULT_MODEL_PROVIDER;
      return {
        name: tenant.name,
        host: tenant.host,
        planName,
        plan: plans[planName]!,
        domain: (tenant.domain ?? defaultDomain(tenant.name, options.domainSuffix)).toLowerCase(),
        image: tenant.image ?? defaults.image ?? DEFAULT_IMAGE,
        modelProvider,
        modelKeyEnv: MODEL_PROVIDERS[modelProvider].env,
        sharedModelKey: tenant.sharedModelKey ?? defaults.sharedModelKey ?? false,
        ...(tenant.canary ? { canary: true } : {}),
      };
    })
    .sort(byName);
  const hosts: HostPlan[] = file.hosts
    .map((host) => ({
      name: host.name,
      location: host.location,
      serverType: host.serverType,
      dataVolumeGb: host.dataVolumeGb ?? DEFAULT_DATA_VOLUME_GB,
      tenants: tenants.filter((t) => t.host === host.name).map((t) => t.name),
    }))
    .sort(byName);
  const rollout = {
    batchSize: file.rollout?.batchSize ?? DEFAULT_ROLLOUT_BATCH_SIZE,
    healthTimeoutSeconds: file.rollout?.healthTimeoutSeconds ?? DEFAULT_HEALTH_TIMEOUT_SECONDS,
  };
  return { hosts, tenants, rollout };
}
