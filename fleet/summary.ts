/**
 * The tenant-level change summary: two resolved fleets (the base branch's and the working tree's) compared in an
 * operator's words, with what each change does to the running tenant. It compares FleetPlans, never YAML, so
 * defaults and plan definitions propagate (a new defaults.image lists every tenant that runs it) and reordering or
 * commenting the file is no change at all. The consequences follow the program and its providers (DESIGN.md, "Diff
 * semantics"), as fleet/containerChanges.ts states them once for the summary and the components: a CPU change
 * recreates the container, memory and pids limits update in place, image, domain and model provider changes replace
 * the container, the data volume is kept in every case, and a move or a new host location needs the data migrated.
 * Pure: no Git, no files, no Pulumi.
 */
import { serverTypeOf, type PlanSpec } from "./catalog";
import type { FleetPlan, HostPlan, TenantPlan } from "./plan";
import { formatMemory } from "./units";
import { parseImageReference } from "./images";
import { TENANT_FIELDS, changedTenantFields, tenantChangeEffect, tenantFieldEffect } from "./containerChanges";
import { sharedKeyTenants, sharedKeyWarning } from "./modelKeys";

export type ChangeKind =
  | "tenant-added"
  | "tenant-removed"
  | "tenant-changed"
  | "tenant-moved"
  | "host-added"
  | "host-removed"
  | "host-changed"
  | "host-relocated";

/** `+` new, `-` gone, `~` changed, `!` needs the operator's attention (data must be migrated). */
export type ChangeSymbol = "+" | "-" | "~" | "!";

export interface FleetChange {
  readonly kind: ChangeKind;
  readonly subject: "tenant" | "host";
  readonly name: string;
  readonly symbol: ChangeSymbol;
  /** What changes, e.g. "plan basic -> pro" or "new, pro on fsn1-a". */
  readonly what: string;
  /** What it does to the running fleet, e.g. "container restarts, data kept"; shown in parentheses. */
  readonly effect?: string;
  /** Tenants whose container is recreated or restarted by this change. */
  readonly restarts: readonly string[];
  /** Data volumes whose contents must be moved to another server (0 or 1). */
  readonly migrations: number;
  /** Data volumes deleted by this change. AgentPod retains them on every removal, so this stays 0. */
  readonly deletions: number;
}

export interface Risk {
  /** Distinct tenants whose container restarts (recreated, replaced, or on a resized host). */
  readonly restarts: number;
  readonly migrations: number;
  readonly deletions: number;
}

export interface FleetSummary {
  readonly changes: readonly FleetChange[];
  readonly risk: Risk;
  /** Standing risks of the fleet after the change, shown with every summary: tenants sharing a fleet-wide model key. */
  readonly warnings: readonly string[];
}

export const EMPTY_FLEET: FleetPlan = { hosts: [], tenants: [] };

/** Every change from `before` to `after`: tenants first, then hosts, each sorted by name. */
export function summarizeFleetChanges(before: FleetPlan, after: FleetPlan): FleetSummary {
  const changes = [...tenantChanges(before, after), ...hostChanges(before, after)];
  const restarted = new Set(changes.flatMap((c) => c.restarts));
  return {
    changes,
    warnings: sharedKeyTenants(after).map((t) => sharedKeyWarning(t)),
    risk: {
      restarts: restarted.size,
      migrations: changes.reduce((n, c) => n + c.migrations, 0),
      deletions: changes.reduce((n, c) => n + c.deletions, 0),
    },
  };
}

function byName<T extends { name: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [item.name, item]));
}

function sortedNames(a: Map<string, unknown>, b: Map<string, unknown>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].sort();
}

function change(fields: Omit<FleetChange, "restarts" | "migrations" | "deletions"> & Partial<Pick<FleetChange, "restarts" | "migrations" | "deletions">>): FleetChange {
  return { restarts: [], migrations: 0, deletions: 0, ...fields };
}

function tenantChanges(before: FleetPlan, after: FleetPlan): FleetChange[] {
  const old = byName(before.tenants);
  const now = byName(after.tenants);
  const result: FleetChange[] = [];
  for (const name of sortedNames(old, now)) {
    const a = old.get(name);
    const b = now.get(name);
    if (!a && b) {
      result.push(change({ kind: "tenant-added", subject: "tenant", name, symbol: "+", what: `new, ${b.planName} on ${b.host}` }));
    } else if (a && !b) {
      result.push(change({ kind: "tenant-removed", subject: "tenant", name, symbol: "-", what: "removed, data volume retained" }));
    } else if (a && b) {
      const edited = tenantEdit(a, b);
      if (a.host !== b.host) {
        const also = edited.parts.length ? `; also ${edited.parts.join(", ")}` : "";
        result.push(
          change({ kind: "tenant-moved", subject: "tenant", name, symbol: "!", what: `moves ${a.host} -> ${b.host}, data migration required (apply with \`agentpod tenant move ${name} ${b.host}\`)${also}`, migrations: 1 }),
        );
      } else if (edited.parts.length > 0) {
        result.push(
          change({
            kind: "tenant-changed",
            subject: "tenant",
            name,
            symbol: "~",
            what: edited.parts.join(", "),
            effect: edited.effect,
            restarts: edited.restarts ? [name] : [],
          }),
        );
      }
    }
  }
  return result;
}

interface TenantEdit {
  parts: string[];
  effect: string;
  restarts: boolean;
}

/** What changed on a tenant that stays on its host, and what that does to its container (fleet/containerChanges.ts). */
function tenantEdit(a: TenantPlan, b: TenantPlan): TenantEdit {
  const parts: string[] = [];
  const limits = limitChanges(a.plan, b.plan);
  if (a.planName !== b.planName) parts.push(`plan ${a.planName} -> ${b.planName}`);
  else if (limits.length > 0) parts.push(`plan ${b.planName} changes: ${limits.join(", ")}`);
  if (a.image !== b.image) parts.push(`image ${imageChange(a.image, b.image)}`);
  if (a.domain !== b.domain) parts.push(`domain ${a.domain} -> ${b.domain}`);
  if (a.modelProvider !== b.modelProvider) parts.push(`model provider ${a.modelProvider} -> ${b.modelProvider}`);
  const keySharing = a.sharedModelKey !== b.sharedModelKey;
  if (keySharing) parts.push(b.sharedModelKey ? `shares the fleet-wide ${b.modelProvider} key (sharedModelKey: true)` : `stops sharing the fleet-wide ${b.modelProvider} key`);

  const fields = changedTenantFields(a, b);
  const effect = tenantChangeEffect(fields);
  const effects: string[] = [];
  if (fields.some((f) => TENANT_FIELDS[f].dns)) effects.push("DNS record and routing change");
  if (effect === "replace") {
    // New limits alone (a CPU change): the same gateway restarts. Anything else: a container of another kind.
    const limitsOnly = fields.filter((f) => tenantFieldEffect(f) === "replace").every((f) => TENANT_FIELDS[f].limit);
    effects.push(limitsOnly ? "container restarts" : "container replaced", "data kept");
  } else if (keySharing) {
    // Which key it gets depends on the stack's config too (its own key wins): stated, not counted as a restart.
    effects.push("container replaced unless it has a model key of its own", "data kept");
  } else if (effect === "update" || fields.some((f) => TENANT_FIELDS[f].limit)) effects.push("limits change in place", "no restart");
  else effects.push("same limits, no restart");
  return { parts, effect: effects.join(", "), restarts: effect === "replace" };
}

function limitChanges(a: PlanSpec | undefined, b: PlanSpec | undefined): string[] {
  const out: string[] = [];
  const cpus = (p?: PlanSpec) => (p ? String(p.cpus) : "?");
  const memory = (p?: PlanSpec) => (p ? formatMemory(p.memoryBytes) : "?");
  const pids = (p?: PlanSpec) => (p ? String(p.pids) : "?");
  if (a?.cpus !== b?.cpus) out.push(`cpus ${cpus(a)} -> ${cpus(b)}`);
  if (a?.memoryBytes !== b?.memoryBytes) out.push(`memory ${memory(a)} -> ${memory(b)}`);
  if (a?.pids !== b?.pids) out.push(`pids ${pids(a)} -> ${pids(b)}`);
  if (a?.requestsPerMinute !== b?.requestsPerMinute) out.push(`requests/min ${a?.requestsPerMinute ?? "?"} -> ${b?.requestsPerMinute ?? "?"}`);
  if (a?.diskBytes !== b?.diskBytes) {
    const disk = (p?: PlanSpec) => (p ? formatMemory(p.diskBytes) : "?");
    const shrinks = a && b && b.diskBytes < a.diskBytes;
    out.push(`disk ${disk(a)} -> ${disk(b)}${shrinks ? " (refused: a disk never shrinks)" : ""}`);
  }
  return out;
}

/** "2026.9.3 -> 2026.9.6" when only the tag or digest changes, the full references otherwise. */
export function imageChange(from: string, to: string): string {
  const a = splitImage(from);
  const b = splitImage(to);
  if (a.repository === b.repository && a.version && b.version) return `${a.version} -> ${b.version}`;
  return `${from} -> ${to}`;
}

/** Repository and a short version (tag, or abbreviated digest), from the shared image reference parser. */
function splitImage(reference: string): { repository: string; version?: string } {
  const { repository, tag, digest } = parseImageReference(reference);
  if (digest !== undefined) {
    const [algorithm, hex = ""] = digest.split(":");
    return { repository, version: hex.length > 12 ? `${algorithm}:${hex.slice(0, 12)}` : digest };
  }
  return tag === undefined ? { repository } : { repository, version: tag };
}

function hostChanges(before: FleetPlan, after: FleetPlan): FleetChange[] {
  const old = byName(before.hosts);
  const now = byName(after.hosts);
  const result: FleetChange[] = [];
  for (const name of sortedNames(old, now)) {
    const a = old.get(name);
    const b = now.get(name);
    if (!a && b) {
      result.push(change({ kind: "host-added", subject: "host", name, symbol: "+", what: `new, ${b.serverType} in ${b.location}` }));
    } else if (a && !b) {
      result.push(change({ kind: "host-removed", subject: "host", name, symbol: "-", what: "removed: apply with `agentpod host retire` (refused while tenants or data remain; deletes the server, keeps the data volume); a plain `up` is refused by the server's protection" }));
    } else if (a && b) result.push(...hostEdit(a, b));
  }
  return result;
}

function hostEdit(a: HostPlan, b: HostPlan): FleetChange[] {
  const result: FleetChange[] = [];
  const name = b.name;
  if (a.location !== b.location) {
    result.push(
      change({ kind: "host-relocated", subject: "host", name, symbol: "!", what: `location ${a.location} -> ${b.location}, new server required, data migration`, migrations: 1 }),
    );
  }
  if (a.serverType !== b.serverType) {
    const size = (type: string) => {
      const t = serverTypeOf(type);
      return t ? ` (${t.vcpus} vCPU, ${t.memoryBytes / 1024 ** 3} GB)` : "";
    };
    // Tenants that move onto or off this host are counted as migrations, not as restarts here.
    const restarts = b.tenants.filter((t) => a.tenants.includes(t));
    const tenants = restarts.length === 0 ? "no tenants on it restart" : `every tenant on it restarts (${restarts.join(", ")})`;
    result.push(
      change({
        kind: "host-changed",
        subject: "host",
        name,
        symbol: "~",
        what: `server type ${a.serverType}${size(a.serverType)} -> ${b.serverType}${size(b.serverType)}, resized in place with a power-off: ${tenants}`,
        restarts,
      }),
    );
  }
  if (a.dataVolumeGb !== b.dataVolumeGb) {
    const grows = b.dataVolumeGb > a.dataVolumeGb;
    result.push(
      change({
        kind: "host-changed",
        subject: "host",
        name,
        symbol: grows ? "~" : "!",
        what: `data volume ${a.dataVolumeGb} GB -> ${b.dataVolumeGb} GB`,
        effect: grows ? "grows in place, no restart" : "a volume cannot shrink: the update will fail",
      }),
    );
  }
  return result;
}

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

export function formatRisk(risk: Risk): string {
  return `${plural(risk.restarts, "container restarts", "containers restart")}, ${plural(risk.migrations, "data migration", "data migrations")}, ${risk.deletions} data deleted`;
}

/** One line per change: `~ foo: plan basic -> pro (container restarts, data kept)`; hosts are prefixed "host". */
export function formatChange(c: FleetChange): string {
  const subject = c.subject === "host" ? `host ${c.name}` : c.name;
  return `${c.symbol} ${subject}: ${c.what}${c.effect ? ` (${c.effect})` : ""}`;
}

/** The plain-text summary: change lines, then the risk line; "no tenant changes" when nothing changes. */
export function renderSummaryText(summary: FleetSummary): string {
  const warnings = summary.warnings.map((w) => `warning: ${w}\n`).join("");
  if (summary.changes.length === 0) return "no tenant changes\n" + warnings;
  const lines = summary.changes.map(formatChange);
  if (!summary.changes.some((c) => c.subject === "tenant")) lines.unshift("no tenant changes");
  lines.push(`risk: ${formatRisk(summary.risk)}`);
  return lines.join("\n") + "\n" + warnings;
}

export interface MarkdownOptions {
  /** Git ref compared against, e.g. "origin/main". */
  readonly base?: string;
  /** The tenants file, as named in the repository. */
  readonly file?: string;
}

const MARKDOWN_SYMBOL: Record<ChangeSymbol, string> = { "+": "🟢 add", "-": "🔴 remove", "~": "🟡 change", "!": "⚠️ attention" };

const escapeCell = (text: string) => text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The summary as the pull-request comment shows it, above the raw Pulumi diff. */
export function renderSummaryMarkdown(summary: FleetSummary, options: MarkdownOptions = {}): string {
  const compared = options.base || options.file ? `\n\nComparing \`${options.file ?? "tenants.yaml"}\`${options.base ? ` at \`${options.base}\`` : ""} with this change.` : "";
  const lines = [`### Tenant changes${compared}`, ""];
  const warnings = summary.warnings.map((w) => `> ⚠️ **Shared model key:** ${escapeCell(w)}`);
  if (summary.changes.length === 0) {
    lines.push("No tenant changes.");
    if (warnings.length > 0) lines.push("", ...warnings);
    return lines.join("\n") + "\n";
  }
  lines.push("| | | change |", "|---|---|---|");
  for (const c of summary.changes) {
    const name = c.subject === "host" ? `host \`${c.name}\`` : `\`${c.name}\``;
    const what = escapeCell(c.what.replace(/ -> /g, " → "));
    const effect = c.effect ? ` (${escapeCell(c.effect)})` : "";
    const text = c.symbol === "!" ? `**${what}**${effect}` : `${what}${effect}`;
    lines.push(`| ${MARKDOWN_SYMBOL[c.symbol]} | ${name} | ${text} |`);
  }
  const risky = summary.risk.migrations > 0 || summary.risk.deletions > 0;
  lines.push("", `${risky ? "⚠️ " : ""}**Risk:** ${formatRisk(summary.risk)}`);
  if (warnings.length > 0) lines.push("", ...warnings);
  return lines.join("\n") + "\n";
}
