/**
 * Runs the docker CLI against a given engine ("unix:///var/run/docker.sock", "ssh://root@203.0.113.7"). Used by the
 * dynamic providers for the two operations the Docker provider has no attribute for (a container's pids limit,
 * connecting the proxy to a network without recreating it) and by the CLI.
 *
 * An ssh:// engine is never reached by `docker --host ssh://...`: that runs the machine's own ssh with its own
 * known_hosts. The docker CLI runs on the host instead, over SSH pinned to the host's key (fleet/sshHostKeys.ts),
 * and without a pinned key the call is refused.
 *
 * Dynamic provider code is serialized into the Pulumi state and run by the engine's Node.js provider host, so these
 * functions require the built-in module they need themselves rather than capturing an import.
 */
import { pinnedHostKeyOptions } from "../fleet/sshHostKeys";

/** POSIX single-quoting of one word for a remote shell. */
const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** The command line that runs `docker <args>` on an engine. Pure; tested. */
export function dockerCommand(endpoint: string, args: readonly string[], hostKey?: string): { file: string; args: string[] } {
  if (!endpoint.startsWith("ssh://")) return { file: "docker", args: ["--host", endpoint, ...args] };
  if (!hostKey) throw new Error(`refusing to reach ${endpoint} without its pinned SSH host key (run \`agentpod up\` so the stack records it)`);
  const target = new URL(endpoint);
  return {
    file: "ssh",
    args: [
      ...pinnedHostKeyOptions(hostKey),
      ...["-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "ControlMaster=auto", "-o", "ControlPath=~/.ssh/agentpod-%C", "-o", "ControlPersist=120"],
      ...(target.port ? ["-p", target.port] : []),
      `${target.username || "root"}@${target.hostname}`,
      ["docker", ...args].map(quote).join(" "),
    ],
  };
}

export async function docker(endpoint: string, args: string[], hostKey?: string): Promise<{ stdout: string; stderr: string }> {
  const { execFile } = require("node:child_process") as typeof import("node:child_process");
  const command = dockerCommand(endpoint, args, hostKey);
  return new Promise((resolve, reject) => {
    execFile(command.file, command.args, { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker ${args.join(" ")} failed on ${endpoint}: ${String(stderr).trim() || error.message}`));
      else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
