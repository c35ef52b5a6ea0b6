/**
 * The plan model: a validated tenants file resolved into plain data (defaults applied, plans looked up, domains
 * derived, everything sorted by name). Components are built from this and nothing else, and tests can write it by
 * hand. Ordering by name, never by position in the file, is what makes reordering tenants.yaml a no-op.
 */
import { BUILT_IN_PLANS, DEFAULT_PIDS, DEFAULT_REQUESTS_PER_MINUTE, MODEL_PROVIDERS, type ModelProvider, type PlanSpec } from "./catalog";
import { DEFAULT_DATA_VOLUME_GB, DEFAULT_IMAGE, DEFAULT_MODEL_PROVIDER, DEFAULT_PLAN, type TenantsFile } from "./schema";
import { parseMemory } from "./units";

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
}

export interface FleetPlan {
  readonly hosts: readonly HostPlan[];
  readonly tenants: readonly TenantPlan[];
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
  return { hosts, tenants };
}
