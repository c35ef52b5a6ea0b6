/**
 * The stack commands: `up`, `preview`, `destroy` and `outputs` drive the real Pulumi engine on a stack (default
 * `local`) through the Automation API (cli/engine.ts, loaded only by these commands).
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { formatEngineViolations, policyCollector, resolvePolicyPack } from "../policy/engineView";
import type { RunPermissions } from "../stack/program";
import { changes, type Step } from "./engine";
import type { Fleet } from "./fleetStacks";
import { CommandError, type Handler } from "./shared";

const stackOptions = {
  stack: { type: "string", short: "s", default: "local" },
  project: { type: "string" },
  yes: { type: "boolean", short: "y", default: false },
  json: { type: "boolean", default: false },
  "policy-pack": { type: "string" },
  "show-secrets": { type: "boolean", default: false },
  adopt: { type: "string", multiple: true },
  parallel: { type: "string" },
  all: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** `preview` alone may run without the hosts: `up` and `destroy` must reach them. */
const previewOptions = { ...stackOptions, "no-host-access": { type: "boolean", default: false } } as const;

function parseStackArgs(args: string[], usage: string, options: typeof stackOptions | typeof previewOptions = stackOptions) {
  // (Typed as the wider set; parseArgs refuses any option the command was not given.)
  const { values } = parseArgs({ args, options: options as typeof previewOptions, allowPositionals: false });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}

function describeStep(step: Step): string {
  const symbol = { create: "+", update: "~", delete: "-", replace: "+-", "create-replacement": "+-", "delete-replaced": "--", same: " " }[step.op as string] ?? step.op;
  const detail = step.diffs.length ? ` [${step.diffs.join(", ")}]` : "";
  return `  ${symbol.padEnd(2)} ${step.type.padEnd(45)} ${step.name}${detail}`;
}

/** What a preview without host access says about the checks it could not make (never nothing: the flag is named). */
function describeUncheckedOnHosts(unchecked: ReadonlyArray<{ tenant: string; host: string }>, stack: string): string {
  const head = "agentpod: preview without host access (--no-host-access): no connection was opened to any host.";
  if (unchecked.length === 0) return `${head} No check was left out: no tenant claims a data directory it did not have.`;
  const list = unchecked.map((c) => `  - tenant ${c.tenant} on host ${c.host}`).join("\n");
  return (
    `${head} Not checked on the hosts: whether a directory of that name already holds data the stack does not own\n${list}\n` +
    `\`agentpod up --stack ${stack}\` checks each on its host before the tenant's gateway is created, and refuses data it does not own unless adopted (--adopt).`
  );
}

/** The engine (and with it the Pulumi SDK, ~1 s to load) only for the commands that run it. */
const fleetStacks = () => import("./fleetStacks");

/** One line per change, under the stack it happens in. */
function describeSteps(steps: ReadonlyArray<Step & { stack: string }>, fleetName: string): string {
  const byStack = new Map<string, Array<Step & { stack: string }>>();
  for (const step of steps) byStack.set(step.stack, [...(byStack.get(step.stack) ?? []), step]);
  return [...byStack]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([stack, list]) => `  ${stack === fleetName ? "fleet" : stack.slice(fleetName.length + 1).replace(".", " ")} (stack ${stack}):\n${list.map(describeStep).join("\n")}`)
    .join("\n");
}

/** The failed stacks of a run, each with its engine's errors. */
const describeFailures = (failures: ReadonlyArray<{ stack: string; message: string }>) => failures.map((f) => `stack ${f.stack}:\n${f.message.replace(/^/gm, "  ")}`).join("\n");

export const upCommand: Handler = async (args) => {
  const options = parseStackArgs(
    args,
    "agentpod up [--stack local] [--yes] [--policy-pack DIR] [--adopt TENANT]... [--parallel N] [--all]\n  Applies tenants.yaml to the fleet: only the stacks whose inputs changed run (a stack per host and per tenant), N at once (default 4).\n" +
      "  --all: every stack runs (after a change made outside AgentPod, or to put drift right).\n" +
      "  Without --yes on a non-local stack, shows the preview first and asks nothing: pass --yes to apply.\n" +
      "  --policy-pack DIR: the engine runs the pack before each step and stops on a mandatory violation (run `preview --policy-pack` first: it also checks retainOnDelete).\n" +
      "  --adopt TENANT: this run may hand TENANT the data directory that already exists on its host although the stack does not own it\n" +
      "                  (a removed tenant's retained data, a restore). Without it such a tenant is refused. Repeat for several tenants.",
  );
  if (options.stack !== "local" && !options.yes) {
    console.error(`agentpod: refusing to apply stack ${options.stack} without --yes (run \`agentpod preview --stack ${options.stack}\` first)`);
    return 2;
  }
  const policyPack = options["policy-pack"] ? resolvePolicyPack(options["policy-pack"]) : undefined;
  const adopt = options.adopt ?? [];
  const operation = adopt.length ? { adopt } : {};
  const parallel = parallelOption(options.parallel);
  const { openFleet, applyFleet } = await fleetStacks();
  const opened = await openFleet(options.stack, options.project, { create: true });
  const runUp = async (permissions: RunPermissions, fleet?: Fleet) => {
    // A rollout's runs open the fleet afresh: the record each continues from is the one the previous run wrote.
    const report = await applyFleet(fleet ?? (await openFleet(options.stack, options.project)), { permissions, parallel, everyStack: options.all, ...(policyPack ? { policyPack } : {}) });
    if (report.failures.length > 0) throw new CommandError(`${report.failures.length} stack(s) failed; the others are applied, and \`agentpod up\` continues from here:\n${describeFailures(report.failures)}`);
    return report;
  };
  // An image change of deployed tenants rolls out in health-gated waves (cli/rollout.ts); anything else is one run.
  const { planImageRollout, runRollout } = await import("./rollout");
  const rollout = await planImageRollout(opened);
  if (rollout) {
    const code = await runRollout(rollout, { operation, up: async (permissions) => void (await runUp(permissions)) });
    if (code === 0) console.log(`\nagentpod: ${options.stack} is up`);
    return code;
  }
  const report = await runUp(operation, opened);
  const summary = Object.entries(report.changes).map(([op, n]) => `${op} ${n}`);
  console.log(`\nagentpod: ${options.stack} is up (${report.ran.length === 0 ? "no stack's inputs changed" : `${report.ran.length} stack(s) ran${summary.length ? `: ${summary.join(", ")}` : ", no changes"}`})`);
  return 0;
};

function parallelOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new CommandError(`--parallel ${value}: give a whole number of stacks from 1 to 64`);
  return n;
}

export const previewCommand: Handler = async (args) => {
  const options = parseStackArgs(
    args,
    "agentpod preview [--stack local] [--json] [--policy-pack DIR] [--no-host-access] [--parallel N] [--all]\n  Shows what `up` would change, stack by stack (only the stacks whose inputs changed are previewed; --all: every stack, which shows drift).\n" +
      "  --json prints the steps as JSON ({steps:[{stack, op, urn, type, name, diffs, replaceKeys}]}).\n" +
      "  --policy-pack DIR runs the policy pack in DIR (AgentPod's: policy/) and the data-volume check over the engine's steps\n" +
      "  (policy/engineView.ts); any mandatory violation fails the preview (exit 1). With --json, violations are listed under `policyViolations`.\n" +
      "  --no-host-access: for a machine with no route or key to the hosts (the pull-request preview): the preview opens no connection to\n" +
      "                    them and names the checks it left to `up` (whether a new tenant's host already holds data of that name).",
    previewOptions,
  );
  const withoutHostAccess = options["no-host-access"];
  const policyPack = options["policy-pack"] ? resolvePolicyPack(options["policy-pack"]) : undefined;
  const policy = policyPack ? policyCollector() : undefined;
  const { openFleet, previewFleet } = await fleetStacks();
  const fleet = await openFleet(options.stack, options.project);
  const parallel = parallelOption(options.parallel);
  const report = await previewFleet(fleet, {
    ...(withoutHostAccess ? { permissions: { withoutHostAccess } } : {}),
    ...(policyPack ? { policyPack } : {}),
    ...(parallel ? { parallel } : {}),
    everyStack: options.all,
    onEvent: (_stack, event) => policy?.onEvent(event),
    diff: !options.json,
  });
  if (!options.json) {
    // Each previewed stack's own diff, one after the other (they ran at once): what the pull request's reviewer reads.
    for (const { stack, text } of report.outputs) if (text.trim()) process.stderr.write(`\n=== stack ${stack} ===\n${text}`);
    if (report.previewed.length === 0) process.stderr.write(`every stack of ${fleet.name} is as tenants.yaml and its settings say: none previewed\n`);
  }
  const violations = policy?.mandatory() ?? [];
  // A mandatory violation fails the engine's preview of its stack: it is reported below, not as the stack's failure.
  const failures = violations.length > 0 ? [] : report.failures;
  const leftToUp = withoutHostAccess ? report.unchecked : [];
  if (options.json) {
    console.log(JSON.stringify({ steps: report.steps, ...(policy ? { policyViolations: policy.all() } : {}), ...(withoutHostAccess ? { uncheckedOnHosts: leftToUp } : {}) }, null, 2));
  } else {
    const changed = changes(report.steps);
    console.log(changed.length === 0 ? "\nagentpod: no changes" : `\nagentpod: ${changed.length} change(s):\n${describeSteps(changed, fleet.name)}`);
  }
  for (const warning of report.warnings) console.error(`agentpod: warning: ${warning}`);
  if (withoutHostAccess) console.error(`\n${describeUncheckedOnHosts(leftToUp, options.stack)}`);
  if (violations.length > 0) {
    console.error(`\nagentpod: ${violations.length} mandatory policy violation(s); nothing may be applied until they are fixed:\n${formatEngineViolations(violations)}`);
    return 1;
  }
  if (failures.length > 0) throw new CommandError(describeFailures(failures));
  if (policyPack) console.error(`\nagentpod: policy pack ${path.relative(process.cwd(), policyPack) || "."}: all mandatory policies pass`);
  return 0;
};

export const destroyCommand: Handler = async (args) => {
  const options = parseStackArgs(args, "agentpod destroy [--stack local] [--yes]\n  Removes the fleet. Tenant data is retained: the hosts' data volumes (protected) stay, with every tenant's data directory on them,\n  and so does the fleet key the backups are encrypted with (protected), so they stay readable and a new `up` uses them.");
  if (options.stack !== "local" && !options.yes) {
    console.error(`agentpod: refusing to destroy stack ${options.stack} without --yes`);
    return 2;
  }
  const { openFleet, destroyFleet } = await fleetStacks();
  const { removed, retained } = await destroyFleet(await openFleet(options.stack, options.project), { out: process.stdout });
  console.log(`\nagentpod: ${options.stack} destroyed (${removed} resources removed).`);
  if (retained.length) console.log(`Retained (protected, still in the stacks): ${retained.sort().join(", ")}`);
  return 0;
};

/** The fleet's outputs as operators know them; the record of its stacks stays internal. */
const PUBLIC_OUTPUTS = ["target", "tenants", "hosts", "gatewayTokens", "deployRunnerFirewall"];

export const outputsCommand: Handler = async (args) => {
  const options = parseStackArgs(args, "agentpod outputs [--stack local] [--show-secrets]");
  const fleet = await (await fleetStacks()).openFleet(options.stack, options.project);
  const shown = Object.fromEntries(
    Object.entries(fleet.outputs)
      .filter(([key]) => PUBLIC_OUTPUTS.includes(key))
      .map(([key, o]) => [key, o.secret && !options["show-secrets"] ? "[secret]" : o.value]),
  );
  console.log(JSON.stringify(shown, null, 2));
  return 0;
};
