import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { renderCloudInit, renderReadinessScript } from "../fleet/cloudInit";
import { tenantDataDir } from "../fleet/hostScripts";
import type { HostShell } from "../providers/hostShell";
import { TenantDataDirectory } from "../providers/tenantData";
import type { DockerHost, TenantDataOptions } from "./dockerHost";

export interface HetznerHostArgs {
  /** Hetzner location, e.g. "fsn1". Never changed in place: a new location is a new host. */
  readonly location: string;
  /** Server type, e.g. "cx42". Changes in place (with a power-off); the disk is kept so a downgrade stays possible. */
  readonly serverType: string;
  /** OS image. Default "ubuntu-24.04". Only used at creation. */
  readonly image?: string;
  /** Ids of the hcloud SSH keys that may log in as root. Only used at creation. */
  readonly sshKeyIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Sources allowed to reach port 22. Ports 80 and 443 are open to everyone. */
  readonly adminCidrs: readonly string[];
  /** Size of the persistent volume for tenant data, in GB. Default 50. Grows in place. */
  readonly dataVolumeGb?: number;
  /** Private key matching one of the SSH keys, used for the readiness gate and the Docker connection. Secret. */
  readonly deployPrivateKey: pulumi.Input<string>;
  /** Stack name, for the commands refusals print. */
  readonly stack: string;
  /**
   * Set only by `agentpod host replace` for the host it replaces: the server loses its Pulumi and Hetzner delete
   * protection for that run, so the engine may delete the dead server and create its successor (same name).
   */
  readonly releaseServer?: boolean;
  /** Set only by `agentpod host retire`: the data volume loses its protection for that run (it stays retained). */
  readonly releaseVolume?: boolean;
}

const SSH_OPTIONS = [
  "-o", "StrictHostKeyChecking=accept-new",
  // One multiplexed connection per host: many parallel sessions would trip sshd's MaxStartups.
  "-o", "ControlMaster=auto",
  "-o", "ControlPath=~/.ssh/agentpod-%C",
  "-o", "ControlPersist=120",
];

/**
 * A Hetzner Cloud server for tenants: firewall, cloud-init that installs Docker, a persistent volume for tenant
 * data that survives the server, and a readiness gate that the host's Docker provider waits for, so no container
 * is created before Docker answers. Server and volume are protected; no edit of cloud-init, SSH keys or image
 * replaces the server.
 */
export class HetznerHost extends pulumi.ComponentResource implements DockerHost {
  readonly hostName: string;
  readonly server: hcloud.Server;
  readonly firewall: hcloud.Firewall;
  readonly dataVolume: hcloud.Volume;
  readonly ready: command.remote.Command;
  readonly provider: docker.Provider;
  readonly dockerHost: pulumi.Output<string>;
  readonly ipv4: pulumi.Output<string>;
  readonly ipv6: pulumi.Output<string>;
  readonly serverId: pulumi.Output<string>;
  private readonly connection: command.types.input.remote.ConnectionArgs;
  private readonly stack: string;

  constructor(name: string, args: HetznerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentpod:index:HetznerHost", name, {}, opts);
    this.hostName = name;
    this.stack = args.stack;
    this.firewall = this.createFirewall(name, args);
    this.server = this.createServer(name, args);
    this.ipv4 = this.server.ipv4Address;
    this.ipv6 = this.server.ipv6Address;
    this.serverId = this.server.id;
    this.dataVolume = this.createDataVolume(name, args);
    const attachment = new hcloud.VolumeAttachment(
      `${name}-data-attachment`,
      { volumeId: this.dataVolume.id.apply(Number), serverId: this.server.id.apply(Number), automount: false },
      { parent: this },
    );
    this.connection = { host: this.ipv4, user: "root", privateKey: args.deployPrivateKey };
    this.ready = new command.remote.Command(
      `${name}-ready`,
      // Runs again on a new server and when the volume grows (the script grows the filesystem).
      { connection: this.connection, create: this.dataVolume.linuxDevice.apply(renderReadinessScript), triggers: [this.server.id, this.dataVolume.size] },
      { parent: this, dependsOn: [attachment] },
    );
    this.dockerHost = pulumi.interpolate`ssh://root@${this.ipv4}`;
    this.provider = new docker.Provider(`${name}-docker`, { host: this.dockerHost, sshOpts: SSH_OPTIONS }, { parent: this, dependsOn: [this.ready] });
    this.registerOutputs({ ipv4: this.ipv4, ipv6: this.ipv6 });
  }

  prepareTenantData(tenant: string, parent: pulumi.Resource, options: TenantDataOptions, after: readonly pulumi.Resource[] = []) {
    const shell: pulumi.Output<HostShell> = this.ipv4.apply((address) => ({ kind: "ssh", address, user: "root" }) as const);
    const ready = new TenantDataDirectory(
      `${tenant}-data-dir`,
      { tenant, host: this.hostName, shell, stack: this.stack, ...options },
      { parent, dependsOn: [this.ready, ...after] },
    );
    return { path: tenantDataDir(tenant), ready };
  }

  private createFirewall(name: string, args: HetznerHostArgs) {
    const rule = (port: string, sourceIps: string[], description: string) => ({ direction: "in", protocol: "tcp", port, sourceIps, description });
    const everyone = ["0.0.0.0/0", "::/0"];
    return new hcloud.Firewall(
      `${name}-firewall`,
      {
        name: `agentpod-${name}`,
        rules: [
          rule("22", [...args.adminCidrs], "SSH from admin networks only"),
          rule("80", everyone, "HTTP (ACME and redirect to HTTPS)"),
          rule("443", everyone, "HTTPS to tenant gateways"),
        ],
        labels: { agentpod: "host", "agentpod-host": name },
      },
      { parent: this },
    );
  }

  private createServer(name: string, args: HetznerHostArgs) {
    return new hcloud.Server(
      `${name}-server`,
      {
        name: `agentpod-${name}`,
        serverType: args.serverType,
        location: args.location,
        image: args.image ?? "ubuntu-24.04",
        sshKeys: args.sshKeyIds,
        userData: renderCloudInit(),
        firewallIds: [this.firewall.id.apply(Number)],
        publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
        keepDisk: true,
        deleteProtection: !args.releaseServer,
        rebuildProtection: !args.releaseServer,
        labels: { agentpod: "host", "agentpod-host": name },
      },
      {
        parent: this,
        protect: !args.releaseServer,
        // The name is unique per project: a replacement must delete the dead server first.
        deleteBeforeReplace: true,
        // Hetzner replaces (destroys) a server for any change of these: cloud-init, keys, image. They only matter
        // at creation; a host is rebuilt on purpose (`agentpod host replace`), never by an innocent edit.
        ignoreChanges: ["userData", "sshKeys", "image"],
      },
    );
  }

  private createDataVolume(name: string, args: HetznerHostArgs) {
    return new hcloud.Volume(
      `${name}-data`,
      { name: `agentpod-${name}-data`, size: args.dataVolumeGb ?? 50, location: args.location, format: "ext4", deleteProtection: true },
      // A location change would replace it with an empty volume; the data outlives servers by design. Retired with
      // its host, it is only forgotten (retainOnDelete), and Hetzner's delete protection stays on.
      { parent: this, protect: !args.releaseVolume, retainOnDelete: true, ignoreChanges: ["location", "format"] },
    );
  }
}
