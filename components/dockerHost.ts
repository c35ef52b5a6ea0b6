import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { HostShell } from "../providers/hostShell";

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
