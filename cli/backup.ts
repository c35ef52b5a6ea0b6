/**
 * `agentpod backup now|list|restore`: the tenants' backups, through each host's backup job (components/hostBackup.ts).
 * Every command runs the job's own script (fleet/backup.ts) with `docker exec` on the host's engine, as the
 * schedule does: the same restic, the same repository, the same lock.
 */
import { BACKUP_SCRIPT_PATH, REPOSITORY_EXIT } from "../fleet/backup";
import { tenantVolumeDir } from "../fleet/hostLayout";
import { backupContainerName, dockerNames } from "../fleet/naming";
import { CommandError, formatTable, parseCommand, runCommand, type Handler } from "./shared";
import { dockerAt, engineAnswers, hostEndpoint, openStackContext, type StackContext } from "./stackContext";

const USAGE = {
  backup: `agentpod backup <subcommand> [options]

Subcommands:
  now [tenant | --host H] [--stack S]     back up now: one tenant, the tenants of one host, or every tenant
  list <tenant> [--stack S]               the tenant's snapshots in the object store
  restore <tenant> [--snapshot ID] [--host H] [--stack S]
                                          put a snapshot back (default: the latest): stops the gateway, swaps the
                                          data in, starts it and waits until it is healthy

Backups run on a schedule on every host (agentpod:backupInterval, default 1h); \`agentpod status\` shows the last one.
Exit status: 0 success, 1 failed or refused, 2 bad usage.`,
  now: `agentpod backup now [tenant] [--host H] [--stack local] [--project DIR]

Backs up now, without stopping any gateway (SQLite through its online backup): the named tenant, every tenant of
--host H, or every tenant of the stack. Waits for a scheduled run in progress on the same host. A wrong object
store setting is reported with the setting's name; nothing is ever deleted from the bucket because of it.`,
  list: `agentpod backup list <tenant> [--host H] [--stack local] [--project DIR]

The tenant's snapshots in the fleet's repository, oldest first, read through the backup job of the tenant's host
(or of --host H, or of any host that answers when the tenant's host is lost).`,
  restore: `agentpod backup restore <tenant> [--snapshot ID] [--host H] [--stack local] [--project DIR]

Restores a snapshot (default: the latest) of the tenant on its host (or --host H): the snapshot is fetched next to
the tenant's data first, then the gateway is stopped, the data swapped in (the previous copy is kept until the
gateway is healthy again), ownership set to the gateway's UID 1000, the gateway started, and its health awaited.`,
} as const;

const COMMON = { stack: { type: "string", short: "s", default: "local" }, project: { type: "string" }, host: { type: "string" } } as const;

/** Runs the backup script on a host; never rejects. */
export async function backupScript(context: StackContext, host: string, args: string[], timeoutMs = 60 * 60_000) {
  const endpoint = hostEndpoint(context.settings, host, context.hosts);
  if (!endpoint) throw new CommandError(`host ${host} has no address in the stack outputs`);
  return dockerAt(endpoint, ["exec", backupContainerName(context.fleet), BACKUP_SCRIPT_PATH, ...args], timeoutMs);
}

function hostOf(context: StackContext, tenant: string, override: string | undefined): string {
  if (override) {
    if (!(override in context.hosts)) throw new CommandError(`host "${override}" is not a host of stack ${context.stackName} (its hosts: ${Object.keys(context.hosts).sort().join(", ")})`);
    return override;
  }
  const out = context.tenants[tenant];
  if (!out) throw new CommandError(`tenant "${tenant}" is not deployed in stack ${context.stackName}; pass --host H to use a host's backup job`);
  return out.host;
}

async function now(args: string[]): Promise<number> {
  const parsed = parseCommand(args, COMMON, USAGE.now, { names: ["tenant"], optional: 1 });
  if (!parsed) return 0;
  const context = await openStackContext(parsed.values.stack as string, parsed.values.project as string | undefined);
  const tenant = parsed.positionals[0];
  const only = parsed.values.host as string | undefined;
  if (tenant && only) throw new CommandError("give a tenant or --host, not both");
  const hosts = tenant ? [hostOf(context, tenant, undefined)] : only ? [hostOf(context, "", only)] : Object.keys(context.hosts).sort();
  let failed = false;
  for (const host of hosts) {
    const tenants = tenant ? [tenant] : Object.entries(context.tenants).filter(([, t]) => t.host === host).map(([name]) => name).sort();
    if (tenants.length === 0) continue;
    const result = await backupScript(context, host, ["run", ...tenants]);
    const lines = `${result.stdout}${result.stderr}`.trim();
    if (result.code === REPOSITORY_EXIT) {
      console.error(`agentpod: host ${host}: ${lines.replace(/^backup repository: /, "")}; nothing was backed up and nothing was deleted`);
      failed = true;
      continue;
    }
    for (const line of result.stdout.trim().split("\n").filter(Boolean)) console.log(`${host}  ${line}`);
    if (result.code !== 0) {
      if (result.code !== 1) console.error(`agentpod: host ${host}: the backup job did not run: ${result.stderr.trim() || `exit ${result.code}`}`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

interface Snapshot {
  id: string;
  short_id?: string;
  time: string;
  hostname?: string;
  tags?: string[];
}

async function snapshotsOf(context: StackContext, tenant: string, host: string): Promise<Snapshot[]> {
  const result = await backupScript(context, host, ["snapshots", tenant], 10 * 60_000);
  if (result.code !== 0) throw new CommandError(`host ${host}: ${result.stderr.trim() || `exit ${result.code}`}`);
  return JSON.parse(result.stdout || "[]") as Snapshot[];
}

async function list(args: string[]): Promise<number> {
  const parsed = parseCommand(args, COMMON, USAGE.list, { names: ["tenant"] });
  if (!parsed) return 0;
  const context = await openStackContext(parsed.values.stack as string, parsed.values.project as string | undefined);
  const tenant = parsed.positionals[0]!;
  const override = parsed.values.host as string | undefined;
  // The repository is the fleet's, not the host's: any host's job can read it when the tenant's host is lost.
  const preferred = override ?? context.tenants[tenant]?.host;
  const candidates = [...new Set([...(preferred ? [preferred] : []), ...(override ? [] : Object.keys(context.hosts).sort())])];
  let lastError = "no host of the stack answers";
  for (const host of candidates) {
    const endpoint = hostEndpoint(context.settings, host, context.hosts);
    if (!endpoint || !(await engineAnswers(endpoint)).ok) continue;
    try {
      const snapshots = await snapshotsOf(context, tenant, host);
      if (snapshots.length === 0) {
        console.log(`no snapshot of tenant ${tenant} yet`);
        return 0;
      }
      console.log(formatTable(["ID", "TIME (UTC)", "TAGS"], snapshots.map((s) => [s.short_id ?? s.id.slice(0, 8), s.time.replace(/\.\d+Z?$/, "").replace("T", " "), (s.tags ?? []).join(",")])));
      return 0;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
  }
  throw new CommandError(lastError);
}

async function waitHealthy(endpoint: string, container: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let state = "";
  while (Date.now() < deadline) {
    const result = await dockerAt(endpoint, ["inspect", "--type", "container", "--format", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", container], 30_000);
    state = result.stdout.trim();
    if (state === "running healthy") return state;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return state;
}

/** Where the backup script's swap keeps a tenant's previous data (fleet/backup.ts): on its disk, or beside it. */
const previousDataPlace = (tenant: string) => `${tenantVolumeDir(tenant)}/data.previous (/mnt/agentpod/tenants/.previous-${tenant} for data without a disk)`;

async function restore(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { ...COMMON, snapshot: { type: "string" } }, USAGE.restore, { names: ["tenant"] });
  if (!parsed) return 0;
  const context = await openStackContext(parsed.values.stack as string, parsed.values.project as string | undefined);
  const tenant = parsed.positionals[0]!;
  const host = hostOf(context, tenant, parsed.values.host as string | undefined);
  const snapshot = (parsed.values.snapshot as string | undefined) ?? "latest";
  if (snapshot !== "latest" && !/^[0-9a-f]{4,64}$/.test(snapshot)) throw new CommandError(`--snapshot "${snapshot}" is not a snapshot id (agentpod backup list ${tenant})`);
  const endpoint = hostEndpoint(context.settings, host, context.hosts)!;
  const alive = await engineAnswers(endpoint);
  if (!alive.ok) throw new CommandError(`host ${host} does not answer (${alive.detail}): replace it with its data restored: agentpod host replace ${host} --restore --stack ${context.stackName}`);
  const container = dockerNames(tenant, context.fleet).container;
  const started = Date.now();

  // 1. Fetch the snapshot beside the live data; the gateway keeps serving meanwhile.
  const fetched = await backupScript(context, host, ["restore", tenant, snapshot]);
  if (fetched.code !== 0) {
    const reason = fetched.code === REPOSITORY_EXIT ? fetched.stderr.trim() : fetched.stderr.trim() || fetched.stdout.trim();
    throw new CommandError(`restoring ${tenant} failed before anything was changed: ${reason}`);
  }
  console.log(`fetched snapshot ${snapshot} of ${tenant} on host ${host}`);
  // 2. Stop, swap, start: the previous data is kept as .previous-<tenant> until the gateway is healthy again.
  const hasContainer = (await dockerAt(endpoint, ["inspect", "--type", "container", container], 30_000)).code === 0;
  if (hasContainer) {
    const stop = await dockerAt(endpoint, ["stop", "--time", "10", container], 60_000);
    if (stop.code !== 0) throw new CommandError(`could not stop ${container} on host ${host}: ${stop.stderr.trim()}; nothing was changed`);
  }
  const swap = await backupScript(context, host, ["swap", tenant], 10 * 60_000);
  if (swap.code !== 0) {
    if (hasContainer) await dockerAt(endpoint, ["start", container]);
    throw new CommandError(`swapping the data of ${tenant} failed: ${swap.stderr.trim()}; the previous data is in place and the gateway restarted`);
  }
  if (!hasContainer) {
    console.log(`agentpod: ${tenant}'s data is restored on host ${host}; it has no gateway container there yet: run agentpod up --stack ${context.stackName}`);
    return 0;
  }
  const start = await dockerAt(endpoint, ["start", container], 60_000);
  if (start.code !== 0) throw new CommandError(`could not start ${container}: ${start.stderr.trim()} (the previous data is kept in ${previousDataPlace(tenant)})`);
  const state = await waitHealthy(endpoint, container, 180_000);
  if (state !== "running healthy") {
    throw new CommandError(`${tenant}'s gateway did not become healthy after the restore (${state || "no state"}); the previous data is kept in ${previousDataPlace(tenant)} on host ${host}`);
  }
  await backupScript(context, host, ["drop-previous", tenant], 10 * 60_000);
  console.log(`agentpod: ${tenant} restored from snapshot ${snapshot} on host ${host} and healthy again in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

export const backupCommand: Handler = async (args) => {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? console.error : console.log)(USAGE.backup);
    return name === undefined ? 2 : 0;
  }
  if (name === "now") return runCommand(USAGE.now, () => now(rest));
  if (name === "list") return runCommand(USAGE.list, () => list(rest));
  if (name === "restore") return runCommand(USAGE.restore, () => restore(rest));
  console.error(`agentpod: unknown backup subcommand "${name}"\n\n${USAGE.backup}`);
  return 2;
};
