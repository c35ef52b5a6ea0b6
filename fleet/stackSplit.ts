/**
 * How one fleet's single stack is split into the fleet stack, one stack per host and one per tenant
 * (`agentpod migrate`), from the exported state as plain data. Pure: no engine, no I/O; the command exports the old
 * stack, runs this, and imports each deployment into its new stack, so nothing is replaced or deleted.
 *
 * Where each resource goes is decided by the component (or root resource) it lives under:
 * - the fleet stack S: the backup key, the admin SSH keys and the deploy-runner firewall;
 * - the host stack S.host.<h>: the host component <h> (LocalServerHost or HetznerHost), its proxy <h>-proxy and its
 *   backup job <h>-backup, each with its children; the local target's `local-engine` provider is copied into every one;
 * - the tenant stack S.tenant.<t>: the TenantGateway <t> and the TenantDns <t>-dns with their children, and a copy of
 *   its host's Docker provider registered at the root (the tenant program declares it there), which every reference
 *   to the host's provider is pointed at.
 * Default providers are copied into every stack one of whose resources uses them. Every URN keeps its type chain and
 * name (the tenant's provider copy apart) and gets the new stack's name; a dependency on a resource of another stack
 * is dropped: the CLI orders the stacks instead.
 */
import type { StateResource } from "../cli/replacementPlan";

export type StackScope = { kind: "fleet" } | { kind: "host"; host: string } | { kind: "tenant"; tenant: string };

/** A checkpoint resource with the fields the split checks or rewrites beyond those of StateResource. */
export type DeploymentResource = StateResource & {
  id?: string;
  delete?: boolean;
  pendingReplacement?: boolean;
  aliases?: string[];
};

/** The `deployment` of `pulumi stack export` (apitype.DeploymentV3), with the fields the split touches. */
export interface DeploymentV3Like {
  manifest?: unknown;
  secrets_providers?: unknown;
  resources?: DeploymentResource[];
  pending_operations?: unknown[];
  [key: string]: unknown;
}

export interface SplitOptions {
  /** The fleet's stack name S (the old single stack's, which the fleet stack keeps). */
  readonly fleetStack: string;
  readonly hosts: readonly string[];
  /** Each tenant with the host it runs on. */
  readonly tenants: Readonly<Record<string, string>>;
}

export interface StackSplit {
  /** Every new stack (the fleet's, each host's, each tenant's), by name, with its deployment. */
  readonly stacks: Map<string, { scope: StackScope; deployment: DeploymentV3Like }>;
  /** Old URNs no rule placed, or whose parent or provider is not in their new stack: the migration must not go on. */
  readonly unassigned: string[];
}

export function stackNameOf(fleetStack: string, scope: StackScope): string {
  switch (scope.kind) {
    case "fleet":
      return fleetStack;
    case "host":
      return `${fleetStack}.host.${scope.host}`;
    case "tenant":
      return `${fleetStack}.tenant.${scope.tenant}`;
  }
}

export class StackSplitError extends Error {
  override name = "StackSplitError";
}

const STACK_TYPE = "pulumi:pulumi:Stack";
const DOCKER_PROVIDER_TYPE = "pulumi:providers:docker";
const HOST_COMPONENTS = new Set(["agentpod:index:LocalServerHost", "agentpod:index:HetznerHost"]);
/** The local target's provider for this machine's engine, which runs every local server: each host stack needs it. */
const LOCAL_ENGINE = "local-engine";

interface UrnParts {
  stack: string;
  project: string;
  typeChain: string;
  name: string;
}

/** urn:pulumi:<stack>::<project>::<type chain>::<name>; the name is the rest (it may hold "::"). */
function parseUrn(urn: string): UrnParts | undefined {
  const match = /^urn:pulumi:(.*?)::(.*?)::(.*?)::(.*)$/s.exec(urn);
  return match ? { stack: match[1]!, project: match[2]!, typeChain: match[3]!, name: match[4]! } : undefined;
}

const nameOf = (urn: string) => parseUrn(urn)?.name ?? "";
const withStack = (urn: string, stack: string) => urn.replace(/^urn:pulumi:.*?::/s, `urn:pulumi:${stack}::`);
/** A provider reference is "<provider urn>::<provider id>". */
function splitProviderReference(reference: string): { urn: string; id: string } {
  const at = reference.lastIndexOf("::");
  return { urn: reference.slice(0, at), id: reference.slice(at + 2) };
}
const isDefaultProvider = (r: StateResource) => r.type.startsWith("pulumi:providers:") && nameOf(r.urn).startsWith("default");
const isRoot = (r: StateResource) => r.type === STACK_TYPE && !r.parent;

/** Where a resource goes, by the top-level resource it lives under. */
type Placement = { to: "stack"; scope: StackScope } | { to: "every host" } | { to: "its users" };

export function splitDeployment(deployment: DeploymentV3Like, options: SplitOptions): StackSplit {
  const resources = deployment.resources ?? [];
  refusePendingOperations(deployment, resources);

  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const oldRoot = resources.find(isRoot);
  const project = (oldRoot && parseUrn(oldRoot.urn)?.project) || "agentpod";
  const hosts = new Set(options.hosts);
  const tenants = new Map(Object.entries(options.tenants));

  const scopes: StackScope[] = [
    { kind: "fleet" },
    ...options.hosts.map((host): StackScope => ({ kind: "host", host })),
    ...[...tenants.keys()].map((tenant): StackScope => ({ kind: "tenant", tenant })),
  ];
  const stacks = new Map(scopes.map((scope) => [stackNameOf(options.fleetStack, scope), new StackBuilder(stackNameOf(options.fleetStack, scope), scope, project, oldRoot)]));
  const stackOf = (scope: StackScope) => stacks.get(stackNameOf(options.fleetStack, scope))!;
  const hostStacks = options.hosts.map((host) => stackOf({ kind: "host", host }));

  /** The scope a top-level resource (a child of the root, or a provider without parent) names, if any. */
  function scopeOfTopLevel(r: StateResource): Placement | undefined {
    const name = nameOf(r.urn);
    const host = (h: string): Placement | undefined => (hosts.has(h) ? { to: "stack", scope: { kind: "host", host: h } } : undefined);
    const tenant = (t: string): Placement | undefined => (tenants.has(t) ? { to: "stack", scope: { kind: "tenant", tenant: t } } : undefined);
    const fleet: Placement = { to: "stack", scope: { kind: "fleet" } };
    if (r.type === "agentpod:index:TenantGateway") return tenant(name);
    if (r.type === "agentpod:index:TenantDns" && name.endsWith("-dns")) return tenant(name.slice(0, -"-dns".length));
    if (HOST_COMPONENTS.has(r.type)) return host(name);
    if (r.type === "agentpod:index:HostProxy" && name.endsWith("-proxy")) return host(name.slice(0, -"-proxy".length));
    if (r.type === "agentpod:index:HostBackup" && name.endsWith("-backup")) return host(name.slice(0, -"-backup".length));
    if (r.type === DOCKER_PROVIDER_TYPE && name === LOCAL_ENGINE) return { to: "every host" };
    if (isDefaultProvider(r)) return { to: "its users" };
    // The fleet-wide ones (stack/program.ts, providers/backupKey.ts, components/deployRunnerFirewall.ts).
    if (r.type === "pulumi-nodejs:dynamic/agentpod:BackupKey" && name === "backup-key") return fleet;
    if (r.type === "hcloud:index/sshKey:SshKey" && name.startsWith("admin-key-")) return fleet;
    if (r.type === "hcloud:index/firewall:Firewall" && name === "deploy-runner-firewall") return fleet;
    return undefined;
  }

  /** A resource's placement: that of its top-level ancestor, if its type chain agrees with its parent chain. */
  const placements = new Map<string, Placement | undefined>();
  function placementOf(r: StateResource): Placement | undefined {
    if (placements.has(r.urn)) return placements.get(r.urn);
    let placement: Placement | undefined;
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    if (!r.parent || (parent && isRoot(parent))) placement = scopeOfTopLevel(r);
    else if (parent && parent.type !== STACK_TYPE && typeChainOf(r).startsWith(`${typeChainOf(parent)}$`)) {
      const inherited = placementOf(parent);
      // Only a component's children follow it; nothing lives under a provider.
      placement = inherited?.to === "stack" ? inherited : undefined;
    }
    placements.set(r.urn, placement);
    return placement;
  }

  // Default providers go where their users go, decided before any stack is written (they come first in the state).
  const defaultProviderStacks = new Map<string, Set<StackBuilder>>();
  for (const r of resources) {
    const placement = placementOf(r);
    if (!r.provider || placement?.to !== "stack") continue;
    const { urn } = splitProviderReference(r.provider);
    const provider = byUrn.get(urn);
    if (!provider || !isDefaultProvider(provider)) continue;
    if (!defaultProviderStacks.has(urn)) defaultProviderStacks.set(urn, new Set());
    defaultProviderStacks.get(urn)!.add(stackOf(placement.scope));
  }

  // Each tenant stack declares its host's Docker provider at its root: the copy stands in for the host's own.
  for (const [tenant, host] of tenants) {
    const hostProvider = resources.find(
      (r) => r.type === DOCKER_PROVIDER_TYPE && nameOf(r.urn) === `${host}-docker` && r.parent !== undefined && isHostComponent(byUrn.get(r.parent), host),
    );
    if (hostProvider) stackOf({ kind: "tenant", tenant }).addRerootedProvider(hostProvider);
  }

  const unassigned: string[] = [];
  for (const r of resources) {
    if (isRoot(r)) continue;
    const placement = placementOf(r);
    const targets =
      placement?.to === "stack" ? [stackOf(placement.scope)] : placement?.to === "every host" ? hostStacks : placement?.to === "its users" ? [...(defaultProviderStacks.get(r.urn) ?? [])] : [];
    // An unused default provider is dropped: the engine would delete it on the next update anyway.
    if (targets.length === 0 && placement?.to !== "its users") unassigned.push(r.urn);
    for (const stack of targets) if (!stack.add(r)) unassigned.push(r.urn);
  }

  return {
    stacks: new Map([...stacks].map(([name, stack]) => [name, { scope: stack.scope, deployment: { ...deployment, resources: stack.resources } }])),
    unassigned: [...new Set(unassigned)],
  };
}

function typeChainOf(r: StateResource): string {
  return parseUrn(r.urn)?.typeChain ?? r.type;
}

function isHostComponent(r: StateResource | undefined, host: string): boolean {
  return r !== undefined && HOST_COMPONENTS.has(r.type) && nameOf(r.urn) === host;
}

/** A half-done operation cannot be moved: its resource may exist or not, in either stack. */
function refusePendingOperations(deployment: DeploymentV3Like, resources: readonly DeploymentResource[]): void {
  const pending = resources.find((r) => r.delete === true || r.pendingReplacement === true);
  if ((deployment.pending_operations?.length ?? 0) > 0 || pending) {
    const what = pending ? `${pending.urn} is ${pending.delete ? "pending deletion" : "pending replacement"}` : `${deployment.pending_operations!.length} pending operation(s)`;
    throw new StackSplitError(
      `the stack has pending operations (${what}): run \`pulumi refresh\` (or \`pulumi cancel\` if an update is still running) and a successful \`agentpod up\` first, then migrate`,
    );
  }
}

/** One new stack's resource list, written in the old order, each resource after everything it refers to. */
class StackBuilder {
  readonly resources: DeploymentResource[] = [];
  /** Old URN -> URN in this stack, for everything already written here. */
  private readonly renamed = new Map<string, string>();

  constructor(
    readonly name: string,
    readonly scope: StackScope,
    private readonly project: string,
    oldRoot: DeploymentResource | undefined,
  ) {
    const urn = `urn:pulumi:${name}::${project}::${STACK_TYPE}::${project}-${name}`;
    const root: DeploymentResource = oldRoot ? { ...oldRoot, urn, outputs: {} } : { urn, custom: false, type: STACK_TYPE, outputs: {} };
    delete root.dependencies;
    delete root.propertyDependencies;
    delete root.aliases;
    this.resources.push(root);
    if (oldRoot) this.renamed.set(oldRoot.urn, urn);
  }

  /** The host's Docker provider (a child of the host component in the old stack), declared at this stack's root. */
  addRerootedProvider(provider: DeploymentResource): void {
    const urn = `urn:pulumi:${this.name}::${this.project}::${provider.type}::${nameOf(provider.urn)}`;
    const copy: DeploymentResource = { ...provider, urn, parent: this.resources[0]!.urn };
    // What it depended on (the host's readiness) lives in the host stack; its old aliases named the old parent.
    delete copy.dependencies;
    delete copy.propertyDependencies;
    delete copy.deletedWith;
    delete copy.aliases;
    this.resources.push(copy);
    this.renamed.set(provider.urn, urn);
  }

  /** Writes the resource here; false if its parent or its provider is not in this stack. */
  add(r: DeploymentResource): boolean {
    const urn = withStack(r.urn, this.name);
    const copy: DeploymentResource = { ...r, urn };
    if (r.parent !== undefined) {
      const parent = this.renamed.get(r.parent);
      if (!parent) return false;
      copy.parent = parent;
    }
    if (r.provider) {
      const reference = splitProviderReference(r.provider);
      const provider = this.renamed.get(reference.urn);
      if (!provider) return false;
      copy.provider = `${provider}::${reference.id}`;
    }
    const here = (urns: readonly string[]) => urns.flatMap((u) => (this.renamed.has(u) ? [this.renamed.get(u)!] : []));
    if (r.dependencies) copy.dependencies = here(r.dependencies);
    if (r.propertyDependencies) copy.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([key, urns]) => [key, here(urns)]));
    if (r.deletedWith !== undefined) {
      const deletedWith = this.renamed.get(r.deletedWith);
      if (deletedWith) copy.deletedWith = deletedWith;
      else delete copy.deletedWith;
    }
    if (r.aliases) copy.aliases = r.aliases.map((alias) => withStack(alias, this.name));
    if (typeof r.viewOf === "string") copy.viewOf = this.renamed.get(r.viewOf) ?? withStack(r.viewOf, this.name);
    this.resources.push(copy);
    this.renamed.set(r.urn, urn);
    return true;
  }
}
