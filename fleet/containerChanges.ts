/**
 * What a change does to a running container, in one place: which container inputs the Docker provider updates on
 * the running container and which replace it, and which gateway inputs each field of a tenant's plan drives. The
 * change summary (fleet/summary.ts) says "restarts" or "in place" from this, and TenantGateway takes its limits
 * from gatewayLimits below; test/unit/container-changes.test.ts checks the facts against the provider's schema
 * and the summary against what the program registers. Pure: no Pulumi.
 *
 * The provider facts, from pulumi-resource-docker 5.2.0 (toolchain/pulumi-resource-docker, bridging
 * kreuzwerker/terraform-provider-docker): every Container input marked ForceNew in resource_docker_container.go
 * (`willReplaceOnChanges` in the Pulumi schema) replaces the container: delete, then create (a new container, a
 * restart of the tenant). Of the others, resourceDockerContainerUpdate applies only a few to the running container
 * with `docker update`; the rest are read by the provider itself, or never applied to an existing container.
 */
import { MiB, type PlanSpec } from "./catalog";
import { dockerCpus } from "./dockerFormat";
import type { TenantPlan } from "./plan";

/** "none": nothing happens to the running container; "update": changed in place, no restart; "replace": a new container. */
export type ContainerEffect = "none" | "update" | "replace";

/** Applied to the running container with `docker update` (resourceDockerContainerUpdate): no restart. */
export const CONTAINER_INPUTS_UPDATED_IN_PLACE: readonly string[] = [
  "memory",
  "memorySwap",
  "memoryReservation",
  "cpuShares",
  "cpuSet",
  "restart",
  "maxRetryCount",
  "deviceReadBps",
  "deviceReadIops",
  "deviceWriteBps",
  "deviceWriteIops",
];

/**
 * Not ForceNew and not updated: a change is only recorded in the state. `wait`, `waitTimeout`, `destroyGraceSeconds`
 * and the like are read by the provider on create or delete; `init`, `tmpfs`, `cpuPeriod` and `cpuQuota` take effect
 * only when the container is next created for another reason (so a change to them alone does not reach the container).
 */
export const CONTAINER_INPUTS_STATE_ONLY: readonly string[] = [
  "wait",
  "waitTimeout",
  "destroyGraceSeconds",
  "containerReadRefreshTimeoutMilliseconds",
  "attach",
  "logs",
  "rm",
  "start",
  "mustRun",
  "removeVolumes",
  "init",
  "tmpfs",
  "cpuPeriod",
  "cpuQuota",
];

/** What a change of one container input does; any input not listed above replaces the container. */
export function containerInputEffect(input: string): ContainerEffect {
  if (CONTAINER_INPUTS_UPDATED_IN_PLACE.includes(input)) return "update";
  if (CONTAINER_INPUTS_STATE_ONLY.includes(input)) return "none";
  return "replace";
}

const RANK: Record<ContainerEffect, number> = { none: 0, update: 1, replace: 2 };
const strongest = (effects: Iterable<ContainerEffect>): ContainerEffect => [...effects].reduce<ContainerEffect>((a, b) => (RANK[b] > RANK[a] ? b : a), "none");

/** What changing these inputs together does: the strongest of their effects. */
export const containerEffect = (inputs: Iterable<string>): ContainerEffect => strongest([...inputs].map(containerInputEffect));

/** The gateway container's limits as TenantGateway sets them from the plan: memory and swap in MiB (no swap), CPUs. */
export function gatewayLimits(plan: PlanSpec): { memory: number; memorySwap: number; cpus: string } {
  const memoryMb = Math.floor(plan.memoryBytes / MiB);
  return { memory: memoryMb, memorySwap: memoryMb, cpus: dockerCpus(plan.cpus) };
}

/** The fields of a resolved tenant whose change reaches its running gateway (its host aside: a move). */
export type TenantField = "cpus" | "memory" | "pids" | "requestsPerMinute" | "disk" | "image" | "domain" | "modelProvider";

export interface TenantFieldInputs {
  /** The gateway container's inputs derived from the field (components/tenantGateway.ts). */
  readonly gateway: readonly string[];
  /** Applied by the tenant's ContainerPidsLimit (`docker update --pids-limit`): in place. */
  readonly pidsLimit?: true;
  /** Changes the tenant's DNS records (production). */
  readonly dns?: true;
  /** Rewrites the tenant's route file (fleet/routes.ts), which the proxy reloads: in place, nothing restarts. */
  readonly route?: true;
  /**
   * Rewrites the tenant's gateway config file on the host (fleet/gateway.ts). The gateway reads it through a
   * read-only mount, not a container input, so its digest label (CONFIG_DIGEST_LABEL, in `labels`) is what replaces
   * the container: list "labels" among the gateway inputs of every field that sets this.
   */
  readonly config?: true;
  /** A limit of the tenant's plan, rather than what the gateway runs or answers to. */
  readonly limit?: true;
  /** Grows the tenant's own filesystem (TenantDataDirectory, fleet/tenantDisks.ts) under the running gateway. */
  readonly dataDisk?: true;
}

export const TENANT_FIELDS: Readonly<Record<TenantField, TenantFieldInputs>> = {
  cpus: { gateway: ["cpus"], limit: true },
  memory: { gateway: ["memory", "memorySwap"], limit: true },
  pids: { gateway: [], pidsLimit: true, limit: true },
  requestsPerMinute: { gateway: [], route: true, limit: true },
  disk: { gateway: [], dataDisk: true, limit: true },
  image: { gateway: ["image"] },
  // The proxy's router rule (the route file) and the Control UI's allowed origin (the config file, by its digest label).
  domain: { gateway: ["labels"], config: true, dns: true, route: true },
  // The model key's variable (envs).
  modelProvider: { gateway: ["envs"] },
};

/** What a change of one field does to the tenant's running gateway. */
export function tenantFieldEffect(field: TenantField): ContainerEffect {
  const { gateway, pidsLimit } = TENANT_FIELDS[field];
  return strongest([containerEffect(gateway), pidsLimit ? "update" : "none"]);
}

/** What these changes together do to the running gateway. */
export const tenantChangeEffect = (fields: Iterable<TenantField>): ContainerEffect => strongest([...fields].map(tenantFieldEffect));

/** The fields that differ between two versions of a tenant, in TENANT_FIELDS order. */
export function changedTenantFields(a: TenantPlan, b: TenantPlan): TenantField[] {
  const differs: Record<TenantField, boolean> = {
    cpus: a.plan?.cpus !== b.plan?.cpus,
    memory: a.plan?.memoryBytes !== b.plan?.memoryBytes,
    pids: a.plan?.pids !== b.plan?.pids,
    requestsPerMinute: a.plan?.requestsPerMinute !== b.plan?.requestsPerMinute,
    disk: a.plan?.diskBytes !== b.plan?.diskBytes,
    image: a.image !== b.image,
    domain: a.domain !== b.domain,
    modelProvider: a.modelProvider !== b.modelProvider,
  };
  return (Object.keys(TENANT_FIELDS) as TenantField[]).filter((field) => differs[field]);
}
