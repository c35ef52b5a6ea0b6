/**
 * Validation of tenants.yaml: syntax, schema and cross-field rules, all problems at once, each at file:line:column.
 * It runs before any Pulumi resource is registered; a file with any problem changes nothing.
 */
import { z } from "zod";
import { capacityVerdict, formatCpus, hostRoom, usageOf } from "./capacity";
import { GiB, HOST_RESERVED_MEMORY_BYTES, MAX_PLAN_DISK_BYTES, MIN_PLAN_DISK_BYTES, MIN_PLAN_MEMORY_BYTES, SERVER_TYPES, serverTypeOf, type PlanSpec } from "./catalog";
import { didYouMean } from "./didYouMean";
import { imagePinProblem } from "./images";
import { TenantsFileError, type Issue } from "./issues";
import { defaultDomain, effectivePlans, planFleet, type FleetPlan } from "./plan";
import {
  DEFAULT_PLAN,
  KNOWN_KEYS,
  defaultsSchema,
  hostSchema,
  mappingKindAt,
  planSchema,
  tenantSchema,
  tenantsFileSchema,
  type HostEntry,
  type TenantEntry,
  type TenantsFile,
} from "./schema";
import { SECRET_ADVICE, looksLikeSecretKey, secretValueMatch } from "./secrets";
import { TenantsSource, decodeTenantsFile } from "./source";
import { formatMemory, parseDisk, parseMemory, suggestMemory } from "./units";

export interface ValidateOptions {
  /** Name used in messages, normally the path relative to the project ("tenants.yaml"). */
  readonly file: string;
  /** Suffix of default domains: the DNS zone (prod) or "agents.localhost" (local, LOCAL_ZONE). */
  readonly domainSuffix: string;
  /** When set, every tenant domain must lie inside this DNS zone (the records are created there). */
  readonly zone?: string;
}

export interface ValidationResult {
  readonly issues: readonly Issue[];
  readonly fleet?: FleetPlan;
  readonly file?: TenantsFile;
}

/** Validates and resolves; throws TenantsFileError listing every problem. */
export function loadFleet(input: string | Uint8Array, options: ValidateOptions): FleetPlan {
  const result = checkTenantsFile(input, options);
  if (!result.fleet) throw new TenantsFileError(result.issues);
  return result.fleet;
}

/** Every problem of a tenants file (its text, or its bytes as read from disk), or its plan when it has none. */
export function checkTenantsFile(input: string | Uint8Array, options: ValidateOptions): ValidationResult {
  const decoded = typeof input === "string" ? { text: input } : decodeTenantsFile(options.file, input);
  if ("issue" in decoded) return { issues: [decoded.issue] };
  const source = new TenantsSource(options.file, decoded.text);
  const syntax = source.syntaxIssues();
  if (syntax.length > 0) return { issues: syntax };
  const aliases = source.aliasIssues();
  if (aliases.length > 0) return { issues: aliases };

  const data = source.data();
  if (data === null || data === undefined) {
    return { issues: [source.issueAt([], "the file is empty: it needs at least `hosts:` and `tenants:` (see README, tenants.yaml reference)")] };
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    return { issues: [source.issueAt([], "expected a mapping with `defaults:`, `plans:`, `hosts:` and `tenants:` at the top level")] };
  }

  const issues: Issue[] = [];
  const reported = new Set<string>();
  const report = (issue: Issue) => {
    const id = `${issue.line}:${issue.column}:${issue.path}`;
    if (!reported.has(id)) issues.push(issue);
    reported.add(id);
  };

  const schemaResult = tenantsFileSchema.safeParse(data, { reportInput: true });
  const zodIssues = schemaResult.success ? [] : schemaResult.error.issues;
  // Values the schema refuses (its messages never repeat a value), so that a secret guessed from a value's shape
  // yields to the specific problem: a 64-character name of a-f letters is too long, not a token.
  const malformed = new Set(zodIssues.filter((i) => i.code !== "unrecognized_keys").map((i) => JSON.stringify(i.path)));
  checkSecrets(source, malformed, report);
  for (const zodIssue of zodIssues) schemaIssues(source, zodIssue, report);
  checkRules(source, data as Record<string, unknown>, options, report);

  const sorted = issues.sort((a, b) => a.line - b.line || a.column - b.column);
  if (sorted.length > 0 || !schemaResult.success) return { issues: sorted };
  return { issues: [], file: schemaResult.data, fleet: planFleet(schemaResult.data, options) };
}

type Report = (issue: Issue) => void;

/**
 * Keys and values that look like credentials. A value in a known credential format is reported as a secret even
 * where another rule also fails (that rule's message might repeat the value); a value that only has a secret's
 * shape is not, where the schema already refuses it (`malformed`, by path): the schema's message names the real
 * problem and repeats nothing.
 */
function checkSecrets(source: TenantsSource, malformed: ReadonlySet<string>, report: Report): void {
  const secretKeys = new Set<string>();
  for (const { path, key, value } of source.scalars()) {
    const id = JSON.stringify(path);
    if (key && looksLikeSecretKey(value)) {
      secretKeys.add(id);
      report(source.issueAtKey(path, `looks like a secret: ${SECRET_ADVICE}`));
    } else if (!key && !secretKeys.has(id)) {
      const match = secretValueMatch(value);
      if (match === "format" || (match === "shape" && !malformed.has(id))) {
        report(source.issueAt(path, `this value looks like a secret (an API key or token): ${SECRET_ADVICE}`));
      }
    }
  }
}

function schemaIssues(source: TenantsSource, issue: z.core.$ZodIssue, report: Report): void {
  const path = issue.path as PropertyKey[];
  if (issue.code === "unrecognized_keys") {
    const kind = mappingKindAt(path);
    const known = kind ? KNOWN_KEYS[kind] : [];
    for (const key of issue.keys) {
      const keyPath = [...path, key];
      if (looksLikeSecretKey(key)) continue; // already reported as a secret
      const hint = didYouMean(key, known) || (known.length ? ` Known keys here: ${known.filter((k) => k !== "$schema").join(", ")}.` : "");
      report(source.issueAtKey(keyPath, `unknown key "${key}".${hint}`));
    }
    return;
  }
  const missing = "input" in issue && issue.input === undefined && issue.code === "invalid_type";
  const message = missing ? `is required (${issue.message.replace(/^expected /, "")})` : issue.message;
  report(source.issueAt(path, message));
}

/**
 * Parses each element on its own, ignoring unknown keys (already reported), so that one bad entry does not hide the
 * cross-field problems of the others.
 */
function validEntries<T>(list: unknown, schema: z.ZodObject<z.ZodRawShape>): Array<{ index: number; value: T }> {
  const lenient = z.object(schema.shape);
  if (!Array.isArray(list)) return [];
  const entries: Array<{ index: number; value: T }> = [];
  list.forEach((item, index) => {
    const parsed = lenient.safeParse(item);
    if (parsed.success) entries.push({ index, value: parsed.data as T });
  });
  return entries;
}

/** Cross-field rules, run on whatever parts of the file are well-formed so that every problem shows at once. */
function checkRules(source: TenantsSource, data: Record<string, unknown>, options: ValidateOptions, report: Report): void {
  const parsedDefaults = z.object(defaultsSchema.shape).safeParse(data.defaults ?? {});
  const defaults: Defaults = parsedDefaults.success ? parsedDefaults.data : {};
  const plans = checkPlans(source, data, defaults, report);
  const hosts = checkHosts(source, data, report);
  const load = checkTenants(source, data, options, defaults, plans, hosts, report);
  checkCapacity(source, hosts, load, report);
}

type Defaults = z.infer<typeof defaultsSchema>;
interface PlanTable {
  /** Plans in force, keyed by name (only well-formed ones). */
  readonly specs: Record<string, PlanSpec>;
  /** Every plan name the file declares (or the built-in ones), for references and hints. */
  readonly names: readonly string[];
  /** Whether the file's `plans:` replaced the built-in plans. */
  readonly custom: boolean;
}
interface HostTable {
  /** Well-formed hosts by name, with their position for messages. */
  readonly byName: ReadonlyMap<string, { index: number; value: HostEntry }>;
  /** Every host name declared, even by an entry with other problems: its tenants should not get errors too. */
  readonly declared: ReadonlySet<string>;
}
/** The tenants placed on each well-formed host, with their plans, in file order. */
type HostLoad = Map<string, Array<{ name: string; planName: string; plan: PlanSpec }>>;

/** Plans: memory must parse and be enough for OpenClaw; the default plan and image must make sense. */
function checkPlans(source: TenantsSource, data: Record<string, unknown>, defaults: Defaults, report: Report): PlanTable {
  const rawPlans = data.plans && typeof data.plans === "object" && !Array.isArray(data.plans) ? (data.plans as Record<string, unknown>) : undefined;
  const validPlans: Record<string, z.infer<typeof planSchema>> = Object.create(null);
  for (const [name, raw] of Object.entries(rawPlans ?? {})) {
    if (name === "__proto__") {
      // JavaScript objects (and the schema's parsed data) cannot hold this key: it would silently vanish.
      report(source.issueAtKey(["plans", name], `"${name}" cannot name a plan: choose another name`));
      continue;
    }
    const parsed = z.object(planSchema.shape).safeParse(raw);
    if (!parsed.success) continue;
    const diskProblem = parsed.data.disk === undefined ? undefined : planDiskProblem(parsed.data.disk);
    if (diskProblem) report(source.issueAt(["plans", name, "disk"], diskProblem));
    const bytes = parseMemory(parsed.data.memory);
    if (bytes === undefined) {
      const suggestion = suggestMemory(parsed.data.memory);
      report(source.issueAt(["plans", name, "memory"], `"${parsed.data.memory}" is not a memory quantity: write it like "2Gi" or "1536Mi"${suggestion ? ` (here: "${suggestion}")` : ""}`));
    } else if (bytes < MIN_PLAN_MEMORY_BYTES) {
      report(source.issueAt(["plans", name, "memory"], `${parsed.data.memory} is too little for an OpenClaw gateway (it idles near 1 GB): plans need at least ${formatMemory(MIN_PLAN_MEMORY_BYTES)}`));
    } else if (!diskProblem) validPlans[name] = parsed.data;
  }
  const specs = effectivePlans(rawPlans ? { plans: validPlans } : {});
  const names = rawPlans ? Object.keys(rawPlans) : Object.keys(specs);

  if (defaults.plan !== undefined && !names.includes(defaults.plan)) {
    report(source.issueAt(["defaults", "plan"], `unknown plan "${defaults.plan}".${didYouMean(defaults.plan, names)} Plans: ${names.join(", ")}.`));
  } else if (defaults.plan === undefined && rawPlans && !names.includes(DEFAULT_PLAN)) {
    report(source.issueAt(["defaults"], `no default plan: \`plans:\` replaces the built-in plans and has no "${DEFAULT_PLAN}", so set defaults.plan to one of: ${names.join(", ")}`));
  }
  if (defaults.image !== undefined) {
    const problem = imagePinProblem(defaults.image, defaults.allowMovingTag ?? false);
    if (problem) report(source.issueAt(["defaults", "image"], problem));
  }
  return { specs, names, custom: rawPlans !== undefined };
}

/** What is wrong with a plan's disk size, if anything. */
function planDiskProblem(text: string): string | undefined {
  const bytes = parseDisk(text);
  if (bytes === undefined) {
    const suggestion = suggestMemory(text);
    return `"${text}" is not a disk size: write it like "10Gi" or "512Mi"${suggestion ? ` (here: "${suggestion}")` : ""}`;
  }
  if (bytes < MIN_PLAN_DISK_BYTES) return `${text} is too small for a tenant's filesystem: plans need at least ${formatMemory(MIN_PLAN_DISK_BYTES)}`;
  if (bytes > MAX_PLAN_DISK_BYTES) return `${text} is more than a host's data volume can hold: at most ${formatMemory(MAX_PLAN_DISK_BYTES)}`;
  return undefined;
}

/** Hosts: unique names, known server types, and at least one when there are tenants. */
function checkHosts(source: TenantsSource, data: Record<string, unknown>, report: Report): HostTable {
  const byName = new Map<string, { index: number; value: HostEntry }>();
  for (const entry of validEntries<HostEntry>(data.hosts, hostSchema)) {
    const first = byName.get(entry.value.name);
    if (first) {
      report(source.issueAt(["hosts", entry.index, "name"], `host "${entry.value.name}" is already defined on line ${source.lineOf(["hosts", first.index, "name"])}: host names must be unique`));
      continue;
    }
    byName.set(entry.value.name, entry);
    if (!serverTypeOf(entry.value.serverType)) {
      report(source.issueAt(["hosts", entry.index, "serverType"], `unknown Hetzner server type "${entry.value.serverType}".${didYouMean(entry.value.serverType, Object.keys(SERVER_TYPES))} Known types: ${Object.keys(SERVER_TYPES).join(", ")}.`));
    }
  }
  if (Array.isArray(data.hosts) && data.hosts.length === 0 && Array.isArray(data.tenants) && data.tenants.length > 0) {
    report(source.issueAt(["hosts"], "there are tenants but no hosts: add a host under `hosts:` for them to run on"));
  }
  const declared = new Set(
    (Array.isArray(data.hosts) ? data.hosts : []).flatMap((h) => (h && typeof h === "object" && typeof (h as { name?: unknown }).name === "string" ? [(h as { name: string }).name] : [])),
  );
  return { byName, declared };
}

/** Tenants: unique names and domains, references to hosts and plans, pinned images. Returns each host's load. */
function checkTenants(source: TenantsSource, data: Record<string, unknown>, options: ValidateOptions, defaults: Defaults, plans: PlanTable, hosts: HostTable, report: Report): HostLoad {
  const tenantsByName = new Map<string, number>();
  const tenantsByDomain = new Map<string, number>();
  const load: HostLoad = new Map();
  const hostNames = [...hosts.declared];
  for (const { index, value: tenant } of validEntries<TenantEntry>(data.tenants, tenantSchema)) {
    const at = (field: string) => ["tenants", index, field];
    const firstIndex = tenantsByName.get(tenant.name);
    if (firstIndex !== undefined) {
      report(source.issueAt(at("name"), `tenant "${tenant.name}" is already defined on line ${source.lineOf(["tenants", firstIndex, "name"])}: tenant names must be unique`));
      continue;
    }
    tenantsByName.set(tenant.name, index);

    const domain = (tenant.domain ?? defaultDomain(tenant.name, options.domainSuffix)).toLowerCase();
    const domainAt = tenant.domain !== undefined ? at("domain") : at("name");
    const domainProblem = checkDomain(domain, options.zone);
    if (domainProblem) report(source.issueAt(domainAt, domainProblem));
    const domainOwner = tenantsByDomain.get(domain);
    if (domainOwner !== undefined) {
      report(source.issueAt(domainAt, `domain "${domain}" is already used by tenant "${tenantNameAt(data, domainOwner)}" on line ${source.lineOf(["tenants", domainOwner, "name"])}: each tenant needs its own domain`));
    } else tenantsByDomain.set(domain, index);

    if (!hosts.declared.has(tenant.host)) {
      report(source.issueAt(at("host"), `unknown host "${tenant.host}".${didYouMean(tenant.host, hostNames)}${hostNames.length ? ` Hosts: ${hostNames.join(", ")}.` : " Define it under `hosts:`."}`));
    }
    if (tenant.plan !== undefined && !plans.names.includes(tenant.plan)) {
      report(source.issueAt(at("plan"), `unknown plan "${tenant.plan}".${didYouMean(tenant.plan, plans.names)} Plans: ${plans.names.join(", ")}${plans.custom ? " (the file's `plans:` replaces the built-in ones)" : ""}.`));
    }
    if (tenant.image !== undefined) {
      const problem = imagePinProblem(tenant.image, tenant.allowMovingTag ?? defaults.allowMovingTag ?? false);
      if (problem) report(source.issueAt(at("image"), problem));
    }

    const planName = tenant.plan ?? defaults.plan ?? DEFAULT_PLAN;
    const plan = plans.specs[planName];
    if (plan && hosts.byName.has(tenant.host)) {
      const onHost = load.get(tenant.host) ?? [];
      onHost.push({ name: tenant.name, planName, plan });
      load.set(tenant.host, onHost);
    }
  }
  return load;
}

/** Up to this many tenants, a capacity error names them all; beyond, it counts them and names the largest. */
const TENANTS_LISTED = 5;
const LARGEST_LISTED = 3;

/** Capacity: the plans of a host's tenants must fit its server type (memory less the host's reserve, and vCPUs). */
function checkCapacity(source: TenantsSource, hosts: HostTable, load: HostLoad, report: Report): void {
  for (const [hostName, tenants] of load) {
    const host = hosts.byName.get(hostName)!;
    const room = hostRoom(host.value.serverType);
    if (!room) continue;
    const usage = usageOf(tenants.map((t) => t.plan));
    const verdict = capacityVerdict(usage, room);
    if (verdict.fits) continue;
    const problems: string[] = [];
    if (verdict.memoryOver) {
      problems.push(`memory ${formatMemory(usage.memoryBytes)} needed, ${formatMemory(room.memoryAvailableBytes)} available (${room.serverType.memoryBytes / GiB} GB less ${formatMemory(HOST_RESERVED_MEMORY_BYTES)} reserved)`);
    }
    if (verdict.cpuOver) problems.push(`CPU ${formatCpus(usage.cpus)} cores needed, ${room.vcpus} vCPU available`);
    const who =
      tenants.length <= TENANTS_LISTED
        ? `its tenants: ${problems.join("; ")}. Tenants: ${tenants.map((t) => `${t.name} (${t.planName})`).join(", ")}.`
        : `its ${tenants.length} tenants: ${problems.join("; ")}. The largest: ${largestTenants(tenants, verdict.memoryOver, verdict.cpuOver)}.`;
    report(source.issueAt(["hosts", host.index, "serverType"], `host "${hostName}" (${host.value.serverType}) cannot hold ${who} Use a larger serverType or move tenants to another host.`));
  }
}

/** The few tenants that take the most of what is short (memory first), then how many others there are. */
function largestTenants(tenants: Array<{ name: string; planName: string; plan: PlanSpec }>, memoryOver: boolean, cpuOver: boolean): string {
  const byMemory = (a: PlanSpec, b: PlanSpec) => b.memoryBytes - a.memoryBytes;
  const byCpus = (a: PlanSpec, b: PlanSpec) => b.cpus - a.cpus;
  const [first, second] = memoryOver ? [byMemory, byCpus] : [byCpus, byMemory];
  const largest = [...tenants]
    .sort((a, b) => first(a.plan, b.plan) || second(a.plan, b.plan) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, LARGEST_LISTED)
    .map((t) => {
      const sizes = [...(memoryOver ? [formatMemory(t.plan.memoryBytes)] : []), ...(cpuOver ? [`${formatCpus(t.plan.cpus)} CPU`] : [])];
      return `${t.name} (${t.planName}: ${sizes.join(", ")})`;
    });
  const rest = tenants.length - largest.length;
  return `${largest.join(", ")} and ${rest} more`;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

function checkDomain(domain: string, zone: string | undefined): string | undefined {
  if (!HOSTNAME.test(domain)) return `"${domain}" is not a valid domain name (lowercase labels of letters, digits and dashes, separated by dots)`;
  if (zone !== undefined && domain !== zone && !domain.endsWith(`.${zone}`)) {
    return `domain "${domain}" is outside the DNS zone "${zone}" where AgentPod creates records: use a name ending in .${zone}`;
  }
  return undefined;
}

function tenantNameAt(data: Record<string, unknown>, index: number): string {
  const tenant = Array.isArray(data.tenants) ? (data.tenants[index] as { name?: unknown } | undefined) : undefined;
  return typeof tenant?.name === "string" ? tenant.name : `#${index + 1}`;
}
