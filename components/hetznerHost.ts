import * as docker from "@pulumi/docker";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { renderCloudInit, renderReadinessScript } from "../fleet/cloudInit";
import { knownHostsLine } from "../fleet/sshHostKeys";
import { HostReadiness } from "../providers/hostReadiness";
import type { HostShell } from "../providers/hostShell";
import { HostSshKey } from "../providers/hostSshKey";
import { claimTenantData, hostDockerProviderArgs, type DockerHost, type TenantDataOptions } from "./dockerHost";

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
  /**
   * The fleet's deploy-runner firewall (components/deployRunnerFirewall.ts), applied beside the host's own: the deploy
   * workflow opens SSH through it for its runner while it runs.
   */
  readonly deployRunnerFirewallId: pulumi.Input<number>;
  /** Size of the persistent volume for tenant data, in GB. Default 50. Grows in place. */
  readonly dataVolumeGb?: number;
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
  readonly ready: HostReadiness;
  /** The server's SSH host key: every SSH connection to it is pinned to this key. */
  readonly hostKey: HostSshKey;
  readonly sshHostKey: pulumi.Output<string>;
  /** "<ipv4> ecdsa-sha2-nistp256 AAAA...", for the known_hosts of other SSH clients (the workflows). */
  readonly knownHosts: pulumi.Output<string>;
  readonly provider: docker.Provider;
  readonly dockerHost: pulumi.Output<string>;
  readonly ipv4: pulumi.Output<string>;
  readonly ipv6: pulumi.Output<string>;
  readonly serverId: pulumi.Output<string>;
  readonly shell: pulumi.Output<HostShell>;
  readonly stack: string;

  constructor(name: string, args: HetznerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentpod:index:HetznerHost", name, {}, opts);
    this.hostName = name;
    this.stack = args.stack;
    this.firewall = this.createFirewall(name, args);
    // Outlives the server (a rebuilt host gets the same key), like the data volume.
    this.hostKey = new HostSshKey(`${name}-host-key`, {}, { parent: this });
    this.server = this.createServer(name, args);
    this.ipv4 = this.server.ipv4Address;
    this.ipv6 = this.server.ipv6Address;
    this.shell = pulumi.all([this.ipv4, this.hostKey.publicKey]).apply(([address, hostKey]) => ({ kind: "ssh", address, user: "root", hostKey }) as const);
    this.sshHostKey = this.hostKey.publicKey;
    this.knownHosts = pulumi.all([this.ipv4, this.hostKey.publicKey]).apply(([address, key]) => knownHostsLine(address, key));
    this.serverId = this.server.id;
    this.dataVolume = this.createDataVolume(name, args);
    const attachment = new hcloud.VolumeAttachment(
      `${name}-data-attachment`,
      { volumeId: this.dataVolume.id.apply(Number), serverId: this.server.id.apply(Number), automount: false },
      { parent: this },
    );
    // The same gate as a local server's, over SSH pinned to the host key: command.remote's connection cannot verify
    // a host key (and its plugin cannot be had on the machines this project is built on). It runs again on a new
    // server and when the volume grows: the script names the size, and grows the filesystem to it.
    this.ready = new HostReadiness(
      `${name}-ready`,
      {
        shell: this.shell,
        script: pulumi.all([this.dataVolume.linuxDevice, this.dataVolume.size]).apply(([device, size]) => renderReadinessScript(device, size)),
        serverId: this.server.id,
        endpoint: pulumi.interpolate`ssh://root@${this.ipv4}`,
      },
      { parent: this, dependsOn: [attachment] },
    );
    this.dockerHost = this.ready.endpoint;
    this.provider = new docker.Provider(`${name}-docker`, hostDockerProviderArgs(this.dockerHost, this.hostKey.publicKey), { parent: this });
    this.registerOutputs({ ipv4: this.ipv4, ipv6: this.ipv6, knownHosts: this.knownHosts });
  }

  prepareTenantData(tenant: string, parent: pulumi.Resource, options: TenantDataOptions, after: readonly pulumi.Resource[] = []) {
    return claimTenantData(this, tenant, parent, options, [this.ready, ...after]);
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
        // Holds the host's private SSH key: secret in the state.
        userData: pulumi.secret(pulumi.all([this.hostKey.privateKeyPem, this.hostKey.publicKey]).apply(([privateKeyPem, publicKey]) => renderCloudInit({ privateKeyPem, publicKey }))),
        firewallIds: [this.firewall.id.apply(Number), args.deployRunnerFirewallId],
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
