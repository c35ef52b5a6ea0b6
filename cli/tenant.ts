/**
 * `agentpod tenant add|remove|set-plan|move|purge|rotate-token|list`: edits of tenants.yaml that keep its comments
 * and formatting and are validated exactly as the stack validates before anything is written (the edit logic is
 * fleet/edit.ts); `move --stack` and `purge` act on a running stack's data (cli/tenantData.ts); `rotate-token`
 * records a rotation in the stack's config and applies it (fleet/tokenRotation.ts).
 */
import { addTenant, describePlacement, moveTenant, removeTenant, setTenantPlan, tenantRows, type EditResult } from "../fleet/edit";
import { summarizeFleetChanges, formatChange } from "../fleet/summary";
import { checkTenantsFile } from "../fleet/validate";
import {
  CommandError,
  UsageError,
  formatTable,
  parseCommand,
  readTenantsFile,
  runCommand,
  tenantsFileRef,
  validateOptions,
  writeTenantsFile,
  type Handler,
  type TenantsFileRef,
} from "./shared";
import { didYouMean } from "../fleet/didYouMean";
import { ROTATIONS_SETTING, nextRotation, stepsBeyondRotation } from "../fleet/tokenRotation";
import { DASHBOARD_USAGE, DEVICES_USAGE, dashboardLink, manageDevices } from "./tenantAccess";
import { MOVE_USAGE, PURGE_USAGE, moveWithData, purgeData, stackTenantsFile } from "./tenantData";
import { openStackContext } from "./stackContext";

// ---------------------------------------------------------------------------------------------------------------
// agentpod tenant ...

const FILE_OPTIONS = {
  file: { type: "string", short: "f" },
  zone: { type: "string" },
} as const;

/** The commands that act on a running stack. */
const STACK_OPTIONS = { stack: { type: "string", short: "s", default: "local" }, project: { type: "string" } } as const;

const FILE_HELP = `  --file <path>    the tenants file (default: ./tenants.yaml)
  --zone <zone>    DNS zone for default domains and the zone check (default: from the project's Pulumi.<stack>.yaml
                   that uses this file; "agents.localhost" when there is none)`;

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
  move <name> <host>      place a tenant on another host; with --stack S also carry its data there and apply
  purge <name> --stack S  delete a removed tenant's retained data on its host (asks first, or --yes)
  rotate-token <name> [--stack S] [--yes]   give a deployed tenant a new gateway token; only its gateway restarts
  list [--json]           the tenants: name, host, plan, domain, image
  dashboard <name> --stack S   a one-time link to the tenant's Control UI, for the customer
  devices <name> [list | approve <id> | revoke <id>] --stack S   the browsers paired with the tenant's gateway

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
the container; a larger disk grows the tenant's filesystem in place (a smaller one is refused). The data is kept
either way.
${FILE_HELP}

${AFTER_EDIT}`,
  move: `${MOVE_USAGE}
${FILE_HELP}`,
  purge: PURGE_USAGE,
  dashboard: DASHBOARD_USAGE,
  devices: DEVICES_USAGE,
  "rotate-token": `agentpod tenant rotate-token <name> [--stack local] [--project DIR] [--yes]

Rotates one tenant's gateway token: records the rotation in the stack's config
(agentpod:${ROTATIONS_SETTING}.<name>, the time of the rotation; tenants.yaml is not touched) and applies it. The tenant
gets a new token and its gateway container is recreated with it (its data is kept); the old token is refused from
then on. No other tenant changes: before applying, the preview must show changes to this tenant's token, gateway
and pids limit only, or nothing is applied and the config is restored (apply pending edits with \`agentpod up\`
first). The new token: \`agentpod outputs --stack S --show-secrets\` (gatewayTokens.<name>).
  --stack <stack>   the stack (default local)
  --yes             confirms the apply; required on any stack but local, as for \`agentpod up\`
Exit status: 0 rotated, 1 refused or failed (an unknown or undeployed tenant changes nothing), 2 bad usage.`,
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
    runCommand(USAGE.move, async () => {
      const parsed = parseCommand(args, { ...FILE_OPTIONS, stack: { type: "string", short: "s" }, project: { type: "string" } }, USAGE.move, { names: ["name", "host"] });
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | undefined>;
      const [name, host] = parsed.positionals as [string, string];
      if (v.stack !== undefined) {
        if (v.file !== undefined) throw new UsageError("--file and --stack do not go together: with --stack the stack's own tenants file is edited");
        return moveWithData(name, host, v.stack, v.project);
      }
      const ref = tenantsFileRef(v.file);
      const result = moveTenant(readTenantsFile(ref), name, host, validateOptions(ref, v.zone));
      if (result.ok && !result.changed) console.log(`${name} is already on ${host}; ${ref.display} is unchanged`);
      return report(ref, result, (done) => {
        const from = done.before.tenants.find((t) => t.name === name)?.host;
        return (
          `note: the data of ${name} is on ${from}. A plain \`agentpod up\` refuses this change (it would start ${name} on ${host} ` +
          `without its data); apply it with \`agentpod tenant move ${name} ${host} --stack <stack>\`, which carries the data.`
        );
      });
    }),

  purge: (args) =>
    runCommand(USAGE.purge, async () => {
      const parsed = parseCommand(args, { host: { type: "string" }, stack: { type: "string", short: "s", default: "local" }, project: { type: "string" }, yes: { type: "boolean", short: "y" } }, USAGE.purge, { names: ["name"] });
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | boolean | undefined>;
      return purgeData(parsed.positionals[0]!, v.host as string | undefined, v.yes === true, v.stack as string, v.project as string | undefined);
    }),

  dashboard: (args) =>
    runCommand(USAGE.dashboard, async () => {
      const parsed = parseCommand(args, { ...STACK_OPTIONS, json: { type: "boolean" } }, USAGE.dashboard, { names: ["name"] });
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | boolean | undefined>;
      return dashboardLink(parsed.positionals[0]!, v.stack as string, v.project as string | undefined, v.json === true);
    }),

  devices: (args) =>
    runCommand(USAGE.devices, async () => {
      const parsed = parseCommand(args, { ...STACK_OPTIONS, json: { type: "boolean" } }, USAGE.devices, { names: ["name", "action", "id"], optional: 2 });
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | boolean | undefined>;
      const [name, ...action] = parsed.positionals;
      return manageDevices(name!, action, v.stack as string, v.project as string | undefined, v.json === true);
    }),

  "rotate-token": (args) =>
    runCommand(USAGE["rotate-token"], async () => {
      const parsed = parseCommand(args, { stack: { type: "string", short: "s", default: "local" }, project: { type: "string" }, yes: { type: "boolean", short: "y" } }, USAGE["rotate-token"], { names: ["name"] });
      if (!parsed) return 0;
      const v = parsed.values as Record<string, string | boolean | undefined>;
      return rotateToken(parsed.positionals[0]!, v.stack as string, v.project as string | undefined, v.yes === true);
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

/**
 * Records a new rotation value for one deployed tenant in the stack's config, checks with a preview that only that
 * tenant's token, gateway and pids limit change, and applies. A refusal restores the config as it was.
 */
async function rotateToken(name: string, stackName: string, project: string | undefined, yes: boolean): Promise<number> {
  if (stackName !== "local" && !yes) {
    console.error(`agentpod: refusing to apply stack ${stackName} without --yes (run \`agentpod preview --stack ${stackName}\` first); nothing was changed`);
    return 2;
  }
  const context = await openStackContext(stackName, project);
  const tenants = stackTenantsFile(context);
  if (!tenants.fleet) throw new CommandError(`${tenants.display} (the tenants file of stack ${stackName}) has problems; fix them first, nothing was changed:`, checkTenantsFile(tenants.text, tenants.options).issues);
  const names = tenants.fleet.tenants.map((t) => t.name);
  if (!names.includes(name)) {
    throw new CommandError(`no tenant "${name}" in ${tenants.display}.${didYouMean(name, names)} Tenants: ${names.join(", ") || "none"}. Nothing was changed`);
  }
  if (!Object.hasOwn(context.tenants, name)) {
    throw new CommandError(`tenant ${name} is not deployed in stack ${stackName} yet: \`agentpod up --stack ${stackName}\` creates it with a token of its own; nothing was changed`);
  }
  const key = `agentpod:${ROTATIONS_SETTING}.${name}`;
  const previous = Object.hasOwn(context.settings.tokenRotations, name) ? context.settings.tokenRotations[name] : undefined;
  const fleet = context.stacks;
  const restore = () => (previous === undefined ? fleet.stack.removeConfig(key, true) : fleet.stack.setConfig(key, { value: previous }, true));
  await fleet.stack.setConfig(key, { value: nextRotation(previous, new Date()) }, true);
  const { applyFleet, openFleet, previewFleet } = await import("./fleetStacks");
  let preview;
  try {
    preview = await previewFleet(await openFleet(stackName, project));
  } catch (error) {
    await restore();
    throw error;
  }
  if (preview.failures.length > 0) {
    await restore();
    throw new CommandError(`the preview of the rotation failed; nothing was changed:\n${preview.failures.map((f) => `stack ${f.stack}:\n${f.message}`).join("\n")}`);
  }
  const beyond = stepsBeyondRotation(name, preview.steps);
  if (beyond.length > 0) {
    await restore();
    throw new CommandError(
      `stack ${stackName} has changes pending besides this rotation (${beyond.map((s) => `${s.op} ${s.name} (${s.type})`).join(", ")}): ` +
        `apply them first (\`agentpod preview --stack ${stackName}\`, then \`agentpod up --stack ${stackName}\`); nothing was changed`,
    );
  }
  console.log(`rotating the gateway token of ${name} (${key}); only its gateway is recreated`);
  const applied = await applyFleet(await openFleet(stackName, project));
  if (applied.failures.length > 0) {
    throw new CommandError(
      `applying the rotation failed: ${applied.failures.map((f) => f.message.split("\n").slice(-5).join(" ")).join("; ")}. ` +
        `The rotation stays recorded in the stack's config: fix the cause and run \`agentpod up --stack ${stackName}\``,
    );
  }
  console.log(`\nagentpod: ${name} has a new gateway token; the old one is refused. Read it with \`agentpod outputs --stack ${stackName} --show-secrets\``);
  return 0;
}

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
