/**
 * What a tenant's OpenClaw gateway is told, as plain data: its config file, its labels for Traefik, its health probe.
 * Facts from notes/openclaw.md: port 18789 serves HTTP, WebSocket and the Control UI; behind a proxy the gateway
 * needs `gateway.trustedProxies` (else 403 proxy_attribution_required) and `gateway.controlUi.allowedOrigins` with
 * the public origin (else the WebSocket closes with 1008).
 */
import { GATEWAY_PORT } from "./catalog";

/** Where the gateway keeps its state; the tenant's data volume is mounted here. */
export const GATEWAY_STATE_DIR = "/home/node/.openclaw";
/**
 * Where the config AgentPod renders is uploaded: outside the data volume, so tenant data and managed settings never
 * mix. The directory is a volume of its own (anonymous, removed with the container): the root filesystem is
 * read-only and Docker uploads only into volumes then; the file is root's, so the gateway (UID 1000) can read it and
 * neither change, remove nor add to it.
 */
export const GATEWAY_CONFIG_DIR = "/etc/agentpod";
export const GATEWAY_CONFIG_PATH = `${GATEWAY_CONFIG_DIR}/openclaw.json`;
export const GATEWAY_USER = "1000:1000";
/** Foreground gateway on all interfaces of its container, run in /app as in the official image. */
export const GATEWAY_WORKDIR = "/app";
export const GATEWAY_COMMAND = ["node", "dist/index.js", "gateway", "--bind", "lan", "--port", String(GATEWAY_PORT)];

/**
 * The gateway's root filesystem is read-only; these are the only places it writes outside its state directory
 * (measured with `docker diff` on the real gateway after start, health, a WebSocket handshake with the official
 * client and state writes: log files and lock databases under /tmp, two empty cache directories under
 * ~/.cache). They are scratch space: a tmpfs each, bounded, owned by the gateway's UID, counted in its memory limit.
 * /home/node/.config/openclaw is not written (it only holds an auth-profile key when one is mounted there).
 */
export const GATEWAY_SCRATCH: Readonly<Record<string, string>> = {
  "/tmp": "rw,nosuid,nodev,size=64m,uid=1000,gid=1000,mode=1777",
  "/home/node/.cache": "rw,nosuid,nodev,size=64m,uid=1000,gid=1000,mode=0700",
};

/**
 * Environment every gateway gets besides its secrets. The config is managed by AgentPod (read-only for the
 * gateway); the state directory is named explicitly, else the gateway derives it from the config's folder.
 */
export const GATEWAY_ENV = [
  `OPENCLAW_CONFIG_PATH=${GATEWAY_CONFIG_PATH}`,
  "OPENCLAW_CONFIG_READONLY=1",
  "OPENCLAW_STATE_DIR=/home/node/.openclaw",
  "OPENCLAW_DISABLE_BONJOUR=1",
  "OPENCLAW_NO_AUTO_UPDATE=1",
];

export interface GatewayConfigInput {
  /** Public origin of the Control UI, e.g. "https://acme.agents.example.com" or "http://acme.localhost:8080". */
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

/** Docker's names for a tenant's objects: defined with every other Docker name in fleet/naming.ts. */
export { dockerNames } from "./naming";
