/**
 * Edits of tenants.yaml for the operator CLI (`agentpod tenant add|remove|set-plan|move`): text in, text out, or
 * the reasons the edit is refused. Pure: no files, no Pulumi.
 *
 * Two rules make an edit safe to write:
 *   - It is validated with checkTenantsFile, exactly as the stack validates, before anything is written. A file that
 *     already has problems is not edited, and an edit that would leave problems is refused with them.
 *   - It keeps the file's comments and formatting. The edit is made on the parsed YAML Document (setIn, addIn,
 *     deleteIn), and the same edit is spliced into the original text at the positions of the Document's nodes, so
 *     every byte outside the edited lines stays as it was (the Document's own serializer would realign comments
 *     and respace flow mappings). The spliced text is accepted only if it parses to exactly the data the Document
 *     edit produced; otherwise the Document's serialization is used (comments kept, alignment normalized) and the
 *     result says so.
 */
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, isSeq, parse, parseDocument, type Document, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from "yaml";
import { capacityVerdict, formatCpus, hostRoom, usageOf } from "./capacity";
import type { PlanSpec } from "./catalog";
import { closest } from "./didYouMean";
import type { Issue } from "./issues";
import { effectivePlans, type FleetPlan, type TenantPlan } from "./plan";
import { DEFAULT_PLAN, type TenantsFile } from "./schema";
import { formatMemory } from "./units";
import { checkTenantsFile, type ValidateOptions } from "./validate";

export interface NewTenant {
  readonly name: string;
  readonly host?: string;
  readonly plan?: string;
  readonly domain?: string;
  readonly image?: string;
  readonly modelProvider?: string;
}

export interface EditDone {
  readonly ok: true;
  /** The new file text (equal to the input when nothing changed). */
  readonly text: string;
  /** False when the edit is a no-op (the value was already set): nothing needs writing. */
  readonly changed: boolean;
  /** False when the text had to be re-serialized by the YAML library (comments kept, alignment normalized). */
  readonly formattingPreserved: boolean;
  readonly before: FleetPlan;
  readonly after: FleetPlan;
  /** For `add` without a host: the host chosen and why. */
  readonly placement?: HostChoice;
}

export type RefusalReason = "invalid" | "refused" | "no-room" | "not-found" | "no-hosts";

export interface EditRefused {
  readonly ok: false;
  readonly reason: RefusalReason;
  /** One line saying why; the issues (if any) follow it. */
  readonly message: string;
  readonly issues: readonly Issue[];
}

export type EditResult = EditDone | EditRefused;

/** Key order of a tenant entry, for new entries and for where a missing key is inserted. */
const TENANT_KEYS = ["name", "host", "plan", "domain", "image", "modelProvider", "allowMovingTag", "sharedModelKey"] as const;

// ---------------------------------------------------------------------------------------------------------------
// The edits

export function addTenant(text: string, tenant: NewTenant, options: ValidateOptions): EditResult {
  return withValidFile(text, options, (current) => {
    let placement: HostChoice | undefined;
    let host = tenant.host;
    if (host === undefined) {
      const planName = tenant.plan ?? current.file.defaults?.plan ?? DEFAULT_PLAN;
      placement = chooseHost(current.fleet, effectivePlans(current.file)[planName]);
      if (!placement) return refuse("no-hosts", `${options.file} has no hosts to place "${tenant.name}" on: add one under \`hosts:\` first`);
      host = placement.host;
    }
    const entries: Array<[string, string]> = [];
    const values: Record<string, string | undefined> = { ...tenant, host };
    for (const key of TENANT_KEYS) {
      const value = values[key];
      if (value !== undefined) entries.push([key, value]);
    }

    const edited = parseDocument(text);
    const original = parseDocument(text);
    const seq = original.get("tenants", true);
    const flowItem = isSeq(seq) && seq.items.length > 0 && isMap(seq.items[seq.items.length - 1]) && (seq.items[seq.items.length - 1] as YAMLMap).flow === true;
    edited.addIn(["tenants"], edited.createNode(Object.fromEntries(entries), { flow: flowItem || (isSeq(seq) && seq.flow === true && seq.items.length > 0) }));
    const splices = isSeq(seq) ? appendSplices(text, original, seq, entries) : undefined;

    const result = finish(text, edited, splices, options, current.fleet);
    if (!result.ok && placement && !placement.fits) {
      const plan = effectivePlans(current.file)[tenant.plan ?? current.file.defaults?.plan ?? DEFAULT_PLAN];
      const needs = plan ? ` (${plan.cpus} CPU, ${formatMemory(plan.memoryBytes)})` : "";
      return { ...result, reason: "no-room", message: `no host has room for another ${tenant.plan ?? current.file.defaults?.plan ?? DEFAULT_PLAN} tenant${needs}; least loaded is ${placement.host}; ${options.file} was not changed:` };
    }
    return result.ok && placement ? { ...result, placement } : result;
  });
}

export function removeTenant(text: string, name: string, options: ValidateOptions): EditResult {
  return withTenant(text, name, options, (current, index) => {
    const edited = parseDocument(text);
    const original = parseDocument(text);
    edited.deleteIn(["tenants", index]);
    const seq = original.get("tenants", true) as YAMLSeq;
    return finish(text, edited, removeSplices(text, original, seq, index), options, current.fleet);
  });
}

/** Removes a host entry (`agentpod host retire`); the validation refuses it while tenants are placed on it. */
export function removeHost(text: string, name: string, options: ValidateOptions): EditResult {
  return withValidFile(text, options, (current) => {
    const index = current.file.hosts.findIndex((h) => h.name === name);
    if (index < 0) return refuse("not-found", `no host "${name}" in ${options.file}`);
    const edited = parseDocument(text);
    const original = parseDocument(text);
    edited.deleteIn(["hosts", index]);
    return finish(text, edited, removeSplices(text, original, original.get("hosts", true) as YAMLSeq, index), options, current.fleet);
  });
}

export function setTenantPlan(text: string, name: string, plan: string, options: ValidateOptions): EditResult {
  return setTenantField(text, name, "plan", plan, options);
}

export function moveTenant(text: string, name: string, host: string, options: ValidateOptions): EditResult {
  return setTenantField(text, name, "host", host, options);
}

/** Sets one field of a tenant entry: the value is replaced in place, or a line is added after its predecessor. */
export function setTenantField(text: string, name: string, key: (typeof TENANT_KEYS)[number], value: string, options: ValidateOptions): EditResult {
  return withTenant(text, name, options, (current, index) => {
    const original = parseDocument(text);
    const item = original.getIn(["tenants", index], true);
    if (isMap(item)) {
      const pair = findPair(item, key);
      if (pair && isScalar(pair.value) && pair.value.value === value) return unchanged(text, current.fleet);
    }
    const edited = parseDocument(text);
    edited.setIn(["tenants", index, key], value);
    const splices = isMap(item) ? setSplices(text, item, key, value) : undefined;
    return finish(text, edited, splices, options, current.fleet);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Placement

export interface HostChoice {
  readonly host: string;
  /** Whether the plan fits next to the host's tenants (memory less the reserve, and vCPUs). */
  readonly fits: boolean;
  /** Memory and CPU in use on the host with the new tenant placed, as shares of what the server type offers. */
  readonly memoryShare: number;
  readonly cpuShare: number;
  readonly memoryUsedBytes: number;
  readonly memoryAvailableBytes: number;
  readonly cpusUsed: number;
  readonly vcpus: number;
}

/**
 * The host for a new tenant: among the hosts with room for its plan, the least loaded once it is placed, by share of
 * the server type's memory (less the host reserve), then of its vCPUs, then by name. When no host has room, the
 * least loaded host all the same (`fits: false`), so that the validator reports the capacity problem there.
 */
export function chooseHost(fleet: FleetPlan, plan: Pick<PlanSpec, "cpus" | "memoryBytes"> | undefined): HostChoice | undefined {
  const need = plan ?? { cpus: 0, memoryBytes: 0 };
  const choices: HostChoice[] = [];
  for (const host of fleet.hosts) {
    const room = hostRoom(host.serverType);
    if (!room) continue;
    const usage = usageOf([...fleet.tenants.filter((t) => t.host === host.name).map((t) => t.plan), need]);
    choices.push({
      host: host.name,
      fits: capacityVerdict(usage, room).fits,
      memoryShare: usage.memoryBytes / room.memoryAvailableBytes,
      cpuShare: usage.cpus / room.vcpus,
      memoryUsedBytes: usage.memoryBytes,
      memoryAvailableBytes: room.memoryAvailableBytes,
      cpusUsed: usage.cpus,
      vcpus: room.vcpus,
    });
  }
  choices.sort((a, b) => Number(b.fits) - Number(a.fits) || a.memoryShare - b.memoryShare || a.cpuShare - b.cpuShare || (a.host < b.host ? -1 : 1));
  return choices[0];
}

export function describePlacement(choice: HostChoice): string {
  const memory = `${formatMemory(choice.memoryUsedBytes)} of ${formatMemory(choice.memoryAvailableBytes)} memory`;
  const cpus = `${formatCpus(choice.cpusUsed)} of ${choice.vcpus} vCPU`;
  return `${choice.host} is the least loaded host with room: ${memory} and ${cpus} in use with the new tenant`;
}

// ---------------------------------------------------------------------------------------------------------------
// Listing

export interface TenantRow {
  readonly name: string;
  readonly host: string;
  readonly plan: string;
  readonly cpus: number;
  readonly memory: string;
  readonly domain: string;
  readonly image: string;
  readonly modelProvider: string;
}

export function tenantRows(fleet: FleetPlan): TenantRow[] {
  return fleet.tenants.map((t: TenantPlan) => ({
    name: t.name,
    host: t.host,
    plan: t.planName,
    cpus: t.plan.cpus,
    memory: formatMemory(t.plan.memoryBytes),
    domain: t.domain,
    image: t.image,
    modelProvider: t.modelProvider,
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Validation around an edit

interface ValidFile {
  file: TenantsFile;
  fleet: FleetPlan;
}

function refuse(reason: RefusalReason, message: string, issues: readonly Issue[] = []): EditRefused {
  return { ok: false, reason, message, issues };
}

const problems = (count: number) => (count === 1 ? "1 problem" : `${count} problems`);

function withValidFile(text: string, options: ValidateOptions, edit: (current: ValidFile) => EditResult): EditResult {
  const current = checkTenantsFile(text, options);
  if (!current.fleet || !current.file) {
    return refuse("invalid", `${options.file} has ${problems(current.issues.length)}; fix them before editing it (nothing was changed):`, current.issues);
  }
  return edit({ file: current.file, fleet: current.fleet });
}

function withTenant(text: string, name: string, options: ValidateOptions, edit: (current: ValidFile, index: number) => EditResult): EditResult {
  return withValidFile(text, options, (current) => {
    const index = current.file.tenants.findIndex((t) => t.name === name);
    if (index < 0) {
      const names = current.file.tenants.map((t) => t.name);
      const near = closest(name, names);
      const hint = near ? ` Did you mean "${near}"?` : "";
      return refuse("not-found", `no tenant "${name}" in ${options.file}.${hint}${names.length ? ` Tenants: ${[...names].sort().join(", ")}.` : ""}`);
    }
    return edit(current, index);
  });
}

function unchanged(text: string, fleet: FleetPlan): EditDone {
  return { ok: true, text, changed: false, formattingPreserved: true, before: fleet, after: fleet };
}

interface Splice {
  start: number;
  end: number;
  insert: string;
}

/** Applies the splices from last to first; inserted lines end the way the file's lines do (LF or CRLF). */
function applySplices(text: string, splices: readonly Splice[]): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  let out = text;
  for (const s of [...splices].sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.insert.replace(/\n/g, eol) + out.slice(s.end);
  return out;
}

/** Picks the text (spliced when it is faithful to the Document edit), then validates it as the stack would. */
function finish(text: string, edited: Document, splices: readonly Splice[] | undefined, options: ValidateOptions, before: FleetPlan): EditResult {
  // The file passed validation, which bounds what its aliases expand to (TenantsSource.aliasIssues); the edit adds none.
  const expected = edited.toJS({ maxAliasCount: -1 });
  let next: string | undefined;
  if (splices) {
    const candidate = applySplices(text, splices);
    const reparsed = parseDocument(candidate);
    if (reparsed.errors.length === 0 && isDeepStrictEqual(toDataOrUndefined(reparsed), expected)) next = candidate;
  }
  const formattingPreserved = next !== undefined;
  next ??= edited.toString();
  const result = checkTenantsFile(next, options);
  if (!result.fleet) {
    return refuse("refused", `refused: with this change ${options.file} would have ${problems(result.issues.length)} (lines as they would be after the edit); it was not changed:`, result.issues);
  }
  return { ok: true, text: next, changed: next !== text, formattingPreserved, before, after: result.fleet };
}

/** The spliced text's data; undefined (not faithful) if its aliases do not resolve or expand too far. */
function toDataOrUndefined(doc: Document): unknown {
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Splicing: where in the original text an edit goes

const spaces = (count: number) => " ".repeat(Math.max(0, count));

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

/** The position just after the end of the line that `pos` is on (or `pos` itself when it starts a line). */
function endOfLine(text: string, pos: number): number {
  if (pos > 0 && text[pos - 1] === "\n") return pos;
  const newline = text.indexOf("\n", pos);
  return newline < 0 ? text.length : newline + 1;
}

const columnOf = (text: string, pos: number) => pos - lineStart(text, pos);

/** A scalar as YAML text: plain when that reads back as the same string, else quoted; keeps an existing quote style. */
export function renderScalar(value: string, flow: boolean, like?: Scalar): string {
  if (like?.type === "QUOTE_DOUBLE") return JSON.stringify(value);
  if (like?.type === "QUOTE_SINGLE") return `'${value.replace(/'/g, "''")}'`;
  const plainSafe = /^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$/.test(value) && !value.endsWith(":") && !(flow && /[,[\]{}]/.test(value));
  if (plainSafe && parse(value) === value) return value;
  return JSON.stringify(value);
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key);
}

function nodeRange(node: unknown): [number, number, number] | undefined {
  const range = (node as { range?: [number, number, number] | null } | null)?.range;
  return range ?? undefined;
}

/** The `-` that opens a block sequence item, when only whitespace lies between it and the item. */
function dashOf(text: string, itemStart: number): number | undefined {
  const dash = text.lastIndexOf("-", itemStart - 1);
  if (dash < 0 || !/^-[ \t\r\n]*$/.test(text.slice(dash, itemStart))) return undefined;
  return dash;
}

function rootPair(doc: Document, key: string): Pair | undefined {
  return isMap(doc.contents) ? findPair(doc.contents, key) : undefined;
}

function blockItem(entries: ReadonlyArray<[string, string]>, dashColumn: number, keyColumn: number): string {
  return entries.map(([key, value], i) => (i === 0 ? `${spaces(dashColumn)}-${spaces(keyColumn - dashColumn - 1)}` : spaces(keyColumn)) + `${key}: ${renderScalar(value, false)}`).join("\n") + "\n";
}

const flowItem = (entries: ReadonlyArray<[string, string]>) => `{ ${entries.map(([key, value]) => `${key}: ${renderScalar(value, true)}`).join(", ")} }`;

function appendSplices(text: string, doc: Document, seq: YAMLSeq, entries: ReadonlyArray<[string, string]>): Splice[] | undefined {
  const seqRange = nodeRange(seq);
  if (!seqRange) return undefined;
  const last = seq.items[seq.items.length - 1];
  if (seq.flow) {
    if (last !== undefined) {
      const lastRange = nodeRange(last);
      return lastRange ? [{ start: lastRange[1], end: lastRange[1], insert: `, ${flowItem(entries)}` }] : undefined;
    }
    // `tenants: []` becomes a block sequence: the brackets go, the item follows the key's line.
    const pair = rootPair(doc, "tenants");
    const keyRange = nodeRange(pair?.key);
    if (!keyRange) return undefined;
    const keyColumn = columnOf(text, keyRange[0]);
    let start = seqRange[0];
    while (start > 0 && (text[start - 1] === " " || text[start - 1] === "\t")) start--;
    const after = endOfLine(text, seqRange[1]);
    const newline = after === text.length && !text.endsWith("\n") ? "\n" : "";
    return [
      { start, end: seqRange[1], insert: "" },
      { start: after, end: after, insert: newline + blockItem(entries, keyColumn + 2, keyColumn + 4) },
    ];
  }
  const lastRange = nodeRange(last);
  if (!lastRange) return undefined;
  const dash = dashOf(text, lastRange[0]);
  if (dash === undefined) return undefined;
  const dashColumn = columnOf(text, dash);
  const keyColumn = lineStart(text, dash) === lineStart(text, lastRange[0]) ? columnOf(text, lastRange[0]) : dashColumn + 2;
  const at = endOfLine(text, lastRange[2]);
  const newline = at === text.length && !text.endsWith("\n") ? "\n" : "";
  const item = isMap(last) && last.flow ? `${spaces(dashColumn)}-${spaces(keyColumn - dashColumn - 1)}${flowItem(entries)}\n` : blockItem(entries, dashColumn, keyColumn);
  return [{ start: at, end: at, insert: newline + item }];
}

function removeSplices(text: string, doc: Document, seq: YAMLSeq, index: number): Splice[] | undefined {
  const item = seq.items[index];
  const range = nodeRange(item);
  if (!range) return undefined;
  if (seq.flow) {
    const next = nodeRange(seq.items[index + 1]);
    const previous = nodeRange(seq.items[index - 1]);
    if (next) return [{ start: range[0], end: next[0], insert: "" }];
    if (previous) return [{ start: previous[1], end: range[1], insert: "" }];
    return [{ start: range[0], end: range[1], insert: "" }];
  }
  const dash = dashOf(text, range[0]);
  if (dash === undefined) return undefined;
  const lines: Splice = { start: lineStart(text, dash), end: endOfLine(text, range[2]), insert: "" };
  if (seq.items.length > 1) return [lines];
  // The last tenant: the list stays, empty, as `tenants: []`.
  const keyRange = nodeRange(rootPair(doc, "tenants")?.key);
  if (!keyRange) return undefined;
  const colon = text.indexOf(":", keyRange[1]);
  if (colon < 0 || colon > lines.start) return undefined;
  return [{ start: colon + 1, end: colon + 1, insert: " []" }, lines];
}

function setSplices(text: string, item: YAMLMap, key: string, value: string): Splice[] | undefined {
  const flow = item.flow === true;
  const pair = findPair(item, key);
  if (pair) {
    const valueRange = nodeRange(pair.value);
    if (!isScalar(pair.value) || !valueRange) return undefined;
    return [{ start: valueRange[0], end: valueRange[1], insert: renderScalar(value, flow, pair.value) }];
  }
  // A missing key goes after the last key that precedes it in the usual order (or after the last key).
  const order = TENANT_KEYS as readonly string[];
  const before = new Set(order.slice(0, order.indexOf(key)));
  const anchor = [...item.items].reverse().find((p) => isScalar(p.key) && before.has(String(p.key.value))) ?? item.items[item.items.length - 1];
  const anchorRange = nodeRange(anchor?.value);
  const itemRange = nodeRange(item);
  if (!anchorRange || !itemRange) return undefined;
  if (flow) return [{ start: anchorRange[1], end: anchorRange[1], insert: `, ${key}: ${renderScalar(value, true)}` }];
  const at = endOfLine(text, anchorRange[2]);
  const newline = at === text.length && !text.endsWith("\n") ? "\n" : "";
  return [{ start: at, end: at, insert: `${newline}${spaces(columnOf(text, itemRange[0]))}${key}: ${renderScalar(value, false)}\n` }];
}
