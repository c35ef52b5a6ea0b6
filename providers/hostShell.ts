/**
 * A host's root shell, whatever the host is: a local server is reached with `docker exec` on this machine's engine,
 * a Hetzner server with SSH as root. The dynamic resources (readiness, tenant data) and the CLI (moves, purge,
 * status) all run their scripts (fleet/hostScripts.ts) through this one place.
 *
 * Dynamic provider code is serialized into the state and run by the engine's Node.js provider host: this module
 * requires the built-ins it needs inside its functions, and the transport is plain data.
 */
import { pinnedHostKeyOptions } from "../fleet/sshHostKeys";

export type HostShell =
  /** A local server: a container on this machine's engine. */
  | { readonly kind: "docker-exec"; readonly engine: string; readonly container: string }
  /**
   * A Hetzner server: root over SSH with the identity of the machine that runs AgentPod, verified against the host
   * key the program pinned (fleet/sshHostKeys.ts) and no other.
   */
  | { readonly kind: "ssh"; readonly address: string; readonly user: string; readonly hostKey: string };

/** POSIX single-quoting, for the one transport (SSH) whose remote command is a string. */
export const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** The command line that runs `script` on the host, with stdin passed through. Pure; tested. */
export function hostShellArgv(shell: HostShell, script: string): { file: string; args: string[] } {
  if (shell.kind === "docker-exec") return { file: "docker", args: ["--host", shell.engine, "exec", "-i", shell.container, "sh", "-c", script] };
  return {
    file: "ssh",
    args: [
      ...pinnedHostKeyOptions(shell.hostKey),
      ...["-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "ControlMaster=auto", "-o", "ControlPath=~/.ssh/agentpod-%C", "-o", "ControlPersist=120"],
      `${shell.user}@${shell.address}`,
      `sh -c ${shellQuote(script)}`,
    ],
  };
}

export interface ShellResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a script on the host; resolves with its exit status (never rejects for a non-zero exit). */
export function runOnHost(shell: HostShell, script: string, options: { input?: string; timeoutMs?: number } = {}): Promise<ShellResult> {
  const { spawn } = require("node:child_process") as typeof import("node:child_process");
  const { file, args } = hostShellArgv(shell, script);
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 180_000);
    child.stdout.on("data", (chunk) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk) => (stderr += String(chunk)));
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(error) });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Where a shell's host is, for messages. */
export const describeShell = (shell: HostShell) => (shell.kind === "docker-exec" ? `server container ${shell.container}` : `${shell.user}@${shell.address}`);
