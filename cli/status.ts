/**
 * `agentpod status`: the tenants of a running stack and the state and health of their containers. The tenant list,
 * hosts and URLs come from the stack's outputs (cli/engine.ts); the state from `docker inspect <fleet>-<tenant>` on
 * the tenant's host (for `local`, the Docker endpoint the stack is configured with; for `hetzner`, ssh://root@<ipv4>
 * with the operator's own SSH key). The table and the verdict are pure functions, tested without a stack.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { dockerNames } from "../fleet/gateway";
import { parseSettings, type StackSettings } from "../fleet/settings";
import { DEFAULT_FLEET } from "../fleet/traefik";
import { CommandError, formatTable, parseCommand, runCommand, type Handler } from "./tenant";

export interface TenantStatus {
  readonly tenant: string;
  readonly host: string;
  readonly plan: string;
  readonly url: string;
  /** Docker's container state ("running", "exited", "restarting"...), "missing", or "unknown" when the host did not answer. */
  readonly state: string;
  /** Docker's health status ("healthy", "unhealthy", "starting"), "none" without a health check, "-" without a container. */
  readonly health: string;
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
  const table = formatTable(
    ["TENANT", "HOST", "PLAN", "STATE", "HEALTH", "URL"],
    sorted.map((r) => [r.tenant, r.host, r.plan, r.state, r.health, r.url]),
  );
  const failing = sorted.filter((r) => !isServing(r));
  const errors = sorted.filter((r) => r.error).map((r) => `  ${r.tenant}: ${r.error}`);
  const verdict =
    failing.length === 0
      ? `all ${sorted.length} tenants running and healthy`
      : `${failing.length} of ${sorted.length} tenants not running and healthy: ${failing.map((r) => `${r.tenant} (${r.state}${r.state === "running" ? `, ${r.health}` : ""})`).join(", ")}`;
  return { text: [table, "", verdict, ...errors].join("\n") + "\n", ok: failing.length === 0 };
}

export interface StackTenantOutput {
  url: string;
  host: string;
  plan: string;
}

/** The Docker endpoint of a host, as the stack reaches it. */
export function hostEndpoint(settings: StackSettings, host: string, hostOutputs: Record<string, { ipv4?: string }>): string | undefined {
  if (settings.target === "local") return settings.dockerHosts[host] ?? settings.dockerHost;
  const ipv4 = hostOutputs[host]?.ipv4;
  return ipv4 ? `ssh://root@${ipv4}` : undefined;
}

function inspect(endpoint: string, container: string): Promise<{ state?: unknown; error?: string }> {
  return new Promise((resolve) => {
    execFile("docker", ["--host", endpoint, "inspect", "--type", "container", "--format", "{{json .State}}", container], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (!error) {
        try {
          resolve({ state: JSON.parse(String(stdout)) });
        } catch {
          resolve({ error: `docker inspect printed no state` });
        }
      } else if (/no such (container|object)/i.test(String(stderr))) resolve({});
      else resolve({ error: String(stderr).trim().split("\n")[0] || error.message });
    });
  });
}

export const STATUS_USAGE = `agentpod status [--stack local] [--project DIR] [--json]

The tenants of a running stack (from its outputs) with the state and health of each gateway container, read with
\`docker inspect\` on the tenant's host: for local stacks the configured Docker endpoint, for hetzner stacks
ssh://root@<host ipv4> with your own SSH key.
  --stack <name>   the stack (default: local)
  --project <dir>  directory of Pulumi.yaml (default: this checkout)
  --json           print the rows as JSON

Exit status: 0 when every tenant is running and healthy, 1 otherwise (or when the stack cannot be read), 2 bad usage.`;

export const statusCommand: Handler = (args) =>
  runCommand(STATUS_USAGE, async () => {
    const parsed = parseCommand(args, { stack: { type: "string", short: "s", default: "local" }, project: { type: "string" }, json: { type: "boolean" } }, STATUS_USAGE);
    if (!parsed) return 0;
    const stackName = parsed.values.stack as string;
    const { openStack } = await import("./engine");
    const project = parsed.values.project as string | undefined;
    const stack = await openStack({ stack: stackName, ...(project ? { projectDir: path.resolve(project) } : {}) });
    const outputs = await stack.outputs();
    if (!outputs.tenants) throw new CommandError(`stack ${stackName} has no tenant outputs: run \`agentpod up --stack ${stackName}\` first`);
    const tenants = outputs.tenants.value as Record<string, StackTenantOutput>;
    const hostOutputs = (outputs.hosts?.value ?? {}) as Record<string, { ipv4?: string }>;

    const config = await stack.getAllConfig();
    const values: Record<string, string> = {};
    const secretsSet = new Set<string>();
    for (const [key, entry] of Object.entries(config)) {
      if (!key.startsWith("agentpod:")) continue;
      values[key.slice("agentpod:".length)] = entry.value;
      if (entry.secret) secretsSet.add(key.slice("agentpod:".length));
    }
    let settings: StackSettings;
    try {
      settings = parseSettings({ stack: stackName, values, secretsSet });
    } catch (error) {
      throw new CommandError(error instanceof Error ? error.message : String(error));
    }
    const fleet = settings.target === "local" ? settings.fleet : DEFAULT_FLEET;

    const rows = await Promise.all(
      Object.entries(tenants).map(async ([tenant, out]): Promise<TenantStatus> => {
        const base = { tenant, host: out.host, plan: out.plan, url: out.url };
        const endpoint = hostEndpoint(settings, out.host, hostOutputs);
        if (!endpoint) return { ...base, state: "unknown", health: "-", error: `no address for host ${out.host} in the stack outputs` };
        const result = await inspect(endpoint, dockerNames(tenant, fleet).container);
        if (result.error) return { ...base, state: "unknown", health: "-", error: `${endpoint}: ${result.error}` };
        return { ...base, ...containerStatus(result.state) };
      }),
    );
    const rendered = renderStatus(stackName, rows);
    process.stdout.write(parsed.values.json ? JSON.stringify(rows, null, 2) + "\n" : rendered.text);
    return rendered.ok ? 0 : 1;
  });
