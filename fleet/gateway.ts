/**
 * What a tenant's OpenClaw gateway is told, as plain data: its config file, its labels for Traefik, its health probe.
 * Facts from notes/openclaw.md: port 18789 serves HTTP, WebSocket and the Control UI; behind a proxy the gateway
 * needs `gateway.trustedProxies` (else 403 proxy_attribution_required) and `gateway.controlUi.allowedOrigins` with
 * the public origin (else the WebSocket closes with 1008).
 */
import { GATEWAY_PORT } from "./catalog";

/** Where the gateway keeps its state; the tenant's data volume is mounted here. */
export const GATEWAY_STATE_DIR = "/home/node/.openclaw";
/** The config AgentPod renders; outside the data volume so tenant data and managed settings never mix. */
export const GATEWAY_CONFIG_PATH = "/etc/agentpod/openclaw.json";
export const GATEWAY_USER = "1000:1000";
/** Foreground gateway on all interfaces of its container, run in /app as in the official image. */
export const GATEWAY_WORKDIR = "/app";
export const GATEWAY_COMMAND = ["node", "dist/index.js", "gateway", "--bind", "lan", "--port", String(GATEWAY_PORT)];

/**
 * Not read-only, measured: OpenClaw itself runs on a read-only root (health, a WebSocket handshake with the official
 * client and state writes all work with a tmpfs at /tmp and at ~/.cache, the only places it writes outside its state
 * directory: `docker diff` after those), but the Docker provider uploads the managed config (GATEWAY_CONFIG_PATH)
 * through the container's root, and Docker 20.10 refuses that on a read-only root ("container rootfs is marked
 * read-only"), even into a volume. A read-only root needs the config delivered another way (a root-owned file on the
 * host, mounted read-only), which is not done yet.
 */
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

/** Docker's names for a tenant's objects: defined with every other Docker name in fleet/naming.ts. */
export { dockerNames } from "./naming";
