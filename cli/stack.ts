/**
 * The stack commands: `up`, `preview`, `destroy` and `outputs` drive the real Pulumi engine on a stack (default
 * `local`) through the Automation API (cli/engine.ts, loaded only by these commands).
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { formatEngineViolations, policyCollector, resolvePolicyPack } from "../policy/engineView";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { RunPermissions } from "../stack/program";
import type { Step } from "./engine";
import { runEngine } from "./engineOutput";
import type { Handler } from "./shared";

const stackOptions = {
  stack: { type: "string", short: "s", default: "local" },
  project: { type: "string" },
  yes: { type: "boolean", short: "y", default: false },
  json: { type: "boolean", default: false },
  "policy-pack": { type: "string" },
  "show-secrets": { type: "boolean", default: false },
  adopt: { type: "string", multiple: true },
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
const engine = () => import("./engine");
const projectOf = (options: { project?: string | undefined }) => (options.project ? { projectDir: path.resolve(options.project) } : {});


export const upCommand: Handler = async (args) => {
  const options = parseStackArgs(
    args,
    "agentpod up [--stack local] [--yes] [--policy-pack DIR] [--adopt TENANT]...\n  Applies tenants.yaml to the stack. Without --yes on a non-local stack, shows the preview first and asks nothing: pass --yes to apply.\n" +
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
  const { openStack } = await engine();
  const runUp = async (permissions: RunPermissions) => {
    const stack = await openStack({ stack: options.stack, create: true, ...projectOf(options), ...(Object.keys(permissions).length ? { operation: permissions } : {}) });
    return runEngine(process.stdout, (onOutput) => stack.up({ ...(onOutput ? { onOutput } : {}), color: "auto", ...(policyPack ? { policyPacks: [policyPack] } : {}) }));
  };
  // An image change of deployed tenants rolls out in health-gated waves (cli/rollout.ts); anything else is one run.
  const { planImageRollout, runRollout } = await import("./rollout");
  const rollout = await planImageRollout(await openStack({ stack: options.stack, create: true, ...projectOf(options) }), options.stack, options.project);
  if (rollout) {
    const code = await runRollout(rollout, { operation, up: async (permissions) => void (await runUp(permissions)) });
    if (code === 0) console.log(`\nagentpod: ${options.stack} is up`);
    return code;
  }
  const result = await runUp(operation);
  const summary = result.summary.resourceChanges ?? {};
  console.log(`\nagentpod: ${options.stack} is up (${Object.entries(summary).map(([op, n]) => `${op} ${n}`).join(", ")})`);
  return 0;
};

export const previewCommand: Handler = async (args) => {
  const options = parseStackArgs(
    args,
    "agentpod preview [--stack local] [--json] [--policy-pack DIR] [--no-host-access]\n  Shows what `up` would change. --json prints the steps as JSON ({steps:[{op, urn, type, name, diffs, replaceKeys}]}).\n" +
      "  --policy-pack DIR runs the policy pack in DIR (AgentPod's: policy/) and the data-volume check over the engine's steps\n" +
      "  (policy/engineView.ts); any mandatory violation fails the preview (exit 1). With --json, violations are listed under `policyViolations`.\n" +
      "  --no-host-access: for a machine with no route or key to the hosts (the pull-request preview): the preview opens no connection to\n" +
      "                    them and names the checks it left to `up` (whether a new tenant's host already holds data of that name).",
    previewOptions,
  );
  const withoutHostAccess = options["no-host-access"];
  const policyPack = options["policy-pack"] ? resolvePolicyPack(options["policy-pack"]) : undefined;
  const policy = policyPack ? policyCollector() : undefined;
  const stack = await (await engine()).openStack({ stack: options.stack, ...projectOf(options), ...(withoutHostAccess ? { operation: { withoutHostAccess } } : {}) });
  const { steps, onEvent } = (await engine()).stepCollector();
  const claims = (await engine()).uncheckedClaimsCollector();
  // The engine's diff display leaves out diagnostics: the program's warnings (a tenant sharing a fleet-wide model
  // key, an unused key) are taken from the events and printed after the changes.
  const warnings = new Set<string>();
  const onWarning = (event: EngineEvent) => {
    if (event.diagnosticEvent?.severity === "warning") warnings.add(event.diagnosticEvent.message.trim());
  };
  try {
    await runEngine(options.json ? undefined : process.stderr, (onOutput) =>
      stack.preview({
        onEvent: (event) => (onEvent(event), onWarning(event), policy?.onEvent(event), claims.onEvent(event)),
        ...(policyPack ? { policyPacks: [policyPack] } : {}),
        ...(onOutput ? { onOutput } : {}),
        diff: !options.json,
      }),
    );
  } catch (error) {
    // A mandatory violation fails the engine's preview: report the violations, not the engine's whole output again.
    if (!policy || policy.mandatory().length === 0) throw error;
  }
  const violations = policy?.mandatory() ?? [];
  const leftToUp = withoutHostAccess ? claims.unchecked : [];
  if (options.json) {
    console.log(JSON.stringify({ steps, ...(policy ? { policyViolations: policy.all() } : {}), ...(withoutHostAccess ? { uncheckedOnHosts: leftToUp } : {}) }, null, 2));
  } else {
    const changed = (await engine()).changes(steps);
    console.log(changed.length === 0 ? "\nagentpod: no changes" : `\nagentpod: ${changed.length} change(s):\n${changed.map(describeStep).join("\n")}`);
  }
  for (const warning of warnings) console.error(`agentpod: warning: ${warning}`);
  if (withoutHostAccess) console.error(`\n${describeUncheckedOnHosts(leftToUp, options.stack)}`);
  if (violations.length > 0) {
    console.error(`\nagentpod: ${violations.length} mandatory policy violation(s); nothing may be applied until they are fixed:\n${formatEngineViolations(violations)}`);
    return 1;
  }
  if (policyPack) console.error(`\nagentpod: policy pack ${path.relative(process.cwd(), policyPack) || "."}: all mandatory policies pass`);
  return 0;
};

export const destroyCommand: Handler = async (args) => {
  const options = parseStackArgs(args, "agentpod destroy [--stack local] [--yes]\n  Removes the fleet. Tenant data is retained: the hosts' data volumes (protected) stay, with every tenant's data directory on them,\n  and so does the fleet key the backups are encrypted with (protected), so they stay readable and a new `up` uses them.");
  if (options.stack !== "local" && !options.yes) {
    console.error(`agentpod: refusing to destroy stack ${options.stack} without --yes`);
    return 2;
  }
  const stack = await (await engine()).openStack({ stack: options.stack, ...projectOf(options) });
  // Protected resources (the hosts' data volumes) and what they need stay; everything else goes.
  const result = await runEngine(process.stdout, (onOutput) => stack.destroy({ ...(onOutput ? { onOutput } : {}), excludeProtected: true }));
  const retained = ((await stack.exportStack()).deployment?.resources ?? []).filter((r: { protect?: boolean }) => r.protect).map((r: { urn: string }) => r.urn.split("::").pop()!);
  console.log(`\nagentpod: ${options.stack} destroyed (${result.summary.resourceChanges?.delete ?? 0} resources removed).`);
  if (retained.length) console.log(`Retained (protected, still in the stack): ${retained.sort().join(", ")}`);
  return 0;
};

export const outputsCommand: Handler = async (args) => {
  const options = parseStackArgs(args, "agentpod outputs [--stack local] [--show-secrets]");
  const stack = await (await engine()).openStack({ stack: options.stack, ...projectOf(options) });
  const outputs = await stack.outputs();
  const shown = Object.fromEntries(Object.entries(outputs).map(([key, o]) => [key, o.secret && !options["show-secrets"] ? "[secret]" : o.value]));
  console.log(JSON.stringify(shown, null, 2));
  return 0;
};
