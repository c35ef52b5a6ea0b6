import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { tenantDataDir } from "../fleet/hostScripts";
import { SSH_MULTIPLEXING, pinnedHostKeyOptions } from "../fleet/sshHostKeys";
import type { HostShell } from "../providers/hostShell";
import { TenantDataDirectory } from "../providers/tenantData";

/**
 * What the Proxy and Tenant components need from a host, whatever it is (a Hetzner server over SSH, or this
 * machine's Docker engine). This is the seam that lets the local target run the production components.
 */
export interface DockerHost {
  readonly hostName: string;
  /** Docker provider for everything placed on the host. */
  readonly provider: docker.Provider;
  /** The provider's endpoint, for the docker CLI operations (pids limit, proxy attachment). */
  readonly dockerHost: pulumi.Input<string>;
  /** The host's root shell, for what the program writes on the host itself (the proxy's route files). */
  readonly shell: pulumi.Input<HostShell>;
  readonly ipv4?: pulumi.Output<string>;
  /** Id of the server: it changes when the host is rebuilt (agentpod host replace), with a new, empty disk. */
  readonly serverId: pulumi.Output<string>;
  readonly ipv6?: pulumi.Output<string>;
  /** The host's pinned SSH public key, where the host is reached over SSH. */
  readonly sshHostKey?: pulumi.Output<string>;
  /**
   * Claims a tenant's data directory on the host's persistent volume (providers/tenantData.ts: refuses data the
   * stack does not own and hand-edited moves) and returns its path and the resource that must finish first.
   */
  prepareTenantData(tenant: string, parent: pulumi.Resource, options: TenantDataOptions, after?: readonly pulumi.Resource[]): { path: string; ready: pulumi.Resource };
}

/**
 * What a tenant's data needs: its disk (size from its plan, the container a conversion stops) and the one-run
 * permissions given by the CLI (`up --adopt`, `tenant move`).
 */
export interface TenantDataOptions {
  /** Size of the tenant's disk in bytes: its plan's `disk`. */
  readonly diskBytes: number;
  /** The tenant's gateway container (fleet/naming.ts). */
  readonly container: string;
  /** Take over a data directory that exists on the host although this stack does not own it. */
  readonly adopt?: boolean;
  /** The host the data was just copied from by `agentpod tenant move`. */
  readonly movedFrom?: string;
  /** This run has no access to the hosts (`agentpod preview --no-host-access`): the preview's probe is left out. */
  readonly withoutHostAccess?: boolean;
}

/** The docker provider of a host: one definition, so a host's stack and its tenants' stacks register the same one. */
export function hostDockerProviderArgs(endpoint: pulumi.Input<string>, sshHostKey?: pulumi.Input<string>): docker.ProviderArgs {
  if (sshHostKey === undefined) return { host: endpoint };
  return { host: endpoint, sshOpts: pulumi.output(sshHostKey).apply((key) => [...pinnedHostKeyOptions(key), ...SSH_MULTIPLEXING]) };
}

/** A tenant's claim on its data directory on a host (providers/tenantData.ts), after what must finish first. */
export function claimTenantData(
  host: { hostName: string; shell: pulumi.Input<HostShell>; serverId: pulumi.Input<string>; stack: string },
  tenant: string,
  parent: pulumi.Resource,
  options: TenantDataOptions,
  after: readonly pulumi.Resource[],
): { path: string; ready: pulumi.Resource } {
  const ready = new TenantDataDirectory(
    `${tenant}-data-dir`,
    { tenant, host: host.hostName, shell: host.shell, serverId: host.serverId, stack: host.stack, ...options },
    { parent, dependsOn: [...after] },
  );
  return { path: tenantDataDir(tenant), ready };
}

/** What a host's stack publishes for the stacks of its tenants (cli/fleetStacks.ts passes it on). */
export interface HostOutputs {
  readonly endpoint: string;
  readonly shell: HostShell;
  readonly serverId: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly sshHostKey?: string;
  /** The host's proxy, as its tenants' routes and attachments need it. */
  readonly proxy: { readonly containerName: string; readonly containerId: string };
}

/**
 * A host that another stack created, seen from a tenant's stack through that stack's outputs: the same docker
 * provider (by name and inputs) and the same shell, so the tenant's resources are what they would be in one stack.
 */
export class HostReference implements DockerHost {
  readonly provider: docker.Provider;
  readonly dockerHost: pulumi.Input<string>;
  readonly shell: pulumi.Input<HostShell>;
  readonly serverId: pulumi.Output<string>;
  readonly ipv4?: pulumi.Output<string>;
  readonly ipv6?: pulumi.Output<string>;
  readonly sshHostKey?: pulumi.Output<string>;

  /** `outputs.sshHostKey` is given for a host reached over SSH (Hetzner), and only then. */
  constructor(
    readonly hostName: string,
    outputs: {
      endpoint: pulumi.Output<string>;
      shell: pulumi.Output<HostShell>;
      serverId: pulumi.Output<string>;
      ipv4: pulumi.Output<string>;
      ipv6: pulumi.Output<string>;
      sshHostKey?: pulumi.Output<string>;
    },
    private readonly stack: string,
  ) {
    this.dockerHost = outputs.endpoint;
    this.shell = outputs.shell;
    this.serverId = outputs.serverId;
    this.ipv4 = outputs.ipv4;
    if (outputs.sshHostKey) {
      this.ipv6 = outputs.ipv6;
      this.sshHostKey = outputs.sshHostKey;
    }
    this.provider = new docker.Provider(`${hostName}-docker`, hostDockerProviderArgs(this.dockerHost, this.sshHostKey));
  }

  prepareTenantData(tenant: string, parent: pulumi.Resource, options: TenantDataOptions, after: readonly pulumi.Resource[] = []) {
    return claimTenantData({ hostName: this.hostName, shell: this.shell, serverId: this.serverId, stack: this.stack }, tenant, parent, options, after);
  }
}
