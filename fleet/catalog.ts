/**
 * Built-in facts the tenants file is checked against: Hetzner server types, OpenClaw-sized plans, model providers.
 * Pure data; no Pulumi, no YAML.
 */

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/** An OpenClaw gateway idles near 0.94 GB; OpenClaw's own fleet and Fly guide size it at 2 GiB. */
export const MIN_PLAN_MEMORY_BYTES = 2 * GiB;

/** Memory kept back on every host for the OS, Docker and Traefik before tenants are counted. */
export const HOST_RESERVED_MEMORY_BYTES = 1 * GiB;

export interface ServerType {
  readonly vcpus: number;
  readonly memoryBytes: number;
  readonly arch: "x86" | "arm";
}

const type = (vcpus: number, memoryGb: number, arch: "x86" | "arm" = "x86"): ServerType => ({
  vcpus,
  memoryBytes: memoryGb * GiB,
  arch,
});

/** Hetzner Cloud server types (vCPUs, memory in GB as Hetzner sells them). */
export const SERVER_TYPES: Readonly<Record<string, ServerType>> = {
  cx22: type(2, 4),
  cx23: type(2, 4),
  cx32: type(4, 8),
  cx33: type(4, 8),
  cx42: type(8, 16),
  cx43: type(8, 16),
  cx52: type(16, 32),
  cx53: type(16, 32),
  cpx11: type(2, 2),
  cpx12: type(1, 2),
  cpx21: type(3, 4),
  cpx22: type(2, 4),
  cpx31: type(4, 8),
  cpx32: type(4, 8),
  cpx41: type(8, 16),
  cpx42: type(8, 16),
  cpx51: type(16, 32),
  cpx52: type(12, 24),
  cpx62: type(16, 32),
  cax11: type(2, 4, "arm"),
  cax21: type(4, 8, "arm"),
  cax31: type(8, 16, "arm"),
  cax41: type(16, 32, "arm"),
  ccx13: type(2, 8),
  ccx23: type(4, 16),
  ccx33: type(8, 32),
  ccx43: type(16, 64),
  ccx53: type(32, 128),
  ccx63: type(48, 192),
};

/** A server type by name; undefined for names AgentPod does not know (including "toString" and the like). */
export function serverTypeOf(name: string): ServerType | undefined {
  return Object.hasOwn(SERVER_TYPES, name) ? SERVER_TYPES[name] : undefined;
}

/** Hetzner Cloud locations. */
export const LOCATIONS = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] as const;
export type Location = (typeof LOCATIONS)[number];

export interface PlanSpec {
  /** CPU cap in cores (Docker NanoCPUs). */
  readonly cpus: number;
  /** Memory limit in bytes; also the swap limit, so the gateway never swaps. */
  readonly memoryBytes: number;
  /** Process limit (cgroup pids.max). */
  readonly pids: number;
  /** Requests per minute the proxy lets through to the tenant, all its clients together (fleet/routes.ts). */
  readonly requestsPerMinute: number;
  /** Size of the tenant's own filesystem on the host's data volume: its disk quota (fleet/tenantDisks.ts). */
  readonly diskBytes: number;
}

/** Used when tenants.yaml has no `plans:` section. None is under 2 GiB: OpenClaw needs it. */
export const BUILT_IN_PLANS: Readonly<Record<string, PlanSpec>> = {
  basic: { cpus: 1, memoryBytes: 2 * GiB, pids: 512, requestsPerMinute: 600, diskBytes: 5 * GiB },
  pro: { cpus: 2, memoryBytes: 4 * GiB, pids: 1024, requestsPerMinute: 1200, diskBytes: 10 * GiB },
  enterprise: { cpus: 4, memoryBytes: 8 * GiB, pids: 2048, requestsPerMinute: 3000, diskBytes: 20 * GiB },
};

/** Disk of a plan that names none. An OpenClaw gateway's state is megabytes; the room is for the agent's work. */
export const DEFAULT_DISK_BYTES = 5 * GiB;
/** The smallest disk: an ext4 filesystem and a gateway's state need some room. */
export const MIN_PLAN_DISK_BYTES = 512 * MiB;
/** The largest disk a plan may give (Hetzner's largest volume is 10 TB). */
export const MAX_PLAN_DISK_BYTES = 10 * 1024 * GiB;

export const DEFAULT_PIDS = 512;
/** Ten requests a second on average: far above one person's use of the Control UI, far below a flood. */
export const DEFAULT_REQUESTS_PER_MINUTE = 600;

/**
 * Model providers a tenant may use, with the environment variable the gateway reads and the Pulumi config key
 * (a secret) the operator sets. Keys never live in tenants.yaml.
 */
export const MODEL_PROVIDERS = {
  anthropic: { env: "ANTHROPIC_API_KEY", configKey: "anthropicApiKey" },
  openai: { env: "OPENAI_API_KEY", configKey: "openaiApiKey" },
  openrouter: { env: "OPENROUTER_API_KEY", configKey: "openrouterApiKey" },
  moonshot: { env: "MOONSHOT_API_KEY", configKey: "moonshotApiKey" },
  kimi: { env: "KIMI_API_KEY", configKey: "kimiApiKey" },
  minimax: { env: "MINIMAX_API_KEY", configKey: "minimaxApiKey" },
} as const;
export type ModelProvider = keyof typeof MODEL_PROVIDERS;
export const MODEL_PROVIDER_NAMES = Object.keys(MODEL_PROVIDERS) as ModelProvider[];

/** Tags that move: an image pinned to one of them can change under a running fleet without a diff. */
export const MOVING_TAGS = new Set(["latest", "main", "master", "stable", "extended-stable", "edge", "nightly", "dev", "beta", "next", "canary"]);

export const GATEWAY_PORT = 18789;
