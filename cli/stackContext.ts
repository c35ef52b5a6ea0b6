/**
 * What the commands that act on a running fleet share: the stack's settings (from its config), its outputs (tenants
 * and hosts), and how to reach each host: its Docker endpoint and its root shell. Also the checks they all make
 * before touching a host: does its engine answer, and whose data is on it.
 */
import { execFile } from "node:child_process";
import { localServerEndpoint, localServerNames } from "../fleet/localServers";
import { listTenantDataScript } from "../fleet/hostScripts";
import type { StackSettings } from "../fleet/settings";
import { DEFAULT_FLEET } from "../fleet/traefik";
export { formatBytes } from "../fleet/units";
import type { HostShell } from "../providers/hostShell";
import { runOnHost } from "../providers/hostShell";
import { dockerCommand } from "../providers/dockerCli";

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
  /** Host outputs: a Hetzner host's address and its pinned SSH host key. */
  readonly hosts: Readonly<Record<string, { ipv4?: string; sshHostKey?: string }>>;
  /** The fleet's stacks (cli/fleetStacks.ts): its own, and one per host and per tenant. */
  readonly stacks: import("./fleetStacks").Fleet;
}

export async function openStackContext(stackName: string, project: string | undefined): Promise<StackContext> {
  const { openFleet } = await import("./fleetStacks");
  return stackContextOf(await openFleet(stackName, project));
}

/** What the commands read of an open fleet: its settings and the tenants and hosts its record lists. */
export function stackContextOf(stacks: import("./fleetStacks").Fleet): StackContext {
  const { outputs, settings } = stacks;
  const hosts = (outputs.hosts?.value ?? {}) as Record<string, { ipv4?: string; sshHostKey?: string }>;
  for (const host of Object.values(hosts)) if (host.ipv4 && host.sshHostKey) pinnedKeys.set(`ssh://root@${host.ipv4}`, host.sshHostKey);
  return {
    stackName: stacks.name,
    projectDir: stacks.projectDir,
    settings,
    fleet: settings.target === "local" ? settings.fleet : DEFAULT_FLEET,
    tenants: (outputs.tenants?.value ?? {}) as Record<string, StackTenantOutput>,
    hosts,
    stacks,
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
  const { ipv4, sshHostKey } = context.hosts[host] ?? {};
  return ipv4 && sshHostKey ? { kind: "ssh", address: ipv4, user: "root", hostKey: sshHostKey } : undefined;
}

/**
 * The pinned SSH host keys of the stacks this process opened, by Docker endpoint (ssh://root@<ipv4>), from the
 * stack's outputs: the docker CLI reaches an ssh:// engine only through a connection pinned to its key.
 */
const pinnedKeys = new Map<string, string>();

/** Runs the docker CLI against an endpoint; never rejects. */
export function dockerAt(endpoint: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let command;
    try {
      command = dockerCommand(endpoint, args, pinnedKeys.get(endpoint));
    } catch (error) {
      resolve({ code: 1, stdout: "", stderr: error instanceof Error ? error.message : String(error) });
      return;
    }
    execFile(command.file, command.args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
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

