/**
 * Runs the docker CLI against a given engine ("unix:///var/run/docker.sock", "ssh://root@203.0.113.7"). Used by the
 * dynamic providers for the two operations the Docker provider has no attribute for: a container's pids limit and
 * connecting an existing container (the proxy) to a network without recreating it.
 *
 * Dynamic provider code is serialized into the Pulumi state and run by the engine's Node.js provider host, so
 * this function requires the built-in module it needs itself rather than capturing an import.
 */
export async function docker(host: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const { execFile } = require("node:child_process") as typeof import("node:child_process");
  return new Promise((resolve, reject) => {
    execFile("docker", ["--host", host, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker ${args.join(" ")} failed on ${host}: ${String(stderr).trim() || error.message}`));
      else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
