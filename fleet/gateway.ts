/**
 * What a tenant's OpenClaw gateway is told, as plain data: its config file, its labels for Traefik, its health probe.
 * Facts from notes/openclaw.md: port 18789 serves HTTP, WebSocket and the Control UI; behind a proxy the gateway
 * needs `gateway.trustedProxies` (else 403 proxy_attribution_required) and `gateway.controlUi.allowedOrigins` with
 * the public origin (else the WebSocket closes with 1008).
 */
import { createHmac } from "node:crypto";
import { GATEWAY_PORT } from "./catalog";

/** Where the gateway keeps its state; the tenant's data volume is mounted here. */
export const GATEWAY_STATE_DIR = "/home/node/.openclaw";
/**
 * The folder of the config AgentPod renders: a directory of the host (fleet/hostScripts.ts gatewayConfigDir)
 * mounted read-only, outside the data volume so tenant data and managed settings never mix.
 */
export const GATEWAY_CONFIG_DIR = "/etc/agentpod";
export const GATEWAY_CONFIG_FILE = "openclaw.json";
export const GATEWAY_CONFIG_PATH = `${GATEWAY_CONFIG_DIR}/${GATEWAY_CONFIG_FILE}`;
export const GATEWAY_USER = "1000:1000";
/** Foreground gateway on all interfaces of its container, run in /app as in the official image. */
export const GATEWAY_WORKDIR = "/app";
export const GATEWAY_COMMAND = ["node", "dist/index.js", "gateway", "--bind", "lan", "--port", String(GATEWAY_PORT)];

/**
 * The gateway's root filesystem is read-only; these are its only writable places besides the state directory,
 * measured with the real gateway (openclaw 2026.9.6) running read-only through health, a WebSocket handshake with the
 * official client, `devices list`, `cron list` and the Control UI's pairing (docs/readonly-gateway.md):
 * - /tmp: its log file (/tmp/openclaw/*.log), lock files and terminal staging, a few KiB;
 * - ~/.cache: /home/node/.cache/openclaw, created empty at start.
 * Everything else it keeps (SQLite state, devices, cron, credentials, the Control UI asset cache, its own tmp
 * locks) is under OPENCLAW_STATE_DIR, on the data volume. Nothing runs from either tmpfs, so both are noexec. Their
 * pages count against the container's memory limit, hence small fixed sizes.
 */
export const GATEWAY_TMPFS: Readonly<Record<string, string>> = {
  "/tmp": "rw,noexec,nosuid,nodev,size=64m",
  "/home/node/.cache": "rw,noexec,nosuid,nodev,size=64m,uid=1000,gid=1000,mode=0700",
};

/**
 * A digest of the gateway's config that a change of the config changes, and that says nothing about it: an HMAC keyed
 * with the gateway's token (a secret of the same tenant, already a container input), so even a config that carries a
 * secret cannot be guessed back from the label that carries the digest (CONFIG_DIGEST_LABEL).
 */
export function gatewayConfigDigest(config: string, key: string): string {
  return createHmac("sha256", key).update(config).digest("hex");
}

/**
 * Environment every gateway gets besides its secrets. The config is managed by AgentPod: OPENCLAW_CONFIG_READONLY
 * makes `openclaw config set` refuse with a message that names the external source (without it, the write fails on
 * the read-only mount with EROFS). The state directory is named explicitly, else the gateway derives it from the
 * config's folder.
 */
export const GATEWAY_ENV = [
  `OPENCLAW_CONFIG_PATH=${GATEWAY_CONFIG_PATH}`,
  "OPENCLAW_CONFIG_READONLY=1",
  `OPENCLAW_STATE_DIR=${GATEWAY_STATE_DIR}`,
  "OPENCLAW_DISABLE_BONJOUR=1",
  "OPENCLAW_NO_AUTO_UPDATE=1",
];

export interface GatewayConfigInput {
  /** Public origin of the Control UI, e.g. "https://acme.agents.example.com" or "https://acme.agents.localhost:8443". */
  readonly publicOrigin: string;
  /** Address ranges the proxy's requests come from (the tenant network's subnet). */
  readonly trustedProxies: readonly string[];
}

export function renderGatewayConfig(input: GatewayConfigInput): string {
  const config = {
    gateway: {
      mode: "local",
      bind: "lan",
      port: GATEWAY_PORT,
      auth: { mode: "token" }, // the token itself comes from OPENCLAW_GATEWAY_TOKEN, a Pulumi secret
      trustedProxies: [...input.trustedProxies],
      controlUi: { allowedOrigins: [input.publicOrigin] },
    },
  };
  return JSON.stringify(config, null, 2) + "\n";
}

export function publicOrigin(domain: string, scheme: "https" | "http", port?: number): string {
  const defaultPort = scheme === "https" ? 443 : 80;
  return port === undefined || port === defaultPort ? `${scheme}://${domain}` : `${scheme}://${domain}:${port}`;
}

/** Docker healthcheck: GET /healthz inside the container, with the Node.js the image already has. */
export const GATEWAY_HEALTHCHECK = [
  "CMD",
  "node",
  "-e",
  `fetch('http://127.0.0.1:${GATEWAY_PORT}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
];

/**
 * When Docker runs GATEWAY_HEALTHCHECK, in seconds. Each check is an exec in the container that costs the host about
 * 50 ms of engine CPU plus the Node.js start (`npm run bench:healthchecks`): every 5 s that was about a core per 100
 * tenants. So a running gateway is checked every 30 s, and a starting one every second (Docker's start interval,
 * engine API 1.44 or later: the hosts' readiness gate checks it) until it is healthy or the start period is over,
 * which also tells `pulumi up` and the rollout gate within a second that it is up.
 */
export const GATEWAY_HEALTH_TIMING = { intervalSeconds: 30, startIntervalSeconds: 1, startPeriodSeconds: 60, timeoutSeconds: 5, retries: 3 } as const;

/** Docker's names for a tenant's objects: defined with every other Docker name in fleet/naming.ts. */
export { dockerNames } from "./naming";
