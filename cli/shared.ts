/**
 * What the CLI's commands share: usage and refusal errors with their exit codes, strict argument parsing, tables,
 * and the tenants file (locating, reading and replacing it, and the domain suffix and zone the stack validates it
 * with). Each command lives in its own file and uses these.
 */
import { chmodSync, existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { parse as parseYaml } from "yaml";
import { formatIssue, type Issue } from "../fleet/issues";
import { decodeTenantsFile } from "../fleet/source";
import { LOCAL_ZONE } from "../fleet/localServers";
import type { ValidateOptions } from "../fleet/validate";

/** Bad usage: exit status 2, with the command's usage. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A refused or failed command: exit status 1, with the problems listed under the message. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    message: string,
    readonly issues: readonly Issue[] = [],
  ) {
    super(message);
  }
}

export type Handler = (args: string[]) => Promise<number>;

/** Runs a command body, turning usage errors into status 2 and refusals into status 1. */
export async function runCommand(usage: string, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`agentpod: ${error.message}\n\n${usage}`);
      return 2;
    }
    if (error instanceof CommandError) {
      console.error(`agentpod: ${error.message}${error.issues.map((i) => `\n  ${formatIssue(i)}`).join("")}`);
      return 1;
    }
    if (error instanceof Error && error.name === "GitError") {
      console.error(`agentpod: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** Parses options strictly; `undefined` when --help was asked for (the usage is printed). */
export function parseCommand<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  usage: string,
  positionals: { names: readonly string[]; optional?: number } = { names: [] },
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, "") : String(error));
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    return undefined;
  }
  const required = positionals.names.length - (positionals.optional ?? 0);
  if (parsed.positionals.length < required) throw new UsageError(`missing ${positionals.names.slice(parsed.positionals.length, required).map((n) => `<${n}>`).join(" ")}`);
  if (parsed.positionals.length > positionals.names.length) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.names.length]}"`);
  return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}

export interface TenantsFileRef {
  /** Absolute path. */
  readonly path: string;
  /** As messages name it: the path as given, default "tenants.yaml". */
  readonly display: string;
}

/** The tenants file: --file, or tenants.yaml in the working directory. */
export function tenantsFileRef(file: string | undefined): TenantsFileRef {
  const display = file ?? "tenants.yaml";
  return { path: path.resolve(display), display };
}

export function readTenantsFile(ref: TenantsFileRef): string {
  if (!existsSync(ref.path)) throw new CommandError(`${ref.display} not found: run this where tenants.yaml is, or pass --file <path>`);
  return tenantsText(ref.display, readFileSync(ref.path));
}

/** A tenants file's bytes as text; refused when they are not UTF-8 (an edit would otherwise write replacements back). */
export function tenantsText(display: string, bytes: Uint8Array): string {
  const decoded = decodeTenantsFile(display, bytes);
  if ("issue" in decoded) throw new CommandError(`${display} has 1 problem; nothing was changed:`, [decoded.issue]);
  return decoded.text;
}

/** Replaces the file in one step (write aside, then rename), keeping its permissions. */
export function writeTenantsFile(ref: TenantsFileRef, text: string): void {
  const temporary = path.join(path.dirname(ref.path), `.${path.basename(ref.path)}.agentpod-${process.pid}.tmp`);
  writeFileSync(temporary, text);
  chmodSync(temporary, statSync(ref.path).mode & 0o7777);
  renameSync(temporary, ref.path);
}

export interface DomainOptions {
  readonly domainSuffix: string;
  readonly zone?: string;
}

/**
 * The domain suffix and DNS zone the stack validates this tenants file with: --zone when given; otherwise from the
 * Pulumi.<stack>.yaml files of the project (the nearest directory with a Pulumi.yaml) whose agentpod:tenantsFile
 * is this file: a hetzner stack's agentpod:zone, or LOCAL_ZONE for a local stack. Without a project or a matching
 * stack, LOCAL_ZONE and no zone check.
 */
export function domainOptionsFor(tenantsFile: string, zone: string | undefined): DomainOptions {
  if (zone !== undefined) {
    const normalized = zone.trim().toLowerCase().replace(/\.$/, "");
    if (!/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/.test(normalized)) throw new UsageError(`--zone "${zone}" is not a DNS zone name such as agents.example.com`);
    return { domainSuffix: normalized, zone: normalized };
  }
  const file = path.resolve(tenantsFile);
  let dir = path.dirname(file);
  while (!existsSync(path.join(dir, "Pulumi.yaml"))) {
    const parent = path.dirname(dir);
    if (parent === dir) return { domainSuffix: LOCAL_ZONE };
    dir = parent;
  }
  const zones = new Map<string, string[]>();
  for (const name of readdirSync(dir).filter((n) => /^Pulumi\.[^.]+\.yaml$/.test(n)).sort()) {
    let config: Record<string, unknown> = {};
    try {
      const parsed = parseYaml(readFileSync(path.join(dir, name), "utf8")) as { config?: Record<string, unknown> } | null;
      config = parsed?.config ?? {};
    } catch {
      continue;
    }
    const tenantsFileSetting = typeof config["agentpod:tenantsFile"] === "string" ? (config["agentpod:tenantsFile"] as string) : "tenants.yaml";
    if (path.resolve(dir, tenantsFileSetting) !== file) continue;
    const stack = name.slice("Pulumi.".length, -".yaml".length);
    if (config["agentpod:target"] === "hetzner" && typeof config["agentpod:zone"] === "string") {
      const stackZone = (config["agentpod:zone"] as string).toLowerCase();
      zones.set(stackZone, [...(zones.get(stackZone) ?? []), stack]);
    }
  }
  if (zones.size > 1) {
    const list = [...zones].map(([z, stacks]) => `${stacks.join(", ")} (${z})`).join("; ");
    throw new UsageError(`${path.relative(process.cwd(), file) || file} is deployed by stacks with different zones: ${list}. Pass --zone`);
  }
  const [only] = zones.keys();
  if (only) return { domainSuffix: only, zone: only };
  return { domainSuffix: LOCAL_ZONE };
}

export function validateOptions(ref: TenantsFileRef, zone: string | undefined): ValidateOptions {
  return { file: ref.display, ...domainOptionsFor(ref.path, zone) };
}

/** Columns padded to their widest cell, two spaces apart. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
