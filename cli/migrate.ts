/**
 * `agentpod migrate`: a fleet kept in one stack (AgentPod before 0.2) becomes a fleet of stacks (cli/fleetStacks.ts)
 * by moving state, never by recreating: the old stack's state is split (fleet/stackSplit.ts) and imported into the
 * new stacks; then, stage by stage (the fleet stack, the hosts', the tenants'), a preview of the stage's stacks proves
 * that nothing would be replaced or deleted, and only then the stage is applied, which records it. A preview that
 * fails or would destroy anything puts the old state back.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { splitDeployment, StackSplitError, type DeploymentV3Like } from "../fleet/stackSplit";
import { changes } from "./engine";
import { CommandError, parseCommand, runCommand, type Handler } from "./shared";

const USAGE = `agentpod migrate [--stack local] [--project DIR] [--yes]

Moves a fleet that lives in one stack (AgentPod before 0.2) into one stack per host and per tenant, which is what
every other command now expects. Nothing is created, replaced or deleted: the state of each resource moves to its
new stack (S.host.<host>, S.tenant.<tenant>; S keeps the fleet-wide resources). Then, stage by stage (the fleet
stack, the hosts' stacks, the tenants'), a preview must show no replacement and no deletion, or the old state is put
back, and the stage is applied (which changes nothing but the stacks' outputs and the fleet's record).
  --yes   required for a stack other than local`;

/** Steps a migration must never cause. */
const DESTRUCTIVE = new Set(["delete", "replace", "create-replacement", "delete-replaced"]);

async function migrate(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { stack: { type: "string", short: "s", default: "local" }, project: { type: "string" }, yes: { type: "boolean", short: "y" } }, USAGE);
  if (!parsed) return 0;
  const stackName = parsed.values.stack as string;
  const project = parsed.values.project as string | undefined;
  if (stackName !== "local" && !parsed.values.yes) throw new CommandError(`refusing to migrate stack ${stackName} without --yes; nothing was changed`);
  const { openPart, openFleet, previewFleet, applyFleet, openWholeFleetStack } = await import("./fleetStacks");

  const whole = await openWholeFleetStack(stackName, project);
  if (!whole.needsMigration) {
    console.log(`stack ${stackName} is already split into stacks per host and tenant; nothing to do`);
    return 0;
  }
  const original = await whole.stack.exportStack();
  const outputs = await whole.stack.outputs();
  // Who runs where, as the state says (not tenants.yaml, which may hold edits not applied yet).
  const tenants = Object.fromEntries(Object.entries((outputs.tenants?.value ?? {}) as Record<string, { host: string }>).map(([name, t]) => [name, t.host]));
  const hosts = Object.keys((outputs.hosts?.value ?? {}) as Record<string, unknown>).sort();
  let split;
  try {
    split = splitDeployment(original.deployment as DeploymentV3Like, { fleetStack: stackName, hosts, tenants });
  } catch (error) {
    if (error instanceof StackSplitError) throw new CommandError(`${error.message}; nothing was changed`);
    throw error;
  }
  if (split.unassigned.length > 0) {
    throw new CommandError(`these resources of stack ${stackName} belong to no host or tenant the stack's outputs list; nothing was changed:\n${split.unassigned.map((u) => `  ${u}`).join("\n")}`);
  }

  console.log(`splitting stack ${stackName}: ${hosts.length} host(s), ${Object.keys(tenants).length} tenant(s), ${(original.deployment.resources ?? []).length} resources`);
  const created: Stack[] = [];
  const applied: string[] = [];
  const putBack = async (why: string): Promise<never> => {
    await whole.stack.importStack(original);
    for (const stack of created) await stack.workspace.removeStack(stack.name, { force: true });
    const before = applied.length ? ` (the ${applied.join(" and ")} stage had been applied, without replacing or deleting anything)` : ", and nothing else was changed";
    throw new CommandError(`${why}; stack ${stackName} holds the whole fleet again, as before${before}`);
  };
  try {
    for (const [name, { deployment }] of split.stacks) {
      if (name === stackName) continue;
      const stack = await openPart(whole.fleet, name, { kind: "removed" }, { create: true });
      created.push(stack);
      await stack.importStack({ version: original.version, deployment });
    }
    await whole.stack.importStack({ version: original.version, deployment: split.stacks.get(stackName)!.deployment });
  } catch (error) {
    return putBack(`the state could not be moved (${error instanceof Error ? error.message.split("\n").slice(-3).join(" ") : String(error)})`);
  }

  // The proof, stage by stage as `up` runs them (each stage needs the outputs of the one before: the hosts the fleet's
  // backup key, the tenants their hosts' endpoints and proxies): a preview of the stage's stacks against their moved
  // state must replace and delete nothing, and only then the stage is applied, which records it.
  const moved = new Set(split.stacks.keys());
  for (const stage of ["fleet", "hosts", "tenants"] as const) {
    const fleet = await openFleet(stackName, project);
    const preview = await previewFleet(fleet, { only: stage, existing: moved });
    const destructive = preview.steps.filter((s) => DESTRUCTIVE.has(s.op));
    if (preview.failures.length > 0) return putBack(`the preview of the ${stage} stage failed:\n${preview.failures.map((f) => `stack ${f.stack}: ${f.message}`).join("\n")}\n`);
    if (destructive.length > 0) return putBack(`the new stacks would ${destructive.map((s) => `${s.op} ${s.name} (stack ${s.stack})`).join(", ")}`);
    const inPlace = changes(preview.steps);
    console.log(`${stage}: preview of ${preview.previewed.length} stack(s): nothing replaced or deleted${inPlace.length ? `; ${inPlace.length} in-place change(s): ${inPlace.map((s) => `${s.op} ${s.name}`).join(", ")}` : ""}`);

    const report = await applyFleet(fleet, { through: stage });
    if (report.failures.length > 0) {
      throw new CommandError(`the state is moved, but applying ${report.failures.length} stack(s) failed; fix the cause and run \`agentpod up --stack ${stackName}\`:\n${report.failures.map((f) => `stack ${f.stack}:\n${f.message}`).join("\n")}`);
    }
    applied.push(stage);
  }
  console.log(`\nagentpod: stack ${stackName} is now ${split.stacks.size} stacks (the fleet's, ${hosts.length} host(s), ${Object.keys(tenants).length} tenant(s)); nothing was recreated`);
  return 0;
}

export const migrateCommand: Handler = (args) => runCommand(USAGE, () => migrate(args));
