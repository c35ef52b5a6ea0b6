/**
 * What the commands that act on a running fleet share: the stack's settings (from its config), its outputs (tenants
 * and hosts), and how to reach each host: its Docker endpoint and its root shell. Also the checks they all make
 * before touching a host: does its engine answer, and whose data is on it.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { localServerEndpoint, localServerNames } from "../fleet/localServers";
import { listTenantDataScript } from "../fleet/hostScripts";
import { parseSettings, type StackSettings } from "../fleet/settings";
import { DEFAULT_FLEET } from "../fleet/traefik";
export { formatBytes } from "../fleet/units";
import type { HostShell } from "../providers/hostShell";
import { runOnHost } from "../providers/hostShell";
import { CommandError } from "./shared";

export interface StackTenantOutput {
  url: string;
  host: string;
  plan: string;
}

export interface StackContext {
  readonly stackName: string;
  readonly projectDir: string;
  readonly settings: StackSettings;
  /** Docker object prefix on the hosts. */
  readonly fleet: string;
  readonly tenants: Readonly<Record<string, StackTenantOutput>>;
  readonly hosts: Readonly<Record<string, { ipv4?: string }>>;
  readonly stack: import("@pulumi/pulumi/automation").Stack;
}

export async function openStackContext(stackName: string, project: string | undefined): Promise<StackContext> {
  const { openStack, PROJECT_DIR } = await import("./engine");
  const projectDir = project ? path.resolve(project) : PROJECT_DIR;
  const stack = await openStack({ stack: stackName, projectDir });
  const outputs = await stack.outputs();
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
  return {
    stackName,
    projectDir,
    settings,
    fleet: settings.target === "local" ? settings.fleet : DEFAULT_FLEET,
    tenants: (outputs.tenants?.value ?? {}) as Record<string, StackTenantOutput>,
    hosts: (outputs.hosts?.value ?? {}) as Record<string, { ipv4?: string }>,
    stack,
  };
}

/** The Docker endpoint of a host, as the stack reaches it. */
export function hostEndpoint(settings: StackSettings, host: string, hostOutputs: Readonly<Record<string, { ipv4?: string }>>): string | undefined {
  if (settings.target === "local") return localServerEndpoint(settings.fleet, host);
  const ipv4 = hostOutputs[host]?.ipv4;
  return ipv4 ? `ssh://root@${ipv4}` : undefined;
}

/** The root shell of a host. */
export function hostShell(context: Pick<StackContext, "settings" | "hosts">, host: string): HostShell | undefined {
  const { settings } = context;
  if (settings.target === "local") return { kind: "docker-exec", engine: settings.dockerHost, container: localServerNames(settings.fleet, host).container };
  const ipv4 = context.hosts[host]?.ipv4;
  return ipv4 ? { kind: "ssh", address: ipv4, user: "root" } : undefined;
}

/** Runs the docker CLI against an endpoint; never rejects. */
export function dockerAt(endpoint: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("docker", ["--host", endpoint, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

/** Whether a host's engine answers, and if not, what it said. */
export async function engineAnswers(endpoint: string): Promise<{ ok: boolean; detail: string }> {
  const result = await dockerAt(endpoint, ["version", "--format", "{{.Server.Version}}"], 20_000);
  return result.code === 0 ? { ok: true, detail: result.stdout.trim() } : { ok: false, detail: result.stderr.trim().split("\n")[0] || `exit ${result.code}` };
}

/** The tenant data directories on a host, with their sizes; undefined when the host's shell does not answer. */
export async function tenantDataOn(shell: HostShell): Promise<Map<string, number> | undefined> {
  const result = await runOnHost(shell, listTenantDataScript(), { timeoutMs: 60_000 });
  if (result.code !== 0) return undefined;
  const entries = result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split("\t") as [string, string]);
  return new Map(entries.map(([bytes, name]) => [name, Number(bytes)]));
}

