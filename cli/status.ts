/**
 * `agentpod status`: the tenants of a running stack and the state and health of their containers. The tenant list,
 * hosts and URLs come from the stack's outputs (cli/engine.ts); the state from `docker inspect <fleet>-<tenant>` on
 * the tenant's host (for `local`, the local server's engine; for `hetzner`, ssh://root@<ipv4> with the operator's own
 * SSH key). It also names hosts that do not answer, with the command that recovers them, and retained data that no
 * tenant owns. The table and the verdict are pure functions, tested without a stack.
 */
import { backupVerdict, formatAge, isBackupFailing, parseBackupStatus, readBackupStatusScript, type BackupRecord, type BackupVerdict } from "../fleet/backup";
import { runOnHost } from "../providers/hostShell";
import { dockerNames } from "../fleet/gateway";
import { formatBytes } from "../fleet/units";
import { CommandError, formatTable, parseCommand, runCommand, type Handler } from "./shared";
import { dockerAt, engineAnswers, hostEndpoint, hostShell, openStackContext, tenantDataOn } from "./stackContext";
import { pairedDevices } from "./tenantAccess";

export { hostEndpoint };

export interface TenantStatus {
  readonly tenant: string;
  readonly host: string;
  readonly plan: string;
  readonly url: string;
  /** Docker's container state ("running", "exited", "restarting"...), "missing", "down" when its host does not answer, or "unknown". */
  readonly state: string;
  /** Docker's health status ("healthy", "unhealthy", "starting"), "none" without a health check, "-" without a container. */
  readonly health: string;
  /** Devices paired with the gateway (`status --devices`; running gateways only). */
  readonly devices?: number;
  /** Why the state is unknown. */
  readonly error?: string;
}

/** State and health from `docker inspect --format '{{json .State}}'`; undefined input: no such container. */
export function containerStatus(state: unknown): { state: string; health: string } {
  if (state === undefined || state === null || typeof state !== "object") return { state: "missing", health: "-" };
  const s = state as { Status?: unknown; Health?: { Status?: unknown } | null };
  return { state: typeof s.Status === "string" ? s.Status : "unknown", health: typeof s.Health?.Status === "string" ? s.Health.Status : "none" };
}

export const isServing = (row: TenantStatus) => row.state === "running" && row.health === "healthy";

/** The status table and its verdict: ok only when every tenant's container is running and healthy. */
export function renderStatus(stack: string, rows: readonly TenantStatus[]): { text: string; ok: boolean } {
  if (rows.length === 0) return { text: `stack ${stack} has no tenants\n`, ok: true };
  const sorted = [...rows].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
  const withDevices = sorted.some((r) => r.devices !== undefined);
  const table = formatTable(
    ["TENANT", "HOST", "PLAN", "STATE", "HEALTH", ...(withDevices ? ["DEVICES"] : []), "URL"],
    sorted.map((r) => [r.tenant, r.host, r.plan, r.state, r.health, ...(withDevices ? [r.devices === undefined ? "-" : String(r.devices)] : []), r.url]),
  );
  const failing = sorted.filter((r) => !isServing(r));
  const errors = sorted.filter((r) => r.error).map((r) => `  ${r.tenant}: ${r.error}`);
  const verdict =
    failing.length === 0
      ? `all ${sorted.length} tenants running and healthy`
      : `${failing.length} of ${sorted.length} tenants not running and healthy: ${failing.map((r) => `${r.tenant} (${r.state}${r.state === "running" ? `, ${r.health}` : ""})`).join(", ")}`;
  return { text: [table, "", verdict, ...errors].join("\n") + "\n", ok: failing.length === 0 };
}

/** A host that does not answer, or data on a host that no deployed tenant owns. */
export interface HostFinding {
  readonly host: string;
  readonly down?: string;
  /** Retained data directories no tenant of the stack owns on this host, with their sizes in bytes. */
  readonly unowned?: ReadonlyArray<{ tenant: string; bytes: number }>;
}

/** What to tell the operator about hosts: the lost ones with the command that recovers them, and unowned data. */
export function renderHostFindings(stack: string, findings: readonly HostFinding[]): string {
  const lines: string[] = [];
  for (const f of findings.filter((f) => f.down)) {
    lines.push(`host ${f.host} does not answer (${f.down}). If its server is lost: agentpod host replace ${f.host} --stack ${stack}`);
  }
  const unowned = findings.flatMap((f) => (f.unowned ?? []).map((u) => ({ host: f.host, ...u })));
  if (unowned.length > 0) {
    lines.push("retained data that no tenant owns (agentpod tenant purge <tenant> --host <host> deletes it; agentpod up --adopt <tenant> gives it back):");
    lines.push(formatTable(["  HOST", "TENANT", "SIZE"], unowned.map((u) => [`  ${u.host}`, u.tenant, formatBytes(u.bytes)])));
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}

/** One tenant's backups, as `status` shows them. */
export interface BackupRow {
  readonly tenant: string;
  readonly host: string;
  readonly verdict: BackupVerdict;
  /** Seconds since the last successful backup. */
  readonly age?: number;
  readonly record?: BackupRecord;
  readonly detail?: string;
}

/** A host's backup job: alive when its heartbeat is recent (it ticks every minute, and during a long run not at all). */
export function backupJobProblem(heartbeat: number | undefined, nowSeconds: number, intervalSeconds: number): string | undefined {
  if (heartbeat === undefined) return "its backup job has never run";
  const silent = nowSeconds - heartbeat;
  return silent > Math.max(2 * intervalSeconds, 15 * 60) ? `its backup job has not run for ${formatAge(silent)}` : undefined;
}

/** The backups table and its verdict: failing when a tenant's last run failed or its last success is too old. */
export function renderBackups(rows: readonly BackupRow[], nowSeconds: number): { text: string; ok: boolean } {
  if (rows.length === 0) return { text: "", ok: true };
  const sorted = [...rows].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
  const table = formatTable(
    ["TENANT", "LAST BACKUP (UTC)", "AGE", "SNAPSHOT", "BACKUP"],
    sorted.map((r) => [
      r.tenant,
      r.record?.lastSuccess ? new Date(r.record.lastSuccess * 1000).toISOString().slice(0, 19).replace("T", " ") : "-",
      r.age === undefined ? "-" : formatAge(r.age),
      r.record?.snapshot ? r.record.snapshot.slice(0, 8) : "-",
      r.verdict === "pending" ? "none yet" : r.verdict,
    ]),
  );
  const failing = sorted.filter((r) => isBackupFailing(r.verdict));
  const details = sorted.filter((r) => r.detail || r.record?.lastError).map((r) => `  ${r.tenant}: ${r.detail ?? `last backup failed ${formatAge(nowSeconds - (r.record?.lastRun ?? nowSeconds))} ago: ${r.record!.lastError}`}`);
  const verdict = failing.length === 0 ? "backups: every tenant's last backup is recent" : `backups failing for ${failing.map((r) => r.tenant).join(", ")}`;
  return { text: ["", table, "", verdict, ...details].join("\n") + "\n", ok: failing.length === 0 };
}

async function backupRows(context: import("./stackContext").StackContext, host: string, tenants: readonly string[]): Promise<BackupRow[]> {
  const shell = hostShell(context, host);
  const interval = context.settings.backup.schedule.intervalSeconds;
  const nowSeconds = Math.floor(Date.now() / 1000);
  const result = shell ? await runOnHost(shell, readBackupStatusScript(), { timeoutMs: 60_000 }) : undefined;
  if (!result || result.code !== 0) return tenants.map((tenant) => ({ tenant, host, verdict: "unknown", detail: `backup status of host ${host} unreadable` }));
  const { records, heartbeat } = parseBackupStatus(result.stdout);
  const job = backupJobProblem(heartbeat, nowSeconds, interval);
  return tenants.map((tenant) => {
    const record = records.find((r) => r.tenant === tenant);
    const { verdict, age } = backupVerdict(record, nowSeconds, interval);
    const stuck = job && !isBackupFailing(verdict) ? { verdict: "unknown" as const, detail: `host ${host}: ${job}` } : {};
    return { tenant, host, verdict, ...(age === undefined ? {} : { age }), ...(record ? { record } : {}), ...stuck };
  });
}

async function inspect(endpoint: string, container: string): Promise<{ state?: unknown; error?: string }> {
  const result = await dockerAt(endpoint, ["inspect", "--type", "container", "--format", "{{json .State}}", container]);
  if (result.code === 0) {
    try {
      return { state: JSON.parse(result.stdout) };
    } catch {
      return { error: "docker inspect printed no state" };
    }
  }
  if (/no such (container|object)/i.test(result.stderr)) return {};
  return { error: result.stderr.trim().split("\n")[0] || `exit ${result.code}` };
}

export const STATUS_USAGE = `agentpod status [--stack local] [--project DIR] [--json] [--devices]

The tenants of a running stack (from its outputs) with the state and health of each gateway container, read with
\`docker inspect\` on the tenant's host: for local stacks the local server's engine, for hetzner stacks
ssh://root@<host ipv4> with your own SSH key. Hosts that do not answer are named with the command that recovers
them (\`agentpod host replace\`); tenant data on a host that no deployed tenant owns is listed with its size.
  --stack <name>   the stack (default: local)
  --project <dir>  directory of Pulumi.yaml (default: this checkout)
  --json           print {tenants: [rows], hosts: [findings]} as JSON
  --devices        also the number of devices paired with each running gateway (who has access; asks each gateway,
                   a second or so per tenant)

It also shows each tenant's last successful backup and its age (from the status files of its host's backup job).

Exit status: 0 when every host answers, every tenant is running and healthy and its backups are not failing (the
last run failed, or the last success is older than twice agentpod:backupInterval), 1 otherwise (or when the stack
cannot be read), 2 bad usage.`;

export const statusCommand: Handler = (args) =>
  runCommand(STATUS_USAGE, async () => {
    const parsed = parseCommand(args, { stack: { type: "string", short: "s", default: "local" }, project: { type: "string" }, json: { type: "boolean" }, devices: { type: "boolean" } }, STATUS_USAGE);
    if (!parsed) return 0;
    const stackName = parsed.values.stack as string;
    const context = await openStackContext(stackName, parsed.values.project as string | undefined);
    if (Object.keys(context.tenants).length === 0 && Object.keys(context.hosts).length === 0) {
      throw new CommandError(`stack ${stackName} has no tenant outputs: run \`agentpod up --stack ${stackName}\` first`);
    }
    const hostNames = Object.keys(context.hosts).sort();
    const findings = await Promise.all(
      hostNames.map(async (host): Promise<HostFinding> => {
        const endpoint = hostEndpoint(context.settings, host, context.hosts);
        const alive = endpoint ? await engineAnswers(endpoint) : { ok: false, detail: "no address in the stack outputs" };
        if (!alive.ok) return { host, down: alive.detail };
        const shell = hostShell(context, host);
        const data = shell ? await tenantDataOn(shell) : undefined;
        const owned = new Set(Object.entries(context.tenants).filter(([, t]) => t.host === host).map(([name]) => name));
        return { host, unowned: [...(data ?? new Map())].filter(([tenant]) => !owned.has(tenant)).map(([tenant, bytes]) => ({ tenant, bytes })) };
      }),
    );
    const down = new Map(findings.filter((f) => f.down).map((f) => [f.host, f.down!]));
    const rows = await Promise.all(
      Object.entries(context.tenants).map(async ([tenant, out]): Promise<TenantStatus> => {
        const base = { tenant, host: out.host, plan: out.plan, url: out.url };
        if (down.has(out.host)) return { ...base, state: "down", health: "-", error: `host ${out.host} does not answer` };
        const endpoint = hostEndpoint(context.settings, out.host, context.hosts);
        if (!endpoint) return { ...base, state: "unknown", health: "-", error: `no address for host ${out.host} in the stack outputs` };
        const result = await inspect(endpoint, dockerNames(tenant, context.fleet).container);
        if (result.error) return { ...base, state: "unknown", health: "-", error: `${endpoint}: ${result.error}` };
        const status = { ...base, ...containerStatus(result.state) };
        if (!parsed.values.devices || !isServing(status)) return status;
        const devices = await pairedDevices(endpoint, dockerNames(tenant, context.fleet).container);
        return { ...status, ...(devices === undefined ? {} : { devices }) };
      }),
    );
    const rendered = renderStatus(stackName, rows);
    const backups = (
      await Promise.all(
        hostNames.filter((h) => !down.has(h)).map((host) => backupRows(context, host, Object.entries(context.tenants).filter(([, t]) => t.host === host).map(([name]) => name))),
      )
    ).flat();
    const backupText = renderBackups(backups, Math.floor(Date.now() / 1000));
    if (parsed.values.json) process.stdout.write(JSON.stringify({ tenants: rows, hosts: findings, backups }, null, 2) + "\n");
    else process.stdout.write(rendered.text + backupText.text + renderHostFindings(stackName, findings));
    return rendered.ok && backupText.ok && down.size === 0 ? 0 : 1;
  });
