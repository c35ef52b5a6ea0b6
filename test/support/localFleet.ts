/**
 * Helpers for the end-to-end suite: a throwaway project (its own state, its own fleet prefix and port) driven
 * through bin/agentpod on the real engine, plus Docker and HTTP/WebSocket probes through the real Traefik.
 */
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as tls from "node:tls";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import WebSocket from "ws";
import { getThroughProxy, type ProxyAnswer } from "../../cli/httpProbe";
import { LOCAL_ZONE, defaultHostAddress, localServerEndpoint } from "../../fleet/localServers";

export const REPO = path.resolve(__dirname, "..", "..");
const AGENTPOD = path.join(REPO, "bin", "agentpod");

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface LocalFleet {
  dir: string;
  stack: string;
  fleet: string;
  /** HTTP port of every host's proxy: it only redirects to `httpsPort`. */
  port: number;
  /** HTTPS port of every host's proxy, where tenants answer. */
  httpsPort: number;
  /** The Docker endpoint of a host's own engine (its local server). */
  engine(host: string): string;
  /** The loopback address where a host's proxy listens. */
  address(host: string): string;
  /** The docker CLI on a host's own engine. */
  docker(host: string, args: string[], options?: { allowFailure?: boolean }): string;
  /** A shell command inside a container on a host's engine. */
  execIn(host: string, container: string, script: string): string;
  writeTenants(yaml: string): void;
  /** Sets (or replaces) one `agentpod:` setting in the stack file. */
  setConfig(key: string, value: string): void;
  /** Runs bin/agentpod on this fleet; a command still running after `timeoutMs` (default 15 min) is killed and fails. */
  agentpod(args: string[], options?: { allowFailure?: boolean; timeoutMs?: number }): CommandResult;
  /**
   * The same, without blocking this process: probe loops and watchers in the test keep running while the command
   * does (a synchronous call would freeze them, and their timers would fire as failures when it returns).
   */
  agentpodAsync(args: string[], options?: { allowFailure?: boolean }): Promise<CommandResult>;
  dispose(): void;
}

const COMMAND_TIMEOUT_MS = 15 * 60_000;

function checked(args: string[], out: CommandResult, allowFailure: boolean): CommandResult {
  if (out.status !== 0 && !allowFailure) throw new Error(`agentpod ${args.join(" ")} failed (${out.status}):\n${out.stdout.slice(-4000)}\n${out.stderr.slice(-4000)}`);
  return out;
}

/**
 * A tenants file with one host and the given tenants, each gateway capped at half a core: on this 2-core machine a
 * test fleet must not starve the rest.
 */
export const tenantsOnOneHost = (host: string, tenants: readonly string[]) => `
defaults:
  image: agentpod/openclaw:2026.9.6
  plan: small
plans:
  small: { cpus: 0.5, memory: 2Gi }
hosts:
  - { name: ${host}, location: fsn1, serverType: ccx33 }
tenants:
${tenants.map((name) => `  - { name: ${name}, host: ${host} }`).join("\n")}
`;

/** A tenant's default domain on the local target. */
export const localDomain = (tenant: string) => `${tenant}.${LOCAL_ZONE}`;

/** The HTTPS port of a test fleet whose HTTP port is `port` (as 8443 is to 8080). */
export const httpsPortFor = (port: number) => port + 363;

/** A project directory with Pulumi.yaml, a stack file and a tenants file, sharing this checkout's node_modules. */
export function createLocalFleet(options: { fleet: string; port: number; stack?: string }): LocalFleet {
  const httpsPort = httpsPortFor(options.port);
  const dir = mkdtempSync(path.join(tmpdir(), `agentpod-${options.fleet}-`));
  const stack = options.stack ?? `local-${options.fleet}`;
  symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  // The program runs inline (cli/engine.ts), so the project needs no main file of its own.
  writeFileSync(path.join(dir, "Pulumi.yaml"), "name: agentpod\nruntime: nodejs\n");
  const config: Record<string, string> = {
    target: "local",
    tenantsFile: "tenants.yaml",
    fleet: options.fleet,
    httpPort: `"${options.port}"`,
    httpsPort: `"${httpsPort}"`,
    traefikImage: "agentpod/traefik:v3.7.15",
  };
  const writeStackFile = () =>
    writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), ["config:", ...Object.entries(config).map(([key, value]) => `  agentpod:${key}: ${value}`), ""].join("\n"));
  writeStackFile();
  return {
    dir,
    stack,
    fleet: options.fleet,
    port: options.port,
    httpsPort,
    engine: (host) => localServerEndpoint(options.fleet, host),
    address: (host) => defaultHostAddress(host),
    docker: (host, args, dockerOptions) => docker(["--host", localServerEndpoint(options.fleet, host), ...args], dockerOptions),
    execIn: (host, container, script) => execFileSync("docker", ["--host", localServerEndpoint(options.fleet, host), "exec", container, "sh", "-c", script], { encoding: "utf8" }),
    writeTenants: (yaml) => writeFileSync(path.join(dir, "tenants.yaml"), yaml),
    setConfig(key, value) {
      config[key] = value;
      writeStackFile();
    },
    agentpod(args, { allowFailure = false, timeoutMs = COMMAND_TIMEOUT_MS } = {}) {
      const result = spawnSync(AGENTPOD, [...args, "--stack", stack, "--project", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs });
      return checked(args, { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr }, allowFailure);
    },
    agentpodAsync(args, { allowFailure = false } = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(AGENTPOD, [...args, "--stack", stack, "--project", dir], { stdio: ["ignore", "pipe", "pipe"], timeout: COMMAND_TIMEOUT_MS });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += String(chunk)));
        child.stderr.on("data", (chunk) => (stderr += String(chunk)));
        child.on("error", reject);
        child.on("close", (code) => {
          try {
            resolve(checked(args, { status: code ?? -1, stdout, stderr }, allowFailure));
          } catch (error) {
            reject(error);
          }
        });
      });
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function docker(args: string[], options: { allowFailure?: boolean } = {}): string {
  const result = spawnSync("docker", args, { encoding: "utf8" });
  if (result.status !== 0 && !options.allowFailure) throw new Error(`docker ${args.join(" ")}: ${result.stderr}`);
  return result.status === 0 ? result.stdout.trim() : "";
}

/** The docker CLI without blocking this process (for long calls made while a probe loop runs). */
export function dockerAsync(args: string[], options: { allowFailure?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("docker", args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && !options.allowFailure) reject(new Error(`docker ${args.join(" ")}: ${stderr}`));
      else resolve(error ? "" : String(stdout).trim());
    });
  });
}

export const inspect = (name: string, format: string) => docker(["inspect", name, "--format", format], { allowFailure: true });

/**
 * Removes a fleet prefix's local servers with their disks and data volumes (everything on their engines goes with
 * them), from this machine's engine, and the fleet's backup repository: the suite starts and ends clean.
 */
export function removeFleetObjects(fleet: string): void {
  const ids = (kind: string, filter: string[]) => docker([kind, "ls", "-q", ...filter], { allowFailure: true }).split("\n").filter(Boolean);
  const containers = ids("container", ["-a", "--filter", `name=^${fleet}-host-`]);
  if (containers.length) docker(["rm", "-f", ...containers], { allowFailure: true });
  const volumes = ids("volume", ["--filter", `name=^${fleet}-host-`]);
  if (volumes.length) docker(["volume", "rm", "-f", ...volumes], { allowFailure: true });
  // The fleet's backup repository in the local object store: encrypted with the key of a stack that is gone, a new
  // stack of the same fleet could not open it.
  docker(["run", "--rm", "-v", "agentpod-s3-data:/data", "--entrypoint", "rm", "agentpod/debian-base:bookworm", "-rf", `/data/agentpod-backups/${fleet}`], { allowFailure: true });
}

/** Ends a throwaway fleet: its stack destroyed, its servers, volumes and backup repository removed, its project deleted. */
export function tearDownFleet(fleet: LocalFleet | undefined): void {
  if (!fleet) return;
  fleet.agentpod(["destroy", "--yes"], { allowFailure: true });
  removeFleetObjects(fleet.fleet);
  fleet.dispose();
}

let caBundle: string | undefined;
/**
 * The CA bundle local certificates chain to, as a user gets it: `agentpod ca` (Pebble's roots). Read once per test
 * file; set-up keeps Pebble running, so its root does not change under a test.
 */
export function localCa(): string {
  caBundle ??= readFileSync(execFileSync(AGENTPOD, ["ca"], { encoding: "utf8" }).trim(), "utf8");
  return caBundle;
}

/**
 * The certificate chain a host's proxy presents for `name` (SNI), verified against `ca` as any client would
 * (undefined: against Node's own roots only).
 */
export function servedCertificate(address: string, port: number, name: string, ca: string | undefined) {
  return new Promise<{ authorized: boolean; error?: string; certificate?: tls.DetailedPeerCertificate }>((resolve) => {
    const socket = tls.connect({ host: address, port, servername: name, ...(ca ? { ca } : {}), timeout: 10_000 }, () => {
      resolve({ authorized: socket.authorized, certificate: socket.getPeerCertificate(true) });
      socket.end();
    });
    socket.on("error", (error) => resolve({ authorized: false, error: (error as NodeJS.ErrnoException).code ?? error.message }));
    socket.on("timeout", () => socket.destroy(new Error("timeout")));
  });
}

/**
 * An HTTPS GET through a host's Traefik with the given host name, like a browser on https://<host>:<port> that
 * trusts the local CA (SNI and Host both the name). `scheme: "http"` asks the HTTP port instead (it redirects).
 */
export function getVia(port: number, host: string, pathname: string, address = "127.0.0.1", scheme: "https" | "http" = "https"): Promise<ProxyAnswer> {
  return getThroughProxy({ address, port, host, path: pathname, scheme, ...(scheme === "https" ? { ca: localCa() } : {}) });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export interface HandshakeResult {
  challenge: boolean;
  ok: boolean;
  /** hello-ok payload type, or the error code. */
  outcome: string;
}

/**
 * The gateway's WebSocket handshake through Traefik: wait for connect.challenge, send connect with a token, read
 * the answer (hello-ok, or an error such as AUTH_TOKEN_MISMATCH).
 */
export function handshake(port: number, host: string, token: string, address = "127.0.0.1"): Promise<HandshakeResult> {
  return new Promise((resolve, reject) => {
    // <tenant>.localhost resolves to the host's own loopback address here, whatever the machine's resolver says.
    const lookup = (_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
      options?.all ? callback(null, [{ address, family: 4 }]) : callback(null, address, 4);
    const ws = new WebSocket(`wss://${host}:${port}/`, { lookup, ca: localCa() } as WebSocket.ClientOptions);
    let challenge = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no handshake answer from ${host}`));
    }, 20_000);
    const finish = (result: HandshakeResult) => {
      clearTimeout(timer);
      ws.close();
      resolve(result);
    };
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === "event" && frame.event === "connect.challenge") {
        challenge = true;
        ws.send(
          JSON.stringify({
            type: "req",
            id: "c1",
            method: "connect",
            params: {
              minProtocol: 4,
              maxProtocol: 4,
              client: { id: "cli", version: "0.0.1", platform: "linux", mode: "cli" },
              role: "operator",
              scopes: ["operator.read"],
              caps: [],
              auth: { token },
              locale: "en-US",
              userAgent: "agentpod-e2e/0.1",
            },
          }),
        );
      } else if (frame.type === "res" && frame.id === "c1") {
        finish({ challenge, ok: frame.ok === true, outcome: frame.ok ? frame.payload?.type : (frame.error?.details?.code ?? frame.error?.code ?? "error") });
      }
    });
    ws.on("close", (code, reason) => finish({ challenge, ok: false, outcome: `closed ${code} ${String(reason)}` }));
    ws.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export function stepsOf(previewJson: string): Array<{ op: string; name: string; type: string }> {
  return JSON.parse(previewJson).steps;
}

/**
 * A TCP connection attempt from inside a container, with the Node.js every tenant image has: "open", "timeout"
 * (dropped) or the error code ("ECONNREFUSED", ...). The same probe is run where it must succeed (a positive
 * control), so a broken probe cannot pass for a fence.
 */
export const tcpProbeScript = (address: string, port: number) =>
  `node -e "const s=require('net').connect({host:'${address}',port:${port},timeout:3000});` +
  `s.on('connect',()=>{console.log('open');s.destroy()});s.on('timeout',()=>{console.log('timeout');s.destroy()});s.on('error',e=>console.log(e.code))"`;

export const isPortFree = (port: number) => spawnSync("bash", ["-c", `! (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null`]).status === 0;
export const execIn = (container: string, script: string) => execFileSync("docker", ["exec", container, "sh", "-c", script], { encoding: "utf8" });

export interface ProbeTarget {
  port: number;
  host: string;
  address: string;
}

/**
 * Requests /healthz on each target every `intervalMs` until stopped (bounded by `maxMs`), and records every answer
 * that is not 200: the "no failed request during the whole drill" check. `during` counts the requests answered in a
 * time window (epoch ms), so a test can prove the loop was running while the operation it watches was.
 *
 * The loop runs in a worker thread: the test's own synchronous calls (docker, openclaw in a container) block its
 * event loop for seconds, which would freeze an in-process loop and fail its in-flight probes when they return.
 */
export function probeLoop(targets: readonly ProbeTarget[], intervalMs = 250, maxMs = 20 * 60_000) {
  const worker = new Worker(PROBE_WORKER, { eval: true, workerData: { targets, intervalMs, maxMs, ca: localCa() } });
  const finished = new Promise<{ answeredAt: number[]; failures: Array<{ at: number; host: string; status: number; body: string }> }>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    async stop() {
      worker.postMessage("stop");
      const { answeredAt, failures } = await finished;
      await worker.terminate();
      const during = (window: { started: number; ended: number }) => answeredAt.filter((at) => at >= window.started && at <= window.ended).length;
      return { requests: answeredAt.length, failures, during };
    },
  };
}

/** The probe loop's worker (plain JavaScript: a worker thread runs it as it is). Same request as getVia. */
const PROBE_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const https = require("node:https");
const { targets, intervalMs, maxMs, ca } = workerData;
const started = Date.now();
const answeredAt = [];
const failures = [];
let running = true;
parentPort.on("message", () => (running = false));
const get = (t) => new Promise((resolve) => {
  const request = https.get({ host: t.address, port: t.port, path: "/healthz", headers: { host: t.host + ":" + t.port }, servername: t.host, ca, timeout: 10000, agent: false }, (response) => {
    let body = "";
    response.setEncoding("utf8");
    response.on("data", (chunk) => (body += chunk));
    response.on("end", () => resolve({ status: response.statusCode || 0, body }));
  });
  request.on("timeout", () => request.destroy(new Error("timeout")));
  request.on("error", (error) => resolve({ status: 0, body: String(error) }));
});
(async () => {
  while (running && Date.now() - started < maxMs) {
    const answers = await Promise.all(targets.map(async (t) => ({ t, answer: await get(t) })));
    for (const { t, answer } of answers) {
      answeredAt.push(Date.now());
      if (answer.status !== 200) failures.push({ at: Date.now() - started, host: t.host, status: answer.status, body: answer.body.slice(0, 200) });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  parentPort.postMessage({ answeredAt, failures });
})();
`;
