/**
 * A fleet runs as many stacks (stack/parts.ts): its own stack S (fleet-wide resources and the record of the others),
 * one per host (S.host.<h>) and one per tenant (S.tenant.<t>). This module opens them and runs the ones whose input
 * changed, hosts before their tenants, several at once within a bound, each in its own workspace, and keeps the
 * record in the fleet stack's outputs so that the next run knows what is current without opening any other stack.
 */
import { LocalWorkspace, PulumiCommand, type EngineEvent, type Stack } from "@pulumi/pulumi/automation";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { HostOutputs } from "../components/dockerHost";
import { TenantsFileError } from "../fleet/issues";
import { parseSettings, SettingsError, type StackSettings } from "../fleet/settings";
import { stackNameOf } from "../fleet/stackSplit";
import {
  givenSecrets,
  modelKeyWarnings,
  partProgram,
  validateInputs,
  type FleetPartInput,
  type FleetRecord,
  type PartInput,
  type RunPermissions,
  type SharedOutputs,
  type TenantOutput,
} from "../stack/program";
import { FLEET_SECRETS, hostOutputsChangedBy, planHostParts, plannedRemovals, planTenantParts, programDigest, sharedFingerprint, type PartPlanContext, type PlannedPart } from "../stack/parts";
import { CACHE_DIR, engineEnvironment, PROJECT_DIR, stepCollector, uncheckedClaimsCollector, type Step } from "./engine";
import { engineErrorText, EngineOutputFilter } from "./engineOutput";
import { CommandError } from "./shared";

/** The Pulumi CLI, found once per process (finding it runs it). */
let pulumiCommand: Promise<PulumiCommand> | undefined;
const pulumiCli = () => (pulumiCommand ??= PulumiCommand.get({ root: CACHE_DIR, skipVersionCheck: true }));

/** How many stacks run at once (each is an engine with its providers: about a core's worth of work at its peak). */
export const DEFAULT_PARALLEL_STACKS = 4;

export interface Fleet {
  readonly name: string;
  readonly projectDir: string;
  readonly settings: StackSettings;
  /** The fleet stack's `agentpod:` secrets, decrypted (they are handed to each part as secrets). */
  readonly secrets: Readonly<Record<string, string>>;
  readonly record: FleetRecord;
  /** What the fleet stack created for the hosts; undefined before its first run. */
  readonly shared?: SharedOutputs;
  readonly stack: Stack;
  /** The engine's environment for every stack of this fleet. */
  readonly env: Record<string, string>;
  /** The fleet stack's outputs as they were when it was opened (tenants, hosts, gateway tokens: as before the split). */
  readonly outputs: Record<string, { value: unknown; secret: boolean }>;
  /** What the fleet stack's program declares when it runs next (applyFleet sets it). */
  readonly program: { input?: FleetPartInput };
}

const EMPTY_RECORD: FleetRecord = { hosts: {}, tenants: {} };

/**
 * Opens the fleet stack S and reads its settings, secrets and record. A stack that still holds a whole fleet (the
 * single-stack layout of earlier versions) is refused: `agentpod migrate` splits it first.
 */
export async function openFleet(name: string, project: string | undefined, options: { create?: boolean } = {}): Promise<Fleet> {
  const { stack, projectDir, env, program } = await selectFleetStack(name, project, options);
  const [config, outputs] = await Promise.all([stack.getAllConfig(), stack.outputs()]);
  const values: Record<string, string> = {};
  const secretsSet = new Set<string>();
  for (const [key, entry] of Object.entries(config)) {
    if (!key.startsWith("agentpod:")) continue;
    values[key.slice("agentpod:".length)] = entry.value;
    if (entry.secret) secretsSet.add(key.slice("agentpod:".length));
  }
  const stackFile = path.join(projectDir, `Pulumi.${name}.yaml`);
  let settings: StackSettings;
  try {
    settings = parseSettings({ stack: name, values, secretsSet, ...(existsSync(stackFile) ? { stackFileText: readFileSync(stackFile, "utf8") } : {}) });
  } catch (error) {
    throw new CommandError(error instanceof Error ? error.message : String(error));
  }
  const secrets = Object.fromEntries(Object.entries(values).filter(([key]) => secretsSet.has(key)));
  const record = outputs.record?.value as FleetRecord | undefined;
  if (!record && (await holdsWholeFleet(stack))) {
    throw new CommandError(`stack ${name} holds the whole fleet in one stack (the layout before AgentPod 0.2): run \`agentpod migrate --stack ${name}\` first; nothing was changed`);
  }
  const shared = outputs.shared?.value as SharedOutputs | undefined;
  return { name, projectDir, settings, secrets, record: record ?? EMPTY_RECORD, ...(shared ? { shared } : {}), stack, env, outputs, program };
}

async function selectFleetStack(name: string, project: string | undefined, options: { create?: boolean }) {
  const projectDir = project ? path.resolve(project) : PROJECT_DIR;
  const env = engineEnvironment(name, projectDir);
  process.env.PATH = env.PATH;
  const pulumiCommand = await pulumiCli();
  const program: Fleet["program"] = {};
  const args = {
    stackName: name,
    projectName: "agentpod",
    program: () => {
      if (!program.input) throw new Error("unreachable: the fleet stack runs only with its input set (applyFleet, previewFleet)");
      return partProgram(program.input);
    },
  };
  const workspace = { workDir: projectDir, envVars: env, pulumiCommand };
  try {
    const stack = options.create ? await LocalWorkspace.createOrSelectStack(args, workspace) : await LocalWorkspace.selectStack(args, workspace);
    return { stack, projectDir, env, program };
  } catch (error) {
    if (/no stack named|not found|does not exist/i.test(String(error))) throw new CommandError(`stack "${name}" does not exist yet: \`agentpod up --stack ${name}\` creates it`);
    throw error;
  }
}

/** The fleet stack as `agentpod migrate` needs it: whether it still holds the whole fleet, and where its parts go. */
export async function openWholeFleetStack(name: string, project: string | undefined) {
  const { stack, projectDir, env } = await selectFleetStack(name, project, {});
  const outputs = await stack.outputs();
  const needsMigration = !outputs.record && (await holdsWholeFleet(stack));
  return { stack, needsMigration, fleet: { name, projectDir, env } };
}

/** Whether a stack without a record holds the resources of hosts or tenants (a fleet in one stack). */
async function holdsWholeFleet(stack: Stack): Promise<boolean> {
  const resources = ((await stack.exportStack()).deployment?.resources ?? []) as Array<{ type: string }>;
  return resources.some((r) => r.type.startsWith("agentpod:index:"));
}

/** tenants.yaml against the fleet's settings: every problem at once, before any stack runs. */
export function fleetInputs(fleet: Fleet) {
  try {
    return validateInputs(fleet.projectDir, fleet.settings, givenSecrets(fleet.secrets));
  } catch (error) {
    if (error instanceof TenantsFileError || error instanceof SettingsError) throw new CommandError(error.message);
    throw error;
  }
}

/** The workspace of the fleet's part stacks: a directory of this checkout, rebuilt from the fleet stack's file. */
function partWorkspaceDir(fleet: Pick<Fleet, "name" | "projectDir">): string {
  return path.join(fleet.projectDir, ".agentpod", "stacks", fleet.name);
}

/**
 * The encryption settings of the fleet stack (its passphrase salt, or its KMS key), which every part stack shares:
 * their secrets are encrypted with the fleet's key, so state moves between them and one passphrase opens them all.
 */
function fleetEncryptionSettings(fleet: Pick<Fleet, "name" | "projectDir">): Record<string, string> {
  const file = path.join(fleet.projectDir, `Pulumi.${fleet.name}.yaml`);
  const parsed = existsSync(file) ? ((parseYaml(readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>) : {};
  return Object.fromEntries(["secretsprovider", "encryptedkey", "encryptionsalt"].filter((k) => typeof parsed[k] === "string").map((k) => [k, parsed[k] as string]));
}

function writePartWorkspace(fleet: Pick<Fleet, "name" | "projectDir">, stackName: string): string {
  const dir = partWorkspaceDir(fleet);
  mkdirSync(dir, { recursive: true });
  const project = path.join(dir, "Pulumi.yaml");
  if (!existsSync(project)) writeFileSync(project, "name: agentpod\nruntime: nodejs\n");
  const settings = Object.entries(fleetEncryptionSettings(fleet)).map(([k, v]) => `${k}: ${v}\n`).join("");
  const file = path.join(dir, `Pulumi.${stackName}.yaml`);
  if (!existsSync(file) || readFileSync(file, "utf8") !== settings) writeFileSync(file, settings);
  return dir;
}

/** One part stack of the fleet, with the program of its input. */
export async function openPart(fleet: Pick<Fleet, "name" | "projectDir" | "env">, stackName: string, input: PartInput, options: { create?: boolean } = {}): Promise<Stack> {
  const pulumiCommand = await pulumiCli();
  const args = { stackName, projectName: "agentpod", program: () => partProgram(input) };
  const workspace = { workDir: writePartWorkspace(fleet, stackName), envVars: fleet.env, pulumiCommand };
  return options.create ? LocalWorkspace.createOrSelectStack(args, workspace) : LocalWorkspace.selectStack(args, workspace);
}

/**
 * A stack that does not exist yet, for a preview: in a scratch backend of its own, so that a preview creates no stack
 * (the pull request's preview may only read the fleet's state) and shows the part's resources as creations.
 */
async function scratchPart(fleet: Pick<Fleet, "projectDir" | "env">, stackName: string, input: PartInput): Promise<{ stack: Stack; dispose: () => void }> {
  const dir = mkdtempSync(path.join(tmpdir(), "agentpod-preview-"));
  writeFileSync(path.join(dir, "Pulumi.yaml"), "name: agentpod\nruntime: nodejs\n");
  mkdirSync(path.join(dir, "state"));
  // The dynamic providers' plugin finds the SDK from its working directory, which is this one.
  symlinkSync(path.join(fleet.projectDir, "node_modules"), path.join(dir, "node_modules"));
  const envVars = { ...fleet.env, PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: "scratch" };
  const stack = await LocalWorkspace.createStack({ stackName, projectName: "agentpod", program: () => partProgram(input) }, { workDir: dir, envVars, pulumiCommand: await pulumiCli() });
  return { stack, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the tasks, at most `limit` at once; resolves when all have settled. */
async function inPool<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const describeScope = (stack: string, fleet: string) => stack.slice(fleet.length + 1).replace(".", " ");

export interface FleetRunOptions {
  readonly permissions?: RunPermissions;
  /** Every stack runs, not only those whose inputs changed (`--all`). */
  readonly everyStack?: boolean;
  readonly policyPack?: string;
  readonly parallel?: number;
  /** Where progress goes (one line per stack); the engine's own output of a failed stack comes with its error. */
  readonly out?: NodeJS.WritableStream;
}

/**
 * The stages of a run, in order: each needs the outputs of the one before (the hosts the fleet's backup key, the
 * tenants their hosts' endpoints and proxies). `agentpod migrate` previews and applies one stage at a time.
 */
export type FleetStage = "fleet" | "hosts" | "tenants";

export interface StackFailure {
  readonly stack: string;
  readonly message: string;
}

export interface ApplyReport {
  readonly ran: string[];
  readonly failures: StackFailure[];
  readonly changes: Record<string, number>;
  readonly record: FleetRecord;
}

function planContext(fleet: Fleet, permissions: RunPermissions, everyStack = false) {
  const { fleet: plan, modelKeys, settings } = fleetInputs(fleet);
  const context: PartPlanContext = { fleetStack: fleet.name, settings, secrets: fleet.secrets, fleet: plan, modelKeys, record: fleet.record, permissions, codeDigest: programDigest(PROJECT_DIR), everyStack };
  return { context, warnings: modelKeyWarnings(plan, settings, modelKeys) };
}

/** The error of a failed engine run, as the operator needs it: the engine's error lines, or its message. */
function failureText(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  return engineErrorText(raw) ?? raw.split("\n").slice(-8).join("\n");
}

/**
 * `up` for the fleet: the fleet stack when its own inputs changed, then the hosts' stacks whose inputs changed, then
 * the tenants' (with their hosts' outputs as they are now), then the stacks of removed tenants and hosts, and last the
 * record. A failure stops the stacks that depend on the failed one, not the others; the record keeps what succeeded,
 * so the next run continues from there.
 */
export async function applyFleet(fleet: Fleet, options: FleetRunOptions & { through?: FleetStage } = {}): Promise<ApplyReport> {
  const out = options.out ?? process.stdout;
  const parallel = options.parallel ?? DEFAULT_PARALLEL_STACKS;
  const { context, warnings } = planContext(fleet, options.permissions ?? {}, options.everyStack);
  for (const warning of warnings) console.error(`agentpod: warning: ${warning}`);
  const hosts: Record<string, FleetRecord["hosts"][string]> = { ...fleet.record.hosts };
  const tenants: Record<string, FleetRecord["tenants"][string]> = { ...fleet.record.tenants };
  const ran: string[] = [];
  const failures: StackFailure[] = [];
  const changes: Record<string, number> = {};
  const policyPacks = options.policyPack ? { policyPacks: [options.policyPack] } : {};

  const runUp = async (stackName: string, input: PartInput): Promise<Record<string, { value: unknown }> | undefined> => {
    out.write(`${describeScope(stackName, fleet.name) || "fleet"}: applying\n`);
    try {
      const stack = stackName === fleet.name ? fleet.stack : await openPart(fleet, stackName, input, { create: true });
      // Its output is not streamed (several run at once): a line when it ends, and its errors if it fails.
      const result = await stack.up(policyPacks);
      ran.push(stackName);
      const counts = Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same");
      for (const [op, n] of counts) changes[op] = (changes[op] ?? 0) + (n ?? 0);
      out.write(`${describeScope(stackName, fleet.name) || "fleet"}: done${counts.length ? ` (${counts.map(([op, n]) => `${op} ${n}`).join(", ")})` : ", no changes"}\n`);
      return result.outputs;
    } catch (error) {
      failures.push({ stack: stackName, message: failureText(error) });
      out.write(`${describeScope(stackName, fleet.name) || "fleet"}: FAILED\n`);
      return undefined;
    }
  };

  const recordNow = (): FleetRecord => ({ shared: fleet.record.shared, hosts: { ...hosts }, tenants: { ...tenants } });
  const writeRecord = async (record: FleetRecord) => {
    fleet.program.input = { kind: "fleet", settings: context.settings, secrets: pickSecrets(fleet.secrets, FLEET_SECRETS), record };
    const outputs = await runUp(fleet.name, fleet.program.input);
    return outputs ? (outputs.shared?.value as SharedOutputs) : undefined;
  };

  // The fleet stack first when its own inputs changed (or it never ran): the hosts need what it creates.
  const sharedPrint = sharedFingerprint(context);
  let shared = fleet.shared;
  if (fleet.record.shared !== sharedPrint || shared === undefined || options.everyStack) {
    // Its own fingerprint goes with it: once it has run, it is current, whatever happens to the other stacks.
    shared = await writeRecord({ ...fleet.record, shared: sharedPrint });
    if (!shared) return finish();
  }
  if (options.through === "fleet") return finish({ ...recordNow(), shared: sharedPrint });

  const hostParts = planHostParts(context, shared!);
  const failedHosts = new Set<string>();
  // While no host has ever run, the backup repository may not exist: the first host creates it alone.
  const changedHosts = hostParts.filter((p) => p.changed);
  const runHost = async (part: PlannedPart<(typeof hostParts)[number]["input"]>) => {
    const outputs = await runUp(part.stack, part.input);
    const name = part.input.host.name;
    if (outputs?.host) hosts[name] = { fingerprint: part.fingerprint, outputs: outputs.host.value as HostOutputs };
    else {
      failedHosts.add(name);
      // A failed run may have changed part of the stack: it must run again next time, whatever its input.
      if (hosts[name]) hosts[name] = { ...hosts[name]!, fingerprint: "" };
    }
  };
  const first = Object.keys(fleet.record.hosts).length === 0 ? changedHosts.slice(0, 1) : [];
  for (const part of first) await runHost(part);
  await inPool(changedHosts.slice(first.length), parallel, runHost);
  if (options.through === "hosts") {
    const record = { ...recordNow(), shared: sharedPrint };
    if (changedHosts.length > 0) await writeRecord(record);
    return finish(record);
  }

  const hostOutputs = Object.fromEntries(Object.entries(hosts).map(([name, entry]) => [name, entry.outputs]));
  const tenantParts = planTenantParts(context, hostOutputs).filter((p) => p.changed);
  await inPool(tenantParts, parallel, async (part) => {
    if (failedHosts.has(part.input.tenant.host) || !hostOutputs[part.input.tenant.host]) {
      failures.push({ stack: part.stack, message: `not applied: the stack of its host ${part.input.tenant.host} failed` });
      return;
    }
    const outputs = await runUp(part.stack, part.input);
    const name = part.input.tenant.name;
    if (outputs?.tenant) {
      tenants[name] = { fingerprint: part.fingerprint, output: outputs.tenant.value as TenantOutput, token: outputs.gatewayToken!.value as string, image: part.input.tenant.image };
    } else if (tenants[name]) {
      // As for a host: it runs again next time. Its image stays the last one applied in full (an image rollout reads it).
      tenants[name] = { ...tenants[name]!, fingerprint: "" };
    }
  });

  // Removed tenants and hosts: their stacks declare nothing (retained data stays), then the empty stacks go.
  const removed = plannedRemovals(context);
  const removeStack = async (stackName: string, forget: () => void) => {
    if ((await runUp(stackName, { kind: "removed" })) === undefined) return;
    const stack = await openPart(fleet, stackName, { kind: "removed" });
    await stack.workspace.removeStack(stackName);
    rmSync(path.join(partWorkspaceDir(fleet), `Pulumi.${stackName}.yaml`), { force: true });
    forget();
  };
  await inPool(removed.tenants, parallel, (t) => removeStack(stackNameOf(fleet.name, { kind: "tenant", tenant: t }), () => delete tenants[t]));
  for (const h of removed.hosts) await removeStack(stackNameOf(fleet.name, { kind: "host", host: h }), () => delete hosts[h]);

  const record = { ...recordNow(), shared: sharedPrint };
  if (ran.length > 0 || failures.length > 0 || fleet.record.shared !== sharedPrint) await writeRecord(record);
  return finish(record);

  function finish(record: FleetRecord = recordNow()): ApplyReport {
    return { ran, failures, changes, record };
  }
}

const pickSecrets = (values: Readonly<Record<string, string>>, keys: readonly string[]) => Object.fromEntries(keys.filter((k) => Object.hasOwn(values, k)).map((k) => [k, values[k]!]));

export interface PreviewReport {
  readonly steps: Array<Step & { stack: string }>;
  readonly failures: StackFailure[];
  readonly warnings: string[];
  readonly unchecked: Array<{ tenant: string; host: string }>;
  /** Stacks whose inputs changed: the ones previewed. */
  readonly previewed: string[];
  /** Each previewed stack's engine output (its diff with `diff: true`), errors left to `failures`. */
  readonly outputs: Array<{ stack: string; text: string }>;
}

/**
 * `preview` for the fleet: the stacks whose inputs changed, previewed as `applyFleet` would run them (a tenant whose
 * host changes too is previewed with its host's outputs as they are now). A stack that does not exist yet is
 * previewed in a scratch backend, so a preview never creates one.
 */
export async function previewFleet(
  fleet: Fleet,
  options: FleetRunOptions & {
    onEvent?: (stack: string, event: EngineEvent) => void;
    diff?: boolean;
    /** One stage only (default: all). */
    only?: FleetStage;
    /** Stacks that exist although the record does not list them yet (`agentpod migrate`'s, just imported): previewed against their state. */
    existing?: ReadonlySet<string>;
  } = {},
): Promise<PreviewReport> {
  const parallel = options.parallel ?? DEFAULT_PARALLEL_STACKS;
  const { context, warnings } = planContext(fleet, options.permissions ?? {}, options.everyStack);
  const steps: PreviewReport["steps"] = [];
  const failures: StackFailure[] = [];
  const unchecked: PreviewReport["unchecked"] = [];
  const previewed: string[] = [];
  const policyPacks = options.policyPack ? { policyPacks: [options.policyPack] } : {};

  const outputs: PreviewReport["outputs"] = [];
  const includes = (stage: FleetStage) => options.only === undefined || options.only === stage;
  const preview = async (stackName: string, input: PartInput, recorded: boolean) => {
    const exists = recorded || (options.existing?.has(stackName) ?? false);
    previewed.push(stackName);
    const filter = new EngineOutputFilter();
    let text = "";
    const collector = stepCollector();
    const claims = uncheckedClaimsCollector();
    let scratch: { stack: Stack; dispose: () => void } | undefined;
    try {
      let stack: Stack;
      if (stackName === fleet.name) stack = fleet.stack;
      else if (exists) stack = await openPart(fleet, stackName, input);
      else stack = (scratch = await scratchPart(fleet, stackName, input)).stack;
      await stack.preview({
        onEvent: (event) => {
          collector.onEvent(event);
          claims.onEvent(event);
          if (event.diagnosticEvent?.severity === "warning") warnings.push(event.diagnosticEvent.message.trim());
          options.onEvent?.(stackName, event);
        },
        onOutput: (chunk) => void (text += filter.push(chunk)),
        ...(options.diff ? { diff: true } : {}),
        ...policyPacks,
      });
    } catch (error) {
      failures.push({ stack: stackName, message: failureText(error) });
    } finally {
      scratch?.dispose();
      outputs.push({ stack: stackName, text: text + filter.end() });
    }
    for (const step of collector.steps) steps.push({ ...step, stack: stackName });
    unchecked.push(...claims.unchecked);
  };

  const sharedPrint = sharedFingerprint(context);
  if (includes("fleet") && (fleet.record.shared !== sharedPrint || !fleet.shared || options.everyStack)) {
    fleet.program.input = { kind: "fleet", settings: context.settings, secrets: pickSecrets(fleet.secrets, FLEET_SECRETS), record: fleet.record };
    await preview(fleet.name, fleet.program.input, true);
  }
  // Before the fleet stack's first run its outputs are unknown: the hosts are previewed with a stand-in key.
  const shared = fleet.shared ?? { backupPassword: "(created by the first up)" };
  // Hosts first: what their changes make new (a new proxy container, a new server) is unknown to their tenants' previews.
  const hostParts = includes("hosts") ? planHostParts(context, shared).filter((p) => p.changed) : [];
  await inPool(hostParts, parallel, (p) => preview(p.stack, p.input, Object.hasOwn(fleet.record.hosts, p.input.host.name)));
  const changing = Object.fromEntries(
    hostParts.map((p) => [p.input.host.name, hostOutputsChangedBy(steps.filter((s) => s.stack === p.stack), p.input.host.name, context.settings.target)]),
  );
  const recorded = Object.fromEntries(Object.entries(fleet.record.hosts).map(([name, entry]) => [name, entry.outputs]));
  const tenantParts = includes("tenants") ? planTenantParts(context, recorded, changing).filter((p) => p.changed) : [];
  const removed = includes("tenants") ? plannedRemovals(context) : { tenants: [], hosts: [] };
  const jobs: Array<() => Promise<void>> = [
    ...tenantParts.map((p) => () => preview(p.stack, p.input, Object.hasOwn(fleet.record.tenants, p.input.tenant.name))),
    ...removed.tenants.map((t) => () => preview(stackNameOf(fleet.name, { kind: "tenant", tenant: t }), { kind: "removed" }, true)),
    ...removed.hosts.map((h) => () => preview(stackNameOf(fleet.name, { kind: "host", host: h }), { kind: "removed" }, true)),
  ];
  await inPool(jobs, parallel, (job) => job());
  outputs.sort((a, b) => (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
  return { steps, failures, warnings: [...new Set(warnings)], unchecked, previewed, outputs };
}

/**
 * `destroy` for the fleet: every tenant's stack, then every host's, then the fleet stack's own resources. Protected
 * resources stay (the hosts' data volumes, the backup key), with the stacks that hold them; empty stacks go.
 */
export async function destroyFleet(fleet: Fleet, options: Pick<FleetRunOptions, "out" | "parallel"> = {}): Promise<{ removed: number; retained: string[] }> {
  const out = options.out ?? process.stdout;
  const parallel = options.parallel ?? DEFAULT_PARALLEL_STACKS;
  let removed = 0;
  const retained: string[] = [];
  const failures: StackFailure[] = [];
  const destroy = async (stackName: string, stack?: Stack) => {
    try {
      const target = stack ?? (await openPart(fleet, stackName, { kind: "removed" }));
      const result = await target.destroy({ excludeProtected: true });
      removed += result.summary.resourceChanges?.delete ?? 0;
      const left = ((await target.exportStack()).deployment?.resources ?? []) as Array<{ urn: string; protect?: boolean }>;
      const kept = left.filter((r) => r.protect).map((r) => r.urn.split("::").pop()!);
      retained.push(...kept);
      if (stack === undefined && left.length === 0) {
        await target.workspace.removeStack(stackName);
        rmSync(path.join(partWorkspaceDir(fleet), `Pulumi.${stackName}.yaml`), { force: true });
      }
      out.write(`${describeScope(stackName, fleet.name) || "fleet"}: destroyed${kept.length ? ` (kept: ${kept.join(", ")})` : ""}\n`);
    } catch (error) {
      failures.push({ stack: stackName, message: failureText(error) });
    }
  };
  await inPool(Object.keys(fleet.record.tenants).sort(), parallel, (t) => destroy(stackNameOf(fleet.name, { kind: "tenant", tenant: t })));
  await inPool(Object.keys(fleet.record.hosts).sort(), parallel, (h) => destroy(stackNameOf(fleet.name, { kind: "host", host: h })));
  if (failures.length > 0) {
    throw new CommandError(`${failures.length} stack(s) could not be destroyed; run \`agentpod destroy\` again:\n${failures.map((f) => `stack ${f.stack}:\n${f.message.replace(/^/gm, "  ")}`).join("\n")}`);
  }
  // The record first says the fleet has no stacks any more (so a new `up` builds them all), then its own resources go.
  const settings = fleet.settings;
  fleet.program.input = { kind: "fleet", settings, secrets: pickSecrets(fleet.secrets, FLEET_SECRETS), record: EMPTY_RECORD };
  await fleet.stack.up();
  await destroy(fleet.name, fleet.stack);
  return { removed, retained };
}

/** The stack of one host or tenant of the fleet, to read or edit its state (its program is not run from here). */
export function partStack(fleet: Fleet, scope: { kind: "host"; host: string } | { kind: "tenant"; tenant: string }): Promise<Stack> {
  return openPart(fleet, stackNameOf(fleet.name, scope), { kind: "removed" }).catch((error: unknown) => {
    if (/no stack named|not found|does not exist/i.test(String(error))) {
      throw new CommandError(`stack ${fleet.name} has no stack for ${scope.kind} ${scope.kind === "host" ? scope.host : scope.tenant}: is it deployed? (\`agentpod up --stack ${fleet.name}\`)`);
    }
    throw error;
  });
}

/**
 * One `up` of a host's stack with engine options a plain run does not take (`agentpod host replace`: which resources
 * to replace, or the one to target), its output streamed. The next applyFleet records it and runs its tenants.
 */
export async function applyHostStack(fleet: Fleet, host: string, permissions: RunPermissions, upOptions: { replace?: string[]; target?: string[] }): Promise<void> {
  const { context } = planContext(fleet, permissions);
  const part = planHostParts(context, fleet.shared ?? { backupPassword: "" }).find((p) => p.input.host.name === host);
  if (!part || !fleet.shared) throw new CommandError(`host ${host} is not in ${fleet.settings.tenantsFile} of stack ${fleet.name}, or the fleet has never been applied; nothing was changed`);
  const stack = await openPart(fleet, part.stack, part.input);
  const filter = new EngineOutputFilter();
  try {
    await stack.up({ ...upOptions, onOutput: (chunk) => void process.stdout.write(filter.push(chunk)) });
  } finally {
    process.stdout.write(filter.end());
  }
}
