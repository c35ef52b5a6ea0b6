import * as pulumi from "@pulumi/pulumi";
import { BACKUP_SCRIPT_PATH, NO_SNAPSHOT_EXIT, REPOSITORY_EXIT } from "../fleet/backup";
import { dockerCommand } from "./dockerCli";

export interface HostBackupGateArgs {
  host: string;
  /** The host's Docker endpoint, where the backup container runs. */
  endpoint: pulumi.Input<string>;
  /** The host's pinned SSH public key, for an ssh:// endpoint ("" for a local engine). */
  hostKey?: pulumi.Input<string>;
  /** The backup container's name and id: a new container (new settings, new server) is checked again. */
  container: pulumi.Input<string>;
  containerId: pulumi.Input<string>;
  /** The server's id: when it changes, the host has been rebuilt with a new disk (agentpod host replace). */
  serverId: pulumi.Input<string>;
  /**
   * Set only by `agentpod host replace`, for one run: the tenants deployed on the host before it was lost (existing
   * customers, from the stack's outputs). Each must have its data before its gateway starts.
   */
  expected: string[];
  /** Set only by `agentpod host replace --restore`: restore the data the new server lacks from the latest snapshot. */
  restore: boolean;
  stack: string;
}

interface GateInputs {
  host: string;
  endpoint: string;
  hostKey?: string;
  container: string;
  containerId: string;
  serverId: string;
  expected: string[];
  restore: boolean;
  stack: string;
}

/** Runs the backup script in the host's backup container; never rejects. */
function backupExec(inputs: GateInputs, args: string[]): Promise<{ code: number; out: string }> {
  const { execFile } = require("node:child_process") as typeof import("node:child_process");
  return new Promise((resolve) => {
    let command;
    try {
      command = dockerCommand(inputs.endpoint, ["exec", inputs.container, BACKUP_SCRIPT_PATH, ...args], inputs.hostKey);
    } catch (error) {
      resolve({ code: 1, out: String(error) });
      return;
    }
    execFile(command.file, command.args, { timeout: 30 * 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, out: `${String(stdout).trim()}\n${String(stderr).trim()}`.trim() });
    });
  });
}

/** The repository must open (it is created only where none exists): a wrong setting fails `up`, naming it. */
async function checkRepository(inputs: GateInputs): Promise<void> {
  const result = await backupExec(inputs, ["check"]);
  if (result.code === 0) return;
  const reason = result.code === REPOSITORY_EXIT ? result.out.split("\n")[0] : result.out;
  throw new Error(`backups of host ${inputs.host} cannot be written: ${reason}. Nothing was deleted from the bucket. Fix the setting and run \`agentpod up --stack ${inputs.stack}\` again.`);
}

/**
 * After a rebuild (new server id), every tenant that was already on the host must have its data before its gateway
 * starts: "a fresh empty gateway never answers for an existing customer". With `restore`, missing data is restored
 * from the tenant's latest snapshot; without, the run stops here with the command that restores it.
 */
async function recoverData(news: GateInputs): Promise<void> {
  const missing: string[] = [];
  for (const tenant of news.expected) {
    const probe = await backupExec(news, [news.restore ? "restore-missing" : "probe", tenant]);
    if (!news.restore) {
      if (probe.out.split("\n")[0] !== "present") missing.push(tenant);
      continue;
    }
    if (probe.code === NO_SNAPSHOT_EXIT) missing.push(`${tenant} (no snapshot)`);
    else if (probe.code !== 0) throw new Error(`restoring tenant ${tenant} on host ${news.host} failed: ${probe.out}`);
  }
  if (missing.length === 0) return;
  throw new Error(
    news.restore
      ? `host ${news.host} is a new server whose data volume lacks the data of ${missing.join(", ")}, and the backups have none of it: their gateways are not started empty. Restore the data by hand (agentpod backup list <tenant>) or remove those tenants.`
      : `host ${news.host} is a new server whose data volume has no data for ${missing.join(", ")}: their gateways are not started empty. ` +
          `Restore them from the backups: \`agentpod host replace ${news.host} --restore --force --stack ${news.stack}\`.`,
  );
}

/**
 * A host's backup gate, between its backup container and its tenants' data claims (their gateways wait for it):
 * the repository opens with the stack's settings, and a rebuilt host gets its tenants' data back before any of
 * their gateways starts. Kept across `agentpod host replace` (it lives in the state, not on the server); the
 * replacement updates it with the tenants that were deployed there, which are existing customers.
 */
const gateProvider: pulumi.dynamic.ResourceProvider<GateInputs> = {
  async create(inputs) {
    await checkRepository(inputs);
    if (inputs.expected.length > 0) await recoverData(inputs);
    return { id: inputs.host, outs: { ...inputs, expected: [], restore: false } };
  },
  async diff(_id, olds, news) {
    // The one-run inputs (expected, restore) are no change by themselves: a rebuilt server always changes serverId.
    const keys = ["endpoint", "container", "containerId", "serverId"] as const;
    return { changes: keys.some((k) => olds[k] !== news[k]), replaces: olds.host !== news.host ? ["host"] : [] };
  },
  async update(_id, olds, news) {
    // A rebuilt server whose data survived must not wait for the object store: its recovery does not need it (a
    // misconfigured store then shows in the job's status files, and `agentpod status` exits 1). Only a changed job
    // on the same server is checked here, so a wrong setting fails `up`.
    const rebuilt = olds.serverId !== news.serverId;
    if (!rebuilt && (olds.containerId !== news.containerId || olds.endpoint !== news.endpoint)) await checkRepository(news);
    if (news.expected.length > 0) await recoverData(news);
    // The one-run inputs are not kept.
    return { outs: { ...news, expected: [], restore: false } };
  },
};

export class HostBackupGate extends pulumi.dynamic.Resource {
  constructor(name: string, args: HostBackupGateArgs, opts?: pulumi.CustomResourceOptions) {
    super(gateProvider, name, args, opts, "agentpod", "HostBackupGate");
  }
}
