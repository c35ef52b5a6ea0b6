import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_SCRIPT_PATH, backupEnvironment, renderBackupScript } from "../fleet/backup";
import { HOST_DATA_MOUNT } from "../fleet/cloudInit";
import { FLEET_LABEL, HOST_LABEL, ROLE_LABEL, backupContainerName } from "../fleet/naming";
import type { BackupSettings } from "../fleet/settings";
import { HostBackupGate } from "../providers/backupGate";
import { ContainerPidsLimit } from "../providers/pidsLimit";

export interface HostBackupArgs {
  /** The host's name. */
  readonly host: string;
  /**
   * The gate of the host before this one: the fleet's repository is shared, so the gates open it one after the other
   * and only the first ever creates it (two hosts running `restic init` at once leave it with a key neither has).
   */
  readonly after?: pulumi.Resource;
  /** The host's Docker engine and its endpoint (the gate runs the backup script there with `docker exec`). */
  readonly provider: docker.Provider;
  readonly dockerHost: pulumi.Input<string>;
  /** The host's pinned SSH public key, where the host is reached over SSH. */
  readonly hostKey?: pulumi.Input<string>;
  /** The host's server id: a new one means a rebuilt host with an empty disk (see HostBackupGate). */
  readonly serverId: pulumi.Input<string>;
  /** Prefix of Docker object names, and the restic repository's name in the bucket. */
  readonly fleet: string;
  readonly stack: string;
  readonly settings: BackupSettings;
  /** Object store credentials and the fleet key. Secrets. */
  readonly accessKeyId: pulumi.Input<string>;
  readonly secretAccessKey: pulumi.Input<string>;
  readonly password: pulumi.Input<string>;
  /** One run only (`agentpod host replace`): the tenants that were deployed on the lost server, and whether to restore them. */
  readonly rebuilt?: { readonly tenants: readonly string[]; readonly restore: boolean };
}

/**
 * A host's backup job: one container that, every minute, backs up each tenant whose last backup is older than the
 * interval (fleet/backup.ts: SQLite through its online backup, staged, restic to the fleet's S3 repository,
 * retention), without stopping any gateway, and leaves a status file per tenant that `agentpod status` reads. The
 * same component on Hetzner and local servers, through the host's Docker provider. It needs no Docker API: it reads
 * the host's data volume as root with only the capabilities that takes.
 *
 * Host networking: the job needs no inbound port and no tenant network, only the object store; on a local server
 * it also resolves agentpod-s3 through the server's own resolver, which a bridge network inside the server cannot.
 */
export class HostBackup extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** Tenants' data claims wait for it: the repository opens, and a rebuilt host has its tenants' data back. */
  readonly gate: HostBackupGate;

  constructor(name: string, args: HostBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentpod:index:HostBackup", name, {}, opts);
    const containerName = backupContainerName(args.fleet);
    const envs = pulumi
      .all([args.accessKeyId, args.secretAccessKey, args.password])
      .apply(([accessKeyId, secretAccessKey, password]) => [
        ...backupEnvironment({ endpoint: args.settings.endpoint, bucket: args.settings.bucket, fleet: args.fleet, schedule: args.settings.schedule }),
        `AWS_ACCESS_KEY_ID=${accessKeyId}`,
        `AWS_SECRET_ACCESS_KEY=${secretAccessKey}`,
        `RESTIC_PASSWORD=${password}`,
      ]);
    this.container = new docker.Container(
      `${name}-job`,
      {
        name: containerName,
        image: args.settings.image,
        command: [BACKUP_SCRIPT_PATH, "loop"],
        restart: "unless-stopped",
        networkMode: "host",
        // Read every tenant's files (DAC_READ_SEARCH), take SQLite's backup as the file's owner (SETUID, SETGID),
        // and put restored data back with its owners and modes (CHOWN, FOWNER, DAC_OVERRIDE). Nothing else.
        capabilities: { drops: ["ALL"], adds: ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "SETUID", "SETGID"] },
        securityOpts: ["no-new-privileges:true"],
        memory: 512,
        memorySwap: 512,
        envs: pulumi.secret(envs),
        // rslave: tenant disks mounted after the job started (new tenants) appear in it too (fleet/tenantDisks.ts).
        mounts: [{ type: "bind", source: HOST_DATA_MOUNT, target: HOST_DATA_MOUNT, bindOptions: { propagation: "rslave" } }],
        uploads: [{ file: BACKUP_SCRIPT_PATH, content: renderBackupScript(), executable: true }],
        labels: [
          { label: ROLE_LABEL, value: "backup" },
          { label: FLEET_LABEL, value: args.fleet },
          { label: HOST_LABEL, value: args.host },
        ],
        destroyGraceSeconds: 10,
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
      },
      // A fixed name: the old job goes before its successor starts (new settings, new script).
      { parent: this, provider: args.provider, deleteBeforeReplace: true },
    );
    new ContainerPidsLimit(`${name}-pids`, { dockerHost: args.dockerHost, hostKey: args.hostKey ?? "", container: this.container.name, containerId: this.container.id, limit: 256 }, { parent: this });
    this.gate = new HostBackupGate(
      `${name}-gate`,
      {
        host: args.host,
        endpoint: args.dockerHost,
        hostKey: args.hostKey ?? "",
        container: this.container.name,
        containerId: this.container.id,
        serverId: args.serverId,
        expected: [...(args.rebuilt?.tenants ?? [])].sort(),
        restore: args.rebuilt?.restore ?? false,
        stack: args.stack,
      },
      { parent: this, ...(args.after ? { dependsOn: [args.after] } : {}) },
    );
    this.registerOutputs({ container: this.container.name });
  }
}
