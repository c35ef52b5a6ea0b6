/**
 * The shape of tenants.yaml, as a zod schema. It is the single source of truth for the field reference: the JSON
 * Schema that editors use (tenants.schema.json, written by `npm run schema`) is generated from it, and the README's
 * field table documents the same descriptions. Cross-field rules (uniqueness, capacity, references) live in rules.ts.
 */
import { z } from "zod";
import { LOCATIONS, MODEL_PROVIDER_NAMES } from "./catalog";

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

const DNS_LABEL_RULE = "must be a DNS label: lowercase letters, digits and dashes, 1-40 characters, starting and ending with a letter or digit";

const dnsLabel = (what: string) =>
  z
    .string({ error: `expected the ${what} as a string` })
    .regex(DNS_LABEL, {
      // The length is the one thing said about the value itself: the message never repeats it (it may be a secret).
      error: (issue) => {
        const length = typeof issue.input === "string" ? issue.input.length : 0;
        if (length > 40) return `is too long (${length} characters, at most 40): ${DNS_LABEL_RULE}`;
        if (length === 0) return `is empty: ${DNS_LABEL_RULE}`;
        return DNS_LABEL_RULE;
      },
    });

const memory = z
  .string({ error: 'expected memory as a quantity such as "2Gi" or "1536Mi"' })
  .describe('Memory limit, a binary quantity: "2Gi", "4Gi", "1536Mi". At least 2Gi: an OpenClaw gateway idles near 1 GB.');

export const planSchema = z
  .strictObject({
    cpus: z
      .number({ error: "expected a number of CPU cores such as 1 or 0.5" })
      .positive({ error: "must be more than 0" })
      .max(64, { error: "must be at most 64" })
      .describe("CPU cap in cores (fractions allowed). Changing it recreates the tenant's container (data kept)."),
    memory,
    pids: z
      .int({ error: "expected a whole number of processes" })
      .min(64, { error: "must be at least 64: the gateway and its workers need some" })
      .max(65536, { error: "must be at most 65536" })
      .optional()
      .describe("Process limit for the tenant's container. Default 512."),
    requestsPerMinute: z
      .int({ error: "expected a whole number of requests per minute" })
      .min(10, { error: "must be at least 10: the Control UI alone makes a few dozen requests when it opens" })
      .max(1_000_000, { error: "must be at most 1000000" })
      .optional()
      .describe(
        "Requests per minute the proxy lets through to each tenant on this plan, all its clients together (bursts of ten seconds' worth, at least 50); beyond it clients get 429. Default 600. A change rewrites the tenant's route only: nothing restarts.",
      ),
    disk: z
      .string({ error: 'expected a disk size such as "10Gi" or "512Mi"' })
      .optional()
      .describe(
        'Disk quota of each tenant on this plan: the size of its own filesystem on the host\'s data volume ("512Mi", "10Gi", "1Ti"; at least 512Mi). Writing past it fails with "No space left on device" for that tenant only. Default 5Gi. Growing it grows the filesystem in place, nothing restarts; it never shrinks.',
      ),
  }, { error: "expected a plan mapping such as { cpus: 1, memory: 2Gi }" })
  .describe("A resource plan: limits applied to each tenant's gateway container.");

export const hostSchema = z
  .strictObject({
    name: dnsLabel("host name").describe("Host name: a DNS label, unique, the host's immutable identity."),
    location: z
      .enum(LOCATIONS, { error: `must be one of the Hetzner locations: ${LOCATIONS.join(", ")}` })
      .describe("Hetzner location. Changing it means a new server and a data migration, so it is never applied in place."),
    serverType: z
      .string({ error: 'expected a Hetzner server type such as "cx42"' })
      .describe('Hetzner server type, e.g. "cx42" (8 vCPU, 16 GB). Tenants placed on the host must fit in it.'),
    dataVolumeGb: z
      .int({ error: "expected a whole number of GB" })
      .min(10, { error: "must be at least 10 (Hetzner's smallest volume)" })
      .max(10240, { error: "must be at most 10240" })
      .optional()
      .describe("Size in GB of the host's persistent Hetzner volume that holds tenant data. Default 50; grows in place."),
  }, { error: "expected a host mapping with name, location and serverType" })
  .describe("A server that runs one Traefik and the gateways of the tenants placed on it.");

const trueOrFalse = () => z.boolean({ error: "expected true or false" }).optional();

const image = z
  .string({ error: 'expected an image reference such as "ghcr.io/openclaw/openclaw:2026.9.6"' })
  .min(1, { error: "must not be empty" });

export const tenantSchema = z
  .strictObject({
    name: dnsLabel("tenant name").describe("Tenant name: a DNS label, unique, the tenant's immutable identity (it names its data volume)."),
    host: z.string({ error: "expected the name of a host from `hosts:`" }).describe("The host the tenant runs on. A tenant moves only when this line changes."),
    plan: z.string({ error: "expected the name of a plan" }).optional().describe("Plan name. Default: defaults.plan."),
    domain: z
      .string({ error: "expected a domain name" })
      .optional()
      .describe("Public host name of the tenant's gateway. Default: <name>.<zone> (prod) or <name>.agents.localhost (local)."),
    image: image.optional().describe("Image override for this tenant. Default: defaults.image."),
    modelProvider: z
      .enum(MODEL_PROVIDER_NAMES, { error: `must be one of: ${MODEL_PROVIDER_NAMES.join(", ")}` })
      .optional()
      .describe("Which model API key the gateway gets (the key itself is a Pulumi config secret). Default: defaults.modelProvider."),
    allowMovingTag: z
      .boolean({ error: "expected true or false" })
      .optional()
      .describe("Accept a moving image tag such as `latest` for this tenant. Default false."),
    sharedModelKey: trueOrFalse().describe(
      "Give this tenant the fleet-wide key of its model provider (agentpod:<provider>ApiKey) when it has no key of its own (agentpod:tenantModelKeys.<name>). Every tenant that shares it can read and spend it, and it cannot be revoked for one of them: the summary and preview warn. Default: defaults.sharedModelKey (false).",
    ),
    canary: trueOrFalse().describe(
      "Upgrade this tenant first when the fleet's image changes (the canary wave); the next waves start only once it is healthy. Default false: without any canary, the first tenant by name to change is the canary.",
    ),
  }, { error: "expected a tenant mapping with at least name and host" })
  .describe("A customer: one isolated OpenClaw gateway with its own network and data volume.");

export const defaultsSchema = z
  .strictObject({
    image: image.optional().describe("Gateway image for every tenant, pinned by tag or digest. Default ghcr.io/openclaw/openclaw:2026.9.6."),
    plan: z.string({ error: "expected the name of a plan" }).optional().describe("Plan for tenants without one. Default basic."),
    modelProvider: z
      .enum(MODEL_PROVIDER_NAMES, { error: `must be one of: ${MODEL_PROVIDER_NAMES.join(", ")}` })
      .optional()
      .describe("Model provider for tenants without one. Default anthropic."),
    allowMovingTag: z.boolean({ error: "expected true or false" }).optional().describe("Accept moving image tags fleet-wide. Default false."),
    sharedModelKey: trueOrFalse().describe(
      "Opt every tenant without a key of its own into the fleet-wide model key of its provider. Default false: each tenant has its own key, set with `pulumi config set --secret --path 'agentpod:tenantModelKeys.<tenant>'`.",
    ),
  }, { error: "expected a mapping of defaults (image, plan, modelProvider, allowMovingTag, sharedModelKey)" })
  .describe("Values every tenant gets unless it sets its own.");

export const rolloutSchema = z
  .strictObject({
    batchSize: z
      .int({ error: "expected a whole number of tenants" })
      .min(1, { error: "must be at least 1" })
      .max(1000, { error: "must be at most 1000" })
      .optional()
      .describe("Tenants per host whose image changes at the same time, after the canary wave; the next batch starts once all of them pass their health gate. Default 1."),
    healthTimeoutSeconds: z
      .int({ error: "expected a whole number of seconds" })
      .min(10, { error: "must be at least 10: a gateway takes several seconds to start" })
      .max(3600, { error: "must be at most 3600" })
      .optional()
      .describe("Seconds a new or replaced gateway has to turn healthy (container health, then /readyz through its proxy) before it fails its gate. Default 180."),
  }, { error: "expected a mapping such as { batchSize: 2 }" })
  .describe("How an image change rolls out over the fleet: a canary first, then batches per host, each health-gated.");

export const tenantsFileSchema = z
  .strictObject({
    $schema: z.string().optional().describe("Path of the JSON Schema, for editors."),
    defaults: defaultsSchema.optional(),
    plans: z
      .record(z.string(), planSchema, { error: "expected a mapping of plan names to plans, e.g. basic: { cpus: 1, memory: 2Gi }" })
      .optional()
      .describe("Custom plans by name. When present they replace the built-in basic (1 CPU, 2Gi), pro (2, 4Gi), enterprise (4, 8Gi)."),
    rollout: rolloutSchema.optional(),
    hosts: z.array(hostSchema, { error: "expected a list of hosts" }).describe("Servers of the fleet."),
    tenants: z.array(tenantSchema, { error: "expected a list of tenants" }).describe("Customers of the fleet."),
  }, { error: "expected a mapping with `defaults:`, `plans:`, `hosts:` and `tenants:`" })
  .describe("AgentPod fleet: hosts, plans and tenants. Secrets never go here.");

export type TenantsFile = z.infer<typeof tenantsFileSchema>;
export type TenantEntry = z.infer<typeof tenantSchema>;
export type HostEntry = z.infer<typeof hostSchema>;
export type PlanEntry = z.infer<typeof planSchema>;

/** Keys each kind of mapping accepts, for unknown-key hints. */
export const KNOWN_KEYS = {
  root: Object.keys(tenantsFileSchema.shape),
  defaults: Object.keys(defaultsSchema.shape),
  plan: Object.keys(planSchema.shape),
  host: Object.keys(hostSchema.shape),
  tenant: Object.keys(tenantSchema.shape),
  rollout: Object.keys(rolloutSchema.shape),
} as const;

/** Which kind of mapping a path points into, so an unknown key can be matched against the right key list. */
export function mappingKindAt(path: readonly PropertyKey[]): keyof typeof KNOWN_KEYS | undefined {
  if (path.length === 0) return "root";
  if (path.length === 1 && path[0] === "defaults") return "defaults";
  if (path.length === 1 && path[0] === "rollout") return "rollout";
  if (path.length === 2 && path[0] === "plans") return "plan";
  if (path.length === 2 && path[0] === "hosts") return "host";
  if (path.length === 2 && path[0] === "tenants") return "tenant";
  return undefined;
}

export const DEFAULT_IMAGE = "ghcr.io/openclaw/openclaw:2026.9.6";
export const DEFAULT_PLAN = "basic";
export const DEFAULT_MODEL_PROVIDER = "anthropic";
export const DEFAULT_DATA_VOLUME_GB = 50;
export const DEFAULT_ROLLOUT_BATCH_SIZE = 1;
export const DEFAULT_HEALTH_TIMEOUT_SECONDS = 180;
