/**
 * Where each tenant's model API key comes from. The default, and what production requires, is a key of its own:
 * a Pulumi secret keyed by tenant (`agentpod:tenantModelKeys.<tenant>`), so a key can be revoked, rotated or
 * billed for one customer alone. The fleet-wide key of a provider (`agentpod:<provider>ApiKey`) reaches only the
 * tenants that opt in with `sharedModelKey: true` in tenants.yaml and have no key of their own, and every tenant
 * that shares it can read it (`printenv`) and spend it: the summary and preview warn about each of them.
 * Pure: no Pulumi. The key values never come here, only which keys are set.
 */
import { MODEL_PROVIDERS, type ModelProvider } from "./catalog";
import type { FleetPlan, TenantPlan } from "./plan";

export const TENANT_KEYS_SETTING = "tenantModelKeys";

/** "own": its own key; "shared": the provider's fleet-wide key (opted in); "none": the gateway runs without a key. */
export type ModelKeySource = "own" | "shared" | "none";

export interface ModelKeysSet {
  /** Tenants with a key of their own in the stack's config. */
  readonly tenantKeys: ReadonlySet<string>;
  /** Providers whose fleet-wide key is set. */
  readonly sharedKeys: ReadonlySet<ModelProvider>;
}

export interface ModelKeyProblem {
  /** The setting to set, e.g. "agentpod:tenantModelKeys.acme". */
  readonly key: string;
  readonly message: string;
}

export interface ModelKeyPlan {
  readonly sources: Readonly<Record<string, ModelKeySource>>;
  /** What production refuses: a tenant with neither its own key nor a usable shared one. */
  readonly problems: readonly ModelKeyProblem[];
  /** Keys in the config for tenants tenants.yaml does not declare: unused (a removed tenant's, or a typo). */
  readonly unused: readonly string[];
}

/** The documented command that gives a tenant its own key (the value is prompted for, so it stays out of shell history). */
export function setTenantKeyCommand(tenant: string, stack: string): string {
  return `pulumi config set --secret --path 'agentpod:${TENANT_KEYS_SETTING}.${tenant}' --stack ${stack}`;
}

export function setSharedKeyCommand(provider: ModelProvider, stack: string): string {
  return `pulumi config set --secret agentpod:${MODEL_PROVIDERS[provider].configKey} --stack ${stack}`;
}

export function modelKeySource(tenant: TenantPlan, set: ModelKeysSet): ModelKeySource {
  if (set.tenantKeys.has(tenant.name)) return "own";
  if (tenant.sharedModelKey && set.sharedKeys.has(tenant.modelProvider)) return "shared";
  return "none";
}

/** Each tenant's key source, and what a production stack lacks (every problem with the exact command to run). */
export function planModelKeys(fleet: FleetPlan, set: ModelKeysSet, stack: string): ModelKeyPlan {
  const sources: Record<string, ModelKeySource> = {};
  const problems: ModelKeyProblem[] = [];
  const missingShared = new Map<ModelProvider, string[]>();
  for (const tenant of fleet.tenants) {
    const source = modelKeySource(tenant, set);
    sources[tenant.name] = source;
    if (source !== "none") continue;
    if (tenant.sharedModelKey) missingShared.set(tenant.modelProvider, [...(missingShared.get(tenant.modelProvider) ?? []), tenant.name]);
    else {
      problems.push({
        key: `agentpod:${TENANT_KEYS_SETTING}.${tenant.name}`,
        message:
          `tenant ${tenant.name} (${tenant.modelProvider}) has no model key of its own: ${setTenantKeyCommand(tenant.name, stack)}` +
          ` (prompts for the key; sharing the fleet-wide ${tenant.modelProvider} key instead takes \`sharedModelKey: true\` on ${tenant.name} in tenants.yaml)`,
      });
    }
  }
  for (const [provider, tenants] of missingShared) {
    problems.push({
      key: `agentpod:${MODEL_PROVIDERS[provider].configKey}`,
      message: `is required by the tenants that share the fleet-wide ${provider} key and have none of their own (${tenants.join(", ")}): ${setSharedKeyCommand(provider, stack)}`,
    });
  }
  const declared = new Set(fleet.tenants.map((t) => t.name));
  const unused = [...set.tenantKeys].filter((t) => !declared.has(t)).sort();
  return { sources, problems, unused };
}

/** Tenants that opted in to the fleet-wide key, whatever the config holds (tenants.yaml alone; for the summary). */
export function sharedKeyTenants(fleet: FleetPlan): TenantPlan[] {
  return fleet.tenants.filter((t) => t.sharedModelKey);
}

/**
 * The warning for a tenant that shares its provider's fleet-wide key: `uses` when the stack gives it that key (the
 * program, at preview and up), otherwise for a tenant that opted in (the summary, which sees tenants.yaml only).
 */
export function sharedKeyWarning(tenant: Pick<TenantPlan, "name" | "modelProvider">, options: { uses?: boolean; stack?: string } = {}): string {
  const what = options.uses
    ? `${tenant.name} uses the fleet-wide ${tenant.modelProvider} key (sharedModelKey: true)`
    : `${tenant.name} opts in to the fleet-wide ${tenant.modelProvider} key (sharedModelKey: true), used while it has no key of its own`;
  return `${what}: every tenant sharing it can read and spend it, and it cannot be revoked for one of them. Give ${tenant.name} its own key: ${setTenantKeyCommand(tenant.name, options.stack ?? "<stack>")}`;
}

/** The warning for a key in the config that no declared tenant uses. */
export function unusedKeyWarning(tenant: string, stack: string): string {
  return `agentpod:${TENANT_KEYS_SETTING}.${tenant} is set but tenants.yaml has no tenant ${tenant}: it is unused; remove it with pulumi config rm --path 'agentpod:${TENANT_KEYS_SETTING}.${tenant}' --stack ${stack}`;
}
