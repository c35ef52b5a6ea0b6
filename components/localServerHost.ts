import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HOST_DATA_MOUNT, renderReadinessScript } from "../fleet/cloudInit";
import {
  DEFAULT_SERVER_IMAGE,
  LOCAL_ACME,
  REGISTRY_NETWORK,
  SERVER_API_MOUNT,
  localServerDaemonConfig,
  localServerEndpoint,
  localServerNames,
} from "../fleet/localServers";
import { HOST_LABEL, ROLE_LABEL } from "../fleet/naming";
import { HostReadiness } from "../providers/hostReadiness";
import type { HostShell } from "../providers/hostShell";
import { claimTenantData, hostDockerProviderArgs, type DockerHost, type TenantDataOptions } from "./dockerHost";

export interface LocalServerHostArgs {
  /** Prefix of Docker object names on this machine's engine. */
  readonly fleet: string;
  /** This machine's Docker engine, which runs the server. */
  readonly engine: docker.Provider;
  /** Its endpoint, for the server's shell (docker exec). */
  readonly engineEndpoint: string;
  /** Loopback address where the server's ports are published (its "public IP"). */
  readonly address: string;
  /** Ports the server's proxy listens on; each is published on `address`. */
  readonly ports: readonly number[];
  /** Server image (Docker-in-Docker). Default agentpod/server:1. */
  readonly image?: string;
  /** Stack name, for the commands refusals print. */
  readonly stack: string;
  /** Set only by `agentpod host retire`: the data volume loses its protection for that run (it stays retained). */
  readonly releaseVolume?: boolean;
}

/**
 * A host of the local target: a server the program creates and can lose, like an hcloud server. A container on this
 * machine's engine runs the server's own Docker engine with its own disk (engine state: containers, images,
 * networks); its API is a unix socket in a root-only directory of this machine. A separately created data volume is
 * attached at /mnt/agentpod, the mount point production uses, and holds tenant data as disk images exactly as on
 * Hetzner (loop-mounted, so the server may use loop devices); like an hcloud volume it outlives the server (retained, protected) and is attached again to a new one.
 * New servers have no images and pull them on first use, through the registry set-up starts (their Docker Hub
 * mirror), as production servers pull from ghcr.io.
 */
export class LocalServerHost extends pulumi.ComponentResource implements DockerHost {
  readonly hostName: string;
  readonly disk: docker.Volume;
  readonly dataVolume: docker.Volume;
  readonly server: docker.Container;
  readonly ready: HostReadiness;
  readonly provider: docker.Provider;
  readonly dockerHost: pulumi.Output<string>;
  readonly ipv4: pulumi.Output<string>;
  readonly serverId: pulumi.Output<string>;
  readonly shell: HostShell;
  readonly stack: string;

  constructor(name: string, args: LocalServerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentpod:index:LocalServerHost", name, {}, opts);
    this.hostName = name;
    this.stack = args.stack;
    const names = localServerNames(args.fleet, name);
    const outer = { parent: this, provider: args.engine };
    this.disk = new docker.Volume(`${name}-disk`, { name: names.disk, labels: [{ label: ROLE_LABEL, value: "server-disk" }] }, { ...outer, deleteBeforeReplace: true });
    this.dataVolume = new docker.Volume(
      `${name}-data`,
      { name: names.data, labels: [{ label: ROLE_LABEL, value: "host-data" }, { label: HOST_LABEL, value: name }] },
      // The tenant data of this host: never replaced (a fixed-name volume's replacement deletes it), never deleted.
      { ...outer, protect: !args.releaseVolume, retainOnDelete: true, ignoreChanges: ["labels", "driver", "driverOpts"] },
    );
    this.server = this.createServer(name, names, args, outer);
    this.shell = { kind: "docker-exec", engine: args.engineEndpoint, container: names.container };
    this.ready = new HostReadiness(
      `${name}-ready`,
      { shell: this.shell, script: renderReadinessScript(), serverId: this.server.id, endpoint: localServerEndpoint(args.fleet, name) },
      { parent: this },
    );
    this.dockerHost = this.ready.endpoint;
    this.ipv4 = pulumi.output(args.address);
    this.serverId = this.server.id;
    this.provider = new docker.Provider(`${name}-docker`, hostDockerProviderArgs(this.dockerHost), { parent: this });
    this.registerOutputs({ ipv4: this.ipv4, dockerHost: this.dockerHost });
  }

  prepareTenantData(tenant: string, parent: pulumi.Resource, options: TenantDataOptions, after: readonly pulumi.Resource[] = []) {
    return claimTenantData(this, tenant, parent, options, [this.ready, ...after]);
  }

  private createServer(name: string, names: ReturnType<typeof localServerNames>, args: LocalServerHostArgs, opts: pulumi.CustomResourceOptions) {
    return new docker.Container(
      `${name}-server`,
      {
        name: names.container,
        hostname: name,
        image: args.image ?? DEFAULT_SERVER_IMAGE,
        restart: "unless-stopped",
        // What Docker-in-Docker needs on this kind of machine (notes/toolchain.md): every capability but
        // SYS_RESOURCE, which the machine's bounding set lacks, so --privileged is not possible.
        capabilities: { adds: ["ALL"], drops: ["SYS_RESOURCE"] },
        securityOpts: ["seccomp=unconfined", "apparmor=unconfined"],
        // Loop devices for the tenants' disks (fleet/tenantDisks.ts): the control device and every loop block device.
        // The container's /dev has no nodes for them; the disk scripts make those they use.
        deviceCgroupRules: ["c 10:237 rwm", "b 7:* rwm"],
        tmpfs: { "/run": "rw,exec" },
        volumes: [
          { hostPath: "/sys/fs/cgroup", containerPath: "/sys/fs/cgroup" },
          // A host path given as a volume is created when missing (a `bind` mount is not).
          { hostPath: names.apiDir, containerPath: SERVER_API_MOUNT },
          { volumeName: this.disk.name, containerPath: "/var/lib/docker" },
          { volumeName: this.dataVolume.name, containerPath: HOST_DATA_MOUNT },
        ],
        ports: args.ports.map((port) => ({ internal: port, external: port, ip: args.address })),
        // The registry and the object store; the local ACME server (its own network, fixed addresses).
        networksAdvanced: [{ name: REGISTRY_NETWORK }, { name: LOCAL_ACME.network }],
        uploads: [{ file: "/etc/docker/daemon.json", content: localServerDaemonConfig() }],
        labels: [{ label: ROLE_LABEL, value: "server" }, { label: HOST_LABEL, value: name }],
        destroyGraceSeconds: 10,
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
      },
      // The name is fixed: a replacement (agentpod host replace) must remove the dead server first.
      { ...opts, deleteBeforeReplace: true },
    );
  }
}
