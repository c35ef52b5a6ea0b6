/**
 * AgentPod's mandatory policies, as plain data for @pulumi/policy. They read resources by type token, so the pack
 * needs no provider SDK: the engine hands every resource's inputs (and, for stack policies, the planned outputs)
 * to the pack during `preview` and `up`.
 *
 * What the engine does NOT hand to a policy pack is `retainOnDelete`: the analyzer protocol's resource options
 * (AnalyzerResourceOptions in pulumi/proto/analyzer.proto, v3.259.0) carry protect, ignoreChanges,
 * deleteBeforeReplace, aliases, customTimeouts, additionalSecretOutputs and parent, and nothing else. So the
 * data-volume policy here checks what the pack can see (the options that keep a fixed-name volume from being
 * replaced, which would delete it), and `retainOnDelete` itself is checked over the engine's own step events by
 * engineView.ts, which `agentpod preview|up --policy-pack` runs next to this pack.
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { TENANT_LABEL, isTenantDataVolume as isTenantDataVolumeInputs } from "../fleet/naming";

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const FIREWALL = "hcloud:index/firewall:Firewall";
export const PIDS_LIMIT = "pulumi-nodejs:dynamic/agentpod:ContainerPidsLimit";
export const TENANT_DATA = "pulumi-nodejs:dynamic/agentpod:TenantDataDirectory";
/** Label every tenant resource carries (container, network, data volume); the components' own, from fleet/naming.ts. */
export { TENANT_LABEL };

type Labels = Array<{ label?: string; value?: string }> | undefined;

/**
 * @pulumi/policy throws its (internal) UnknownValueError when a policy reads a value that is unknown during
 * preview, and then downgrades the whole policy to an advisory "can't run during preview" for that resource. For
 * optional, secondary reads (a tenant's secret env list depends on its generated token) the check is skipped
 * instead, so the rest of the policy keeps running as mandatory.
 */
function readKnown<T>(read: () => T): { known: true; value: T } | { known: false } {
  try {
    return { known: true, value: read() };
  } catch (error) {
    if (error instanceof Error && error.constructor.name === "UnknownValueError") return { known: false };
    throw error;
  }
}

function labelValue(labels: Labels, key: string): string | undefined {
  return (labels ?? []).find((l) => l?.label === key)?.value;
}

/** The Docker name of a resource, for messages (falls back to the Pulumi name). */
function dockerName(props: Record<string, any>, fallback: string): string {
  const name = readKnown(() => props.name);
  return name.known && typeof name.value === "string" ? name.value : fallback;
}

const isTenantContainer = (type: string, props: Record<string, any>) => type === CONTAINER && labelValue(props.labels, TENANT_LABEL) !== undefined;

/**
 * A tenant's data volume, by the components' own naming (fleet/naming.ts): labelled with its tenant, or, without
 * AgentPod labels, named dockerNames(tenant, fleet).volume for any fleet prefix. Values unknown during preview
 * count as absent.
 */
export function isTenantDataVolume(type: string, props: Record<string, any>): boolean {
  if (type !== VOLUME) return false;
  const name = readKnown(() => props.name);
  const labels = readKnown(() => props.labels);
  return isTenantDataVolumeInputs({ name: name.known ? name.value : undefined, labels: labels.known ? labels.value : undefined });
}

const WHERE_GATEWAY = "components/tenantGateway.ts (TenantGateway.createContainer)";

export const tenantGatewayHardened: ResourceValidationPolicy = {
  name: "tenant-gateway-hardened",
  description: "Every tenant gateway container has memory and swap limits, drops all capabilities and sets no-new-privileges.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!isTenantContainer(args.type, args.props)) return;
    const props = args.props;
    const name = dockerName(props, args.name);
    const problems: string[] = [];
    if (!(typeof props.memory === "number" && props.memory > 0)) {
      problems.push("no memory limit: set `memory` (MiB) from the tenant's plan, so one tenant cannot exhaust the host's memory");
    }
    if (!(typeof props.memorySwap === "number" && props.memorySwap > 0)) {
      problems.push(
        props.memorySwap === -1
          ? "`memorySwap` is -1 (unlimited swap): set it equal to `memory` (no swap)"
          : "no swap limit: set `memorySwap` equal to `memory` (no swap), or Docker allows as much swap again as memory",
      );
    }
    const drops: unknown[] = props.capabilities?.drops ?? [];
    if (!drops.some((c) => typeof c === "string" && c.toUpperCase() === "ALL")) {
      problems.push('capabilities are not dropped: set `capabilities: { drops: ["ALL"] }` (the gateway needs none)');
    }
    const securityOpts: unknown[] = props.securityOpts ?? [];
    if (!securityOpts.some((o) => typeof o === "string" && /^no-new-privileges([:=]true)?$/i.test(o.trim()))) {
      problems.push('no-new-privileges is not set: add "no-new-privileges:true" to `securityOpts`');
    }
    for (const problem of problems) reportViolation(`Tenant gateway container ${name}: ${problem}. Change it in ${WHERE_GATEWAY}.`);
  },
};

/** A tmpfs option string bounds its size ("size=64m", "size=10%"); without one, tmpfs may take half the memory. */
export const tmpfsBounded = (options: unknown) => typeof options === "string" && options.split(",").some((o) => /^size=\d+(\.\d+)?[kmg%]?$/i.test(o.trim()));

export const tenantGatewayReadOnlyRoot: ResourceValidationPolicy = {
  name: "tenant-gateway-read-only-root",
  description:
    "Every tenant gateway container has a read-only root filesystem, and each of its tmpfs scratch mounts has a size limit; " +
    "the gateway writes only its state directory (the tenant's data volume) and those.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, reportViolation) => {
    if (!isTenantContainer(args.type, args.props)) return;
    const name = dockerName(args.props, args.name);
    if (args.props.readOnly !== true) {
      reportViolation(
        `Tenant gateway container ${name} has a writable root filesystem: set \`readOnly: true\` (OpenClaw writes only its state ` +
          `directory and the tmpfs of fleet/gateway.ts GATEWAY_TMPFS). Change it in ${WHERE_GATEWAY}.`,
      );
    }
    const tmpfs = readKnown(() => args.props.tmpfs as Record<string, unknown> | undefined);
    for (const [path, options] of Object.entries(tmpfs.known ? (tmpfs.value ?? {}) : {})) {
      if (!tmpfsBounded(options)) {
        reportViolation(`Tenant gateway container ${name} mounts a tmpfs at ${path} without a size limit ("${String(options)}"): add "size=..." (see GATEWAY_TMPFS in fleet/gateway.ts).`);
      }
    }
  },
};

export const tenantGatewayPidsLimit: StackValidationPolicy = {
  name: "tenant-gateway-pids-limit",
  description: "Every tenant gateway container has a ContainerPidsLimit with a positive limit, so a fork bomb cannot starve the host.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, reportViolation) => {
    const containers = args.resources.filter((r) => isTenantContainer(r.type, r.props));
    const limits = args.resources.filter((r) => r.type === PIDS_LIMIT);
    for (const container of containers) {
      const name = dockerName(container.props, container.name);
      const limiting = limits.filter((limit) => limitsContainer(limit, container, name));
      const limitValues = limiting.map((l) => readKnown(() => l.props.limit));
      if (limiting.length === 0) {
        reportViolation(
          `Tenant gateway container ${name} has no pids limit. Add a ContainerPidsLimit (providers/pidsLimit.ts) with ` +
            `\`container: <the container>.name\` and \`limit: plan.pids\` next to it in ${WHERE_GATEWAY}.`,
          container.urn,
        );
      } else if (!limitValues.some((v) => !v.known || (typeof v.value === "number" && Number.isInteger(v.value) && v.value > 0))) {
        reportViolation(
          `Tenant gateway container ${name} has a pids limit of ${limitValues.map((v) => (v.known ? JSON.stringify(v.value) : "?")).join(", ")}: ` +
            "set `limit` to a positive whole number (the plan's `pids`, see fleet/catalog.ts).",
          container.urn,
        );
      }
    }
  },
};

export const tenantGatewayDiskQuota: StackValidationPolicy = {
  name: "tenant-gateway-disk-quota",
  description:
    "Every tenant gateway container has a disk quota: its tenant's data directory (TenantDataDirectory) is a filesystem of its own with a positive size " +
    "(the plan's `disk`), so one tenant cannot fill the host's data volume.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, reportViolation) => {
    const dataDirectories = args.resources.filter((r) => r.type === TENANT_DATA);
    for (const container of args.resources.filter((r) => isTenantContainer(r.type, r.props))) {
      const tenant = labelValue(container.props.labels, TENANT_LABEL)!;
      const name = dockerName(container.props, container.name);
      const own = dataDirectories.filter((d) => readKnown(() => d.props.tenant).known && d.props.tenant === tenant);
      const sizes = own.map((d) => readKnown(() => d.props.diskBytes));
      if (own.length === 0) {
        reportViolation(
          `Tenant gateway container ${name} has no disk quota: no TenantDataDirectory for tenant ${tenant}. Its data must live on a disk of its own ` +
            "(providers/tenantData.ts, through the host's prepareTenantData with `diskBytes: plan.diskBytes`), or it can fill the host's data volume.",
          container.urn,
        );
      } else if (!sizes.some((v) => !v.known || (typeof v.value === "number" && Number.isInteger(v.value) && v.value > 0))) {
        reportViolation(
          `Tenant gateway container ${name} has a disk quota of ${sizes.map((v) => (v.known ? JSON.stringify(v.value) : "?")).join(", ")} bytes: ` +
            "set `diskBytes` of its TenantDataDirectory to the plan's disk, a positive whole number of bytes (fleet/catalog.ts).",
          container.urn,
        );
      }
    }
  },
};

/** The limit's `container` input is the container's name; during preview it may be unknown, then its dependency decides. */
function limitsContainer(limit: PolicyResource, container: PolicyResource, name: string): boolean {
  const target = readKnown(() => limit.props.container);
  if (target.known) return target.value === name;
  return (limit.propertyDependencies.container ?? []).some((dep) => dep.urn === container.urn);
}

/** Options that keep a fixed-name Docker volume from being replaced: a replacement deletes the live volume. */
export const VOLUME_REPLACE_KEYS = ["labels", "driver", "driverOpts"];

export const tenantDataVolumeKept: ResourceValidationPolicy = {
  name: "tenant-data-volume-kept",
  description:
    "Every tenant data volume ignores changes to labels, driver and driverOpts (each would replace, and so delete, the live volume). " +
    "retainOnDelete is checked over the engine's step events (policy/engineView.ts): the engine does not pass it to policy packs.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, reportViolation) => {
    if (!isTenantDataVolume(args.type, args.props)) return;
    const ignored = new Set(args.opts.ignoreChanges ?? []);
    const missing = VOLUME_REPLACE_KEYS.filter((key) => !ignored.has(key));
    if (missing.length > 0) {
      reportViolation(
        `Tenant data volume ${dockerName(args.props, args.name)} does not ignore changes to ${missing.join(", ")}: any such change replaces ` +
          `the volume, and replacing a fixed-name Docker volume deletes the tenant's data. Keep ` +
          `\`ignoreChanges: ${JSON.stringify(VOLUME_REPLACE_KEYS)}\` (and \`retainOnDelete: true\`) on it in components/tenantGateway.ts (createDataVolume).`,
      );
    }
  },
};

/** True when a Hetzner firewall port spec ("22", "20-30", "any", or none) includes port 22. */
export function portSpecIncludes(spec: unknown, port: number): boolean {
  if (spec === undefined || spec === null || spec === "") return true;
  const text = String(spec).trim().toLowerCase();
  if (text === "any") return true;
  const range = /^(\d+)\s*-\s*(\d+)$/.exec(text);
  if (range) return Number(range[1]) <= port && port <= Number(range[2]);
  return /^\d+$/.test(text) && Number(text) === port;
}

/** A CIDR with prefix length 0 is the whole address family: 0.0.0.0/0, ::/0 and their spellings. */
export const isEveryone = (cidr: unknown) => typeof cidr === "string" && /\/0+$/.test(cidr.trim());

export const noPublicSsh: ResourceValidationPolicy = {
  name: "no-public-ssh",
  description: "No Hetzner firewall rule opens port 22 (or a range that includes it) to 0.0.0.0/0 or ::/0.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, reportViolation) => {
    if (args.type !== FIREWALL) return;
    const rules: Array<Record<string, any>> = args.props.rules ?? [];
    rules.forEach((rule, index) => {
      if (String(rule.direction ?? "in").toLowerCase() !== "in") return;
      if (String(rule.protocol ?? "").toLowerCase() !== "tcp") return;
      if (!portSpecIncludes(rule.port, 22)) return;
      const open = ((rule.sourceIps ?? []) as unknown[]).filter(isEveryone);
      if (open.length === 0) return;
      const port = rule.port === undefined || rule.port === null || rule.port === "" ? "any port" : `port ${rule.port}`;
      reportViolation(
        `Firewall ${dockerName(args.props, args.name)} rule ${index + 1} (tcp ${port}${rule.description ? `, "${rule.description}"` : ""}) ` +
          `opens SSH to ${open.join(" and ")}. Allow port 22 only from admin networks: list them in agentpod:adminCidrs ` +
          `(e.g. \`pulumi config set --path 'agentpod:adminCidrs[0]' 203.0.113.0/24\`) and remove ${open.join(" and ")} from the rule's sourceIps.`,
      );
    });
  },
};

/** Traefik static-configuration switches that serve the API/dashboard. `--api.dashboard=false` is fine. */
const DASHBOARD_FLAGS: Record<string, string> = {
  api: "enables the API and, with it, the dashboard",
  "api.insecure": "serves the API and dashboard without authentication on entrypoint `traefik` (:8080)",
  "api.dashboard": "serves the dashboard",
};
const DASHBOARD_ENV: Record<string, string> = { TRAEFIK_API: "api", TRAEFIK_API_INSECURE: "api.insecure", TRAEFIK_API_DASHBOARD: "api.dashboard" };
const isTrue = (value: string | undefined) => value === undefined || /^(true|1|yes)$/i.test(value.trim());

/** `--api.insecure=true`, `--api.insecure true`, `--api.insecure`: the flags of `DASHBOARD_FLAGS` that are switched on. */
export function dashboardFlags(args: unknown[]): string[] {
  const tokens = args.filter((a): a is string => typeof a === "string").flatMap((a) => a.trim().split(/\s+/));
  const found: string[] = [];
  tokens.forEach((token, i) => {
    const match = /^--?([A-Za-z.]+)(?:=(.*))?$/.exec(token);
    if (!match) return;
    const flag = match[1]!.toLowerCase();
    if (!(flag in DASHBOARD_FLAGS)) return;
    const next = tokens[i + 1];
    const value = match[2] ?? (next !== undefined && /^(true|false)$/i.test(next) ? next : undefined);
    if (isTrue(value)) found.push(token + (match[2] === undefined && value !== undefined ? ` ${value}` : ""));
  });
  return found;
}

export const traefikDashboardNotExposed: ResourceValidationPolicy = {
  name: "traefik-dashboard-not-exposed",
  description: "No container enables Traefik's API or dashboard (--api, --api.insecure, --api.dashboard) or routes to api@internal.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, reportViolation) => {
    if (args.type !== CONTAINER) return;
    const props = args.props;
    const name = dockerName(props, args.name);
    const where = "Remove it from fleet/traefik.ts (traefikFlags), which keeps `--api.dashboard=false`; the fleet needs no dashboard.";
    for (const field of ["command", "entrypoints"] as const) {
      const values = readKnown(() => props[field] as unknown[] | undefined);
      if (!values.known) continue;
      for (const flag of dashboardFlags(values.value ?? [])) {
        const key = flag.replace(/^--?/, "").split(/[=\s]/)[0]!.toLowerCase();
        reportViolation(`Container ${name} runs Traefik with \`${flag}\` (${field}), which ${DASHBOARD_FLAGS[key]}. ${where}`);
      }
    }
    const envs = readKnown(() => props.envs as unknown[] | undefined);
    if (envs.known) {
      for (const env of envs.value ?? []) {
        if (typeof env !== "string") continue;
        const [key, ...rest] = env.split("=");
        const flag = DASHBOARD_ENV[key!.toUpperCase()];
        if (flag && isTrue(rest.join("="))) {
          reportViolation(`Container ${name} sets ${key}=${rest.join("=")}, which ${DASHBOARD_FLAGS[flag]}. Remove the variable from the container's envs.`);
        }
      }
    }
    const labels = readKnown(() => props.labels as Labels);
    if (labels.known) {
      for (const entry of labels.value ?? []) {
        // A computed label (a tenant's config digest) is unknown in a first preview: only its name can be read then.
        const label = readKnown(() => entry?.label);
        if (!label.known || !label.value || !/^traefik\.http\.routers\.[^.]+\.service$/i.test(label.value)) continue;
        const value = readKnown(() => entry?.value);
        if (!value.known) continue;
        if (/^(api|dashboard)@internal$/i.test(String(value.value ?? "").trim())) {
          reportViolation(
            `Container ${name} has the label ${label.value}=${value.value}, which publishes Traefik's API and dashboard through a router. ` +
              "Remove the label: tenant routers point at their own gateway service only (fleet/routes.ts).",
          );
        }
      }
    }
  },
};

/** A host path that hands a container the Docker API: the socket itself, or a directory that holds it. */
export const isDockerApiPath = (hostPath: string) => /(^|\/)docker\.sock$/.test(hostPath) || /^\/(var\/)?run\/docker\/?$/.test(hostPath) || /^\/(var\/)?run\/?$/.test(hostPath);

export const noDockerApiInContainers: ResourceValidationPolicy = {
  name: "no-docker-api-in-containers",
  description:
    "No container gets the host's Docker API (a docker.sock bind, read-only or not: the API takes writes through it, and it is root on the host). " +
    "The proxy reads route files (fleet/routes.ts); the host's own tooling reaches the engine from the host.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, reportViolation) => {
    if (args.type !== CONTAINER) return;
    const name = dockerName(args.props, args.name);
    const volumes = readKnown(() => args.props.volumes as Array<{ hostPath?: string; containerPath?: string }> | undefined);
    const mounts = readKnown(() => args.props.mounts as Array<{ source?: string; type?: string }> | undefined);
    const paths = [
      ...(volumes.known ? (volumes.value ?? []).map((v) => v?.hostPath) : []),
      ...(mounts.known ? (mounts.value ?? []).filter((m) => m?.type === "bind").map((m) => m?.source) : []),
    ];
    for (const path of paths) {
      if (typeof path === "string" && isDockerApiPath(path)) {
        reportViolation(`Container ${name} mounts ${path}, which gives it the host's Docker API (root on the host). Remove the mount: nothing in a container needs the engine.`);
      }
    }
  },
};

export const policies = [tenantGatewayHardened, tenantGatewayReadOnlyRoot, tenantGatewayPidsLimit, tenantGatewayDiskQuota, tenantDataVolumeKept, noPublicSsh, traefikDashboardNotExposed, noDockerApiInContainers];
