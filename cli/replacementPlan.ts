/**
 * Which of a stack's resources lived on a lost server, from the stack's state as plain data (the checkpoint's
 * resource list). Pure: `agentpod host replace` runs it on an exported deployment, the tests on hand-written ones.
 *
 * On a lost server's engine lived everything created through the host's Docker provider (containers, networks,
 * Docker volume objects), the docker-CLI resources aimed at its endpoint (proxy attachments, pids limits) and the
 * proxy's route files and gateway config files on its disk:
 * they are forgotten, and `up` creates them again. The server itself (and a local server's disk) is replaced by the
 * engine. Host-side data is never touched: the host's data volume and the tenants' data directories (their claims,
 * TenantDataDirectory) stay in the state, so the new server takes over the same data with the same owners.
 */

/** The fields of a checkpoint resource this uses. */
export interface StateResource {
  urn: string;
  type: string;
  custom?: boolean;
  provider?: string;
  parent?: string;
  protect?: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
  deletedWith?: string;
  [key: string]: unknown;
}

export interface HostReplacementPlan {
  /** The host's Docker endpoint as the state knows it. */
  readonly endpoint: string;
  /** Resources to remove from the state (they died with the server). */
  readonly forget: readonly string[];
  /** Resources the engine must replace: the server (and a local server's disk). */
  readonly replace: readonly string[];
  /** Whether the server is protected (Hetzner): protection is lifted for the replacement run only. */
  readonly releaseServer: boolean;
}

/**
 * Resources of the server that are not made through its Docker provider and carry its endpoint as `dockerHost`: the
 * docker-CLI ones (proxy attachments, pids limits), the proxy's route files and the gateways' config files on the
 * server's own disk.
 */
const DOCKER_CLI_TYPES = new Set([
  "pulumi-nodejs:dynamic/agentpod:ProxyAttachment",
  "pulumi-nodejs:dynamic/agentpod:ContainerPidsLimit",
  "pulumi-nodejs:dynamic/agentpod:TenantRoute",
  "pulumi-nodejs:dynamic/agentpod:GatewayConfigFile",
]);
/** What must survive a host replacement, whatever the selection rules say. */
const NEVER_FORGET = new Set(["hcloud:index/volume:Volume", "pulumi-nodejs:dynamic/agentpod:TenantDataDirectory", "pulumi-nodejs:dynamic/agentpod:GatewayToken"]);

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
const providerUrn = (reference: string | undefined) => (reference ? reference.slice(0, reference.lastIndexOf("::")) : undefined);

export class ReplacementError extends Error {
  override name = "ReplacementError";
}

/** The URNs of a stack's resources that live on a host's Docker engine (a tenant's stack: its gateway's objects). */
export const resourcesOnHost = (resources: readonly StateResource[], host: string): string[] => engineResources(resources, host).onEngine.map((r) => r.urn);

/** The resources that live on a host's Docker engine: created through its provider, or aimed at its endpoint. */
function engineResources(resources: readonly StateResource[], host: string): { endpoint: string; onEngine: StateResource[] } {
  const provider = resources.find((r) => r.type === "pulumi:providers:docker" && nameOf(r.urn) === `${host}-docker`);
  if (!provider) throw new ReplacementError(`the stack's state has no Docker provider for host ${host}: is it a host of this stack?`);
  const endpoint = String(provider.outputs?.host ?? provider.inputs?.host ?? "");
  const onEngine = resources.filter(
    (r) => providerUrn(r.provider) === provider.urn || (DOCKER_CLI_TYPES.has(r.type) && endpoint !== "" && r.inputs?.dockerHost === endpoint),
  );
  const kept = onEngine.find((r) => NEVER_FORGET.has(r.type));
  if (kept) throw new ReplacementError(`refusing to forget ${kept.urn}: it holds data that must outlive the server`);
  return { endpoint, onEngine };
}

/**
 * What `agentpod tenant move` forgets before it applies: the tenant's objects on the old host's engine. The engine
 * does not replace a resource whose provider changes, so without this a move would only re-point their state at
 * the new host. They are created afresh on the new host, and the move command removes the old ones after.
 */
export function tenantEngineResources(resources: readonly StateResource[], tenant: string, host: string): string[] {
  const component = resources.find((r) => r.type === "agentpod:index:TenantGateway" && nameOf(r.urn) === tenant);
  if (!component) throw new ReplacementError(`the stack's state has no tenant ${tenant}`);
  return engineResources(resources, host).onEngine.filter((r) => r.parent === component.urn).map((r) => r.urn);
}

export function planHostReplacement(resources: readonly StateResource[], host: string): HostReplacementPlan {
  const { endpoint, onEngine: forget } = engineResources(resources, host);

  const local = resources.find((r) => r.type === "docker:index/container:Container" && nameOf(r.urn) === `${host}-server`);
  const hetzner = resources.find((r) => r.type === "hcloud:index/server:Server" && nameOf(r.urn) === `${host}-server`);
  const server = local ?? hetzner;
  if (!server) throw new ReplacementError(`the stack's state has no server for host ${host}`);
  const disk = local ? resources.find((r) => r.type === "docker:index/volume:Volume" && nameOf(r.urn) === `${host}-disk`) : undefined;
  return {
    endpoint,
    forget: forget.map((r) => r.urn),
    replace: [server.urn, ...(disk ? [disk.urn] : [])],
    releaseServer: server.protect === true,
  };
}

/**
 * The resource list without the forgotten resources, and without any reference to them (dependencies, property
 * dependencies, deletedWith), so the checkpoint stays consistent when it is imported again.
 */
export function withoutResources<T extends StateResource>(resources: readonly T[], forget: readonly string[]): T[] {
  const gone = new Set(forget);
  const orphaned = resources.find((r) => !gone.has(r.urn) && r.parent && gone.has(r.parent));
  if (orphaned) throw new ReplacementError(`cannot forget ${orphaned.parent}: ${orphaned.urn} is its child`);
  return resources
    .filter((r) => !gone.has(r.urn))
    .map((r) => {
      const copy: T = { ...r };
      if (r.dependencies) copy.dependencies = r.dependencies.filter((d) => !gone.has(d));
      if (r.propertyDependencies) {
        copy.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([key, deps]) => [key, deps.filter((d) => !gone.has(d))]));
      }
      if (r.deletedWith && gone.has(r.deletedWith)) delete copy.deletedWith;
      return copy;
    });
}
