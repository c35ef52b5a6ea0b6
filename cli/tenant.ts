/**
 * `agentpod tenant add|remove|set-plan|move|list`: edits of tenants.yaml that keep its comments and formatting and
 * are validated exactly as the stack validates before anything is written (the edit logic is fleet/edit.ts).
 * Also the small helpers the other file commands share: argument parsing with usage errors, locating the tenants
 * file, and the domain suffix and zone the stack would validate it with.
 */
import { chmodSync, existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { parse as parseYaml } from "yaml";
import { addTenant, describePlacement, moveTenant, removeTenant, setTenantPlan, tenantRows, type EditResult } from "../fleet/edit";
import { formatIssue, type Issue } from "../fleet/issues";
import { summarizeFleetChanges, formatChange } from "../fleet/summary";
import { checkTenantsFile, type ValidateOptions } from "../fleet/validate";

// ---------------------------------------------------------------------------------------------------------------
// Shared by the file commands (tenant, summary, status)

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
  return readFileSync(ref.path, "utf8");
}

/** Replaces the file in one step (write aside, then rename), keeping its permissions. */
function writeTenantsFile(ref: TenantsFileRef, text: string): void {
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
 * is this file: a hetzner stack's agentpod:zone, or "localhost" for a local stack. Without a project or a matching
 * stack, "localhost" and no zone check.
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
    if (parent === dir) return { domainSuffix: "localhost" };
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
  return { domainSuffix: "localhost" };
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

// ---------------------------------------------------------------------------------------------------------------
// agentpod tenant ...

const FILE_OPTIONS = {
  file: { type: "string", short: "f" },
  zone: { type: "string" },
} as const;

const FILE_HELP = `  --file <path>    the tenants file (default: ./tenants.yaml)
  --zone <zone>    DNS zone for default domains and the zone check (default: from the project's Pulumi.<stack>.yaml
                   that uses this file; "localhost" when there is none)`;

const AFTER_EDIT = `The edit is validated as \`agentpod up\` validates tenants.yaml before anything is written: if the result would
have a problem, nothing is written and the problems are listed (exit status 1). Comments and formatting outside
the edited lines are kept. Nothing runs until the change is applied (\`agentpod up\`, or merging the pull request).`;

const USAGE = {
  tenant: `agentpod tenant <subcommand> [options]

Edit the tenants of tenants.yaml, keeping its comments and formatting.

Subcommands:
  add <name> [--host H] [--plan P] [--domain D] [--image I] [--model-provider M]
                          add a tenant; without --host, on the least loaded host with room for its plan
  remove <name>           remove a tenant; its data volume is retained on its host
  set-plan <name> <plan>  change a tenant's plan
  move <name> <host>      place a tenant on another host (its data must be migrated)
  list [--json]           the tenants: name, host, plan, domain, image

Every subcommand takes --file <path> (default ./tenants.yaml) and --zone <zone>.
Run \`agentpod tenant <subcommand> --help\` for details.
Exit status: 0 success, 1 refused (the file is left untouched), 2 bad usage.`,
  add: `agentpod tenant add <name> [--host H] [--plan P] [--domain D] [--image I] [--model-provider M] [--file F]

Adds a tenant at the end of \`tenants:\`. Only the options given are written; the others come from \`defaults:\`.
  --host <host>              the host to run on. Default: among the hosts with room for the plan, the least loaded
                             once the tenant is placed (share of the server type's memory less the 1Gi reserve,
                             then of its vCPUs). When no host has room, the capacity error is shown.
  --plan <plan>              plan name (default: defaults.plan)
  --domain <domain>          public host name (default: <name>.<zone>)
  --image <image>            image override, pinned by tag or digest (default: defaults.image)
  --model-provider <name>    which model key the gateway gets (default: defaults.modelProvider)
${FILE_HELP}

${AFTER_EDIT}`,
  remove: `agentpod tenant remove <name> [--file F]

Removes a tenant from tenants.yaml. When applied, its container, network and DNS record go; its data volume is
retained on its host (not deleted).
${FILE_HELP}

${AFTER_EDIT}`,
  "set-plan": `agentpod tenant set-plan <name> <plan> [--file F]

Sets a tenant's plan. When applied, a memory or pids change updates the limits in place; a CPU change recreates
the container. The data volume is kept either way.
${FILE_HELP}

${AFTER_EDIT}`,
  move: `agentpod tenant move <name> <host> [--file F]

Places a tenant on another host. The data volume stays on the old host: migrate the data to the new host before
applying, or the tenant starts there without it.
${FILE_HELP}

${AFTER_EDIT}`,
  list: `agentpod tenant list [--json] [--file F]

Lists the tenants as the stack resolves them (defaults applied): name, host, plan, domain, image.
  --json    print a JSON array of {name, host, plan, cpus, memory, domain, image, modelProvider}
${FILE_HELP}

Exit status: 0, or 1 when the file has problems (they are listed).`,
} as const;

type Subcommand = Exclude<keyof typeof USAGE, "tenant">;

function report(ref: TenantsFileRef, result: EditResult, warning?: (r: Extract<EditResult, { ok: true }>) => string | undefined): number {
  if (!result.ok) throw new CommandError(result.message, result.issues);
  if (!result.changed) return 0;
  writeTenantsFile(ref, result.text);
  const changes = summarizeFleetChanges(result.before, result.after).changes;
  for (const change of changes) console.log(formatChange(change));
  if (changes.length === 0) console.log("no tenant changes (the value is now written out; the fleet resolves the same)");
  if (result.placement) console.log(`  (${describePlacement(result.placement)})`);
  console.log(`updated ${ref.display}`);
  if (!result.formattingPreserved) console.error(`note: ${ref.display} was rewritten by the YAML library: comments are kept, their alignment may have changed`);
  const text = warning?.(result);
  if (text) console.error(text);
  return 0;
}

const subcommands: Record<Subcommand, Handler> = {
  add: (args) =>
    runCommand(USAGE.add, () => {
      const options = { ...FILE_OPTIONS, host: { type: "string" }, plan: { type: "string" }, domain: { type: "string" }, image: { type: "string" }, "model-provider": { type: "string" } } as const;
      const parsed = parseCommand(args, options, USAGE.add, { names: ["name"] });
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | undefined>;
      const ref = tenantsFileRef(v.file);
      const text = readTenantsFile(ref);
      const tenant = {
        name: parsed.positionals[0]!,
        ...(v.host !== undefined ? { host: v.host } : {}),
        ...(v.plan !== undefined ? { plan: v.plan } : {}),
        ...(v.domain !== undefined ? { domain: v.domain } : {}),
        ...(v.image !== undefined ? { image: v.image } : {}),
        ...(v["model-provider"] !== undefined ? { modelProvider: v["model-provider"] } : {}),
      };
      return report(ref, addTenant(text, tenant, validateOptions(ref, v.zone)));
    }),

  remove: (args) =>
    runCommand(USAGE.remove, () => {
      const parsed = parseCommand(args, FILE_OPTIONS, USAGE.remove, { names: ["name"] });
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | undefined>;
      const ref = tenantsFileRef(v.file);
      return report(ref, removeTenant(readTenantsFile(ref), parsed.positionals[0]!, validateOptions(ref, v.zone)));
    }),

  "set-plan": (args) =>
    runCommand(USAGE["set-plan"], () => {
      const parsed = parseCommand(args, FILE_OPTIONS, USAGE["set-plan"], { names: ["name", "plan"] });
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | undefined>;
      const ref = tenantsFileRef(v.file);
      const [name, plan] = parsed.positionals as [string, string];
      const result = setTenantPlan(readTenantsFile(ref), name, plan, validateOptions(ref, v.zone));
      if (result.ok && !result.changed) console.log(`${name} already has plan ${plan}; ${ref.display} is unchanged`);
      return report(ref, result);
    }),

  move: (args) =>
    runCommand(USAGE.move, () => {
      const parsed = parseCommand(args, FILE_OPTIONS, USAGE.move, { names: ["name", "host"] });
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | undefined>;
      const ref = tenantsFileRef(v.file);
      const [name, host] = parsed.positionals as [string, string];
      const result = moveTenant(readTenantsFile(ref), name, host, validateOptions(ref, v.zone));
      if (result.ok && !result.changed) console.log(`${name} is already on ${host}; ${ref.display} is unchanged`);
      return report(ref, result, (done) => {
        const from = done.before.tenants.find((t) => t.name === name)?.host;
        return (
          `warning: the data of ${name} stays on ${from}: its data volume is retained there and is not copied. ` +
          `Migrate it to ${host} before applying this change, or ${name} starts on ${host} without its data.`
        );
      });
    }),

  list: (args) =>
    runCommand(USAGE.list, () => {
      const parsed = parseCommand(args, { ...FILE_OPTIONS, json: { type: "boolean" } }, USAGE.list);
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | boolean | undefined>;
      const ref = tenantsFileRef(v.file as string | undefined);
      const result = checkTenantsFile(readTenantsFile(ref), validateOptions(ref, v.zone as string | undefined));
      if (!result.fleet) throw new CommandError(`${ref.display} has ${result.issues.length === 1 ? "1 problem" : `${result.issues.length} problems`}:`, result.issues);
      const rows = tenantRows(result.fleet);
      if (v.json) console.log(JSON.stringify(rows, null, 2));
      else if (rows.length === 0) console.log(`no tenants in ${ref.display}`);
      else console.log(formatTable(["NAME", "HOST", "PLAN", "DOMAIN", "IMAGE"], rows.map((r) => [r.name, r.host, r.plan, r.domain, r.image])));
      return 0;
    }),
};

/** `agentpod tenant <subcommand> ...` */
export const tenantCommand: Handler = async (args) => {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? console.error : console.log)(USAGE.tenant);
    return name === undefined ? 2 : 0;
  }
  const handler = Object.hasOwn(subcommands, name) ? subcommands[name as Subcommand] : undefined;
  if (!handler) {
    console.error(`agentpod: unknown tenant subcommand "${name}"\n\n${USAGE.tenant}`);
    return 2;
  }
  return handler(rest);
};
