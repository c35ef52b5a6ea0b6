import * as pulumi from "@pulumi/pulumi";
import { DISK_SHRINK_EXIT, DISK_TOO_SMALL_EXIT, FOREIGN_DATA_EXIT, ensureTenantDataScript, probeTenantDataScript, tenantDataDir } from "../fleet/hostScripts";
import { formatBytes, formatMemory } from "../fleet/units";
import { describeShell, runOnHost, type HostShell } from "./hostShell";

export interface TenantDataDirectoryArgs {
  tenant: string;
  /** The host the tenant is placed on (tenants.yaml). */
  host: string;
  shell: pulumi.Input<HostShell>;
  /**
   * Take over data that already exists on the host although this stack does not own it (a removed tenant's
   * retained data, a restore). Only `agentpod up --adopt <tenant>` sets it, for one run.
   */
  adopt?: boolean;
  /** The host the tenant's data was just copied from by `agentpod tenant move`; only for that run. */
  movedFrom?: string;
  /** Stack name, for the commands the refusals print. */
  stack: string;
  /**
   * Set only by `agentpod preview --no-host-access` (a preview on a machine with no route or key to the hosts): the
   * preview does not probe the host, and the CLI names the claims it left unchecked. Create always checks.
   */
  withoutHostAccess?: boolean;
  /** Size of the tenant's disk in bytes (its plan's `disk`): grows in place, never shrinks. */
  diskBytes: number;
  /** The tenant's gateway container: converting a plain data directory into a disk stops and starts it. */
  container: string;
  /** The host's server: a new one (host replace) has its disks checked, and data restored there converted. */
  serverId: pulumi.Input<string>;
}

interface DataInputs {
  tenant: string;
  host: string;
  shell: HostShell;
  adopt: boolean;
  movedFrom: string;
  stack: string;
  withoutHostAccess?: boolean;
  diskBytes: number;
  container: string;
  serverId: string;
}

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // the engine's placeholder for values not known in a preview

function moveRefusal(tenant: string, from: string, to: string, stack: string): string {
  return (
    `tenant ${tenant} would move from host ${from} to ${to} without its data (a plain \`up\` would start an empty ` +
    `gateway there). Run \`agentpod tenant move ${tenant} ${to} --stack ${stack}\`: it stops the gateway on ${from}, ` +
    `copies its data to ${to} and applies the change.`
  );
}

/** A disk never shrinks (ext4 cannot shrink online, and the data may not fit): say what to do instead. */
function shrinkRefusal(tenant: string, fromBytes: number, toBytes: number): string {
  return (
    `the disk of tenant ${tenant} is ${formatMemory(fromBytes)} and its plan now gives it ${formatMemory(toBytes)}: a tenant's disk grows ` +
    `in place but never shrinks. Keep the \`disk\` of its plan (tenants.yaml plans.<plan>.disk) at ${formatMemory(fromBytes)} or more, or give ` +
    `${tenant} a plan with a disk that large (\`agentpod tenant set-plan ${tenant} <plan>\`).`
  );
}

/** Older state has no disk size: such a tenant's data is a plain directory, converted into a disk at its next update. */
const diskOf = (inputs: Partial<DataInputs>) => (typeof inputs.diskBytes === "number" ? inputs.diskBytes : 0);

function foreignDataRefusal(inputs: DataInputs, detail: string): string {
  return (
    `data of a tenant named ${inputs.tenant} already exists on host ${inputs.host} (${tenantDataDir(inputs.tenant)}, ${detail}) and this ` +
    `stack does not own it: it belongs to a removed tenant or another stack. A new tenant never inherits it. Either ` +
    `adopt it deliberately (a restore, the same customer back): \`agentpod up --adopt ${inputs.tenant} --stack ${inputs.stack}\`, ` +
    `or delete it: \`agentpod tenant purge ${inputs.tenant} --host ${inputs.host} --stack ${inputs.stack}\` (choose another name to keep it).`
  );
}

/**
 * A tenant's data directory on its host's persistent volume (/mnt/agentpod/tenants/<tenant>), owned by the
 * gateway's UID. Data has an owner: this resource is the stack's claim on the directory.
 * - A tenant new to the stack whose directory already exists is refused (at preview when the host answers, and
 *   always at create), unless adopted explicitly.
 * - A change of host is refused unless `agentpod tenant move` has just carried the data: a hand edit of `host:`
 *   would otherwise give the customer an empty gateway.
 * - The directory is the tenant's own filesystem of its plan's disk size (fleet/hostLayout.ts): a larger disk grows it
 *   in place, the gateway running; a smaller one is refused at preview; data from before disks is converted.
 * - Delete keeps the directory: a removed tenant's data is retained until `agentpod tenant purge`.
 */
const tenantDataProvider: pulumi.dynamic.ResourceProvider<DataInputs> = {
  async check(olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const previousHost = (olds as Partial<DataInputs>).host;
    const previousDisk = diskOf(olds as Partial<DataInputs>);
    if (previousHost === news.host && news.diskBytes < previousDisk) {
      failures.push({ property: "diskBytes", reason: shrinkRefusal(news.tenant, previousDisk, news.diskBytes) });
    }
    if (previousHost && previousHost !== news.host && news.movedFrom !== previousHost) {
      failures.push({ property: "host", reason: moveRefusal(news.tenant, previousHost, news.host, news.stack) });
    } else if (!previousHost && !news.adopt && !news.movedFrom && !news.withoutHostAccess && news.shell && !JSON.stringify(news.shell).includes(UNKNOWN)) {
      // (A replacement is checked again without its old inputs: a sanctioned move lands here with data just copied.)
      // Early warning in the preview. A host that does not answer yet (a new server) cannot hold data; create checks again.
      const probe = await runOnHost(news.shell, probeTenantDataScript(news.tenant), { timeoutMs: 30_000 });
      const bytes = probe.code === 0 ? probe.stdout.trim() : "";
      if (bytes) failures.push({ property: "tenant", reason: foreignDataRefusal(news, formatBytes(Number(bytes))) });
    }
    return { inputs: news, failures };
  },
  async create(inputs) {
    await ensureData(inputs, inputs.adopt || inputs.movedFrom ? "adopt" : "refuse");
    return { id: `${inputs.host}/${inputs.tenant}`, outs: inputs };
  },
  async diff(_id, olds, news) {
    // Identity replaces; the disk's size and a new server update. The one-run flags change nothing on the host.
    const replaces = (["tenant", "host"] as const).filter((key) => olds[key] !== news[key]);
    const updates = diskOf(olds) !== news.diskBytes || olds.serverId !== news.serverId || JSON.stringify(olds.shell) !== JSON.stringify(news.shell);
    return { changes: replaces.length > 0 || updates, replaces };
  },
  async update(_id, _olds, news) {
    // The stack owns this data: grow its disk, mount it on a new server, or convert a plain directory (data from
    // before disks, or restored by a replaced server's backup gate) into its disk. Idempotent.
    await ensureData(news, "adopt");
    return { outs: news };
  },
  async delete() {
    // Retained: purge is explicit (agentpod tenant purge).
  },
};

async function ensureData(inputs: DataInputs, claim: "adopt" | "refuse"): Promise<void> {
  // Converting a plain directory copies the tenant's data: allow for a large one.
  const result = await runOnHost(inputs.shell, ensureTenantDataScript(inputs.tenant, claim, { bytes: inputs.diskBytes, container: inputs.container }), { timeoutMs: 30 * 60_000 });
  const detail = result.stderr.trim();
  if (result.code === FOREIGN_DATA_EXIT) throw new Error(foreignDataRefusal(inputs, detail));
  if (result.code === DISK_SHRINK_EXIT) throw new Error(`${detail}: give ${inputs.tenant} a plan whose disk is at least that large (plans.<plan>.disk); nothing was changed`);
  if (result.code === DISK_TOO_SMALL_EXIT) throw new Error(`${detail}: give its plan a larger disk (plans.<plan>.disk); the data stays where it was and the gateway runs on it`);
  if (result.code !== 0) throw new Error(`could not prepare ${tenantDataDir(inputs.tenant)} on ${describeShell(inputs.shell)}: ${detail}`);
}

export class TenantDataDirectory extends pulumi.dynamic.Resource {
  constructor(name: string, args: TenantDataDirectoryArgs, opts?: pulumi.CustomResourceOptions) {
    super(tenantDataProvider, name, { adopt: false, movedFrom: "", ...args }, opts, "agentpod", "TenantDataDirectory");
  }
}
