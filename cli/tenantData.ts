/**
 * The tenant commands that act on a running stack's data rather than only on tenants.yaml:
 * - `agentpod tenant move <name> <host> --stack S` carries the tenant's data to the new host, then applies;
 * - `agentpod tenant purge <name> [--host H] --stack S` deletes a removed tenant's retained data.
 * Both refuse when in doubt and say what to run instead; neither ever leaves a fresh, empty gateway answering for a
 * tenant that has data.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline/promises";
import { moveTenant } from "../fleet/edit";
import { dockerNames } from "../fleet/gateway";
import { digestTenantDataScript, exportTenantDataScript, importTenantDataScript, probeTenantDataScript, purgeTenantDataScript, removeGatewayConfigScript, removeRouteScript, tenantDataDir } from "../fleet/hostScripts";
import { traefikContainerName } from "../fleet/traefik";
import { formatBytes } from "../fleet/units";
import { checkTenantsFile } from "../fleet/validate";
import { hostShellArgv, runOnHost, type HostShell } from "../providers/hostShell";
import { tenantEngineResources, withoutResources, type StateResource } from "./replacementPlan";
import { dockerAt, engineAnswers, hostEndpoint, hostShell, openStackContext, type StackContext } from "./stackContext";
import { CommandError, domainOptionsFor, tenantsText, writeTenantsFile } from "./shared";

/** The stack's tenants file: its path and its tenants as the stack resolves them. */
export function stackTenantsFile(context: StackContext) {
  const file = path.resolve(context.projectDir, context.settings.tenantsFile);
  if (!existsSync(file)) throw new CommandError(`${context.settings.tenantsFile} (the tenants file of stack ${context.stackName}) not found in ${context.projectDir}`);
  const display = context.settings.tenantsFile;
  const text = tenantsText(display, readFileSync(file));
  const zone = context.settings.target === "hetzner" ? context.settings.zone : undefined;
  const options = { file: display, ...(zone ? { domainSuffix: zone, zone } : domainOptionsFor(file, undefined)) };
  return { file, display, text, options, fleet: checkTenantsFile(text, options).fleet };
}

function requireShell(context: StackContext, host: string): HostShell {
  const shell = hostShell(context, host);
  if (!shell) throw new CommandError(`host ${host} has no address in the outputs of stack ${context.stackName}: run \`agentpod up --stack ${context.stackName}\` first`);
  return shell;
}

async function requireAnswering(context: StackContext, host: string, why: string): Promise<string> {
  const endpoint = hostEndpoint(context.settings, host, context.hosts);
  const alive = endpoint ? await engineAnswers(endpoint) : { ok: false, detail: "no address" };
  if (!endpoint || !alive.ok) throw new CommandError(`host ${host} does not answer (${alive.detail}): ${why}`);
  return endpoint;
}

/** Streams one host's tenant directory into another's, and proves the copy equal. */
async function copyTenantData(tenant: string, from: HostShell, to: HostShell): Promise<void> {
  const source = hostShellArgv(from, exportTenantDataScript(tenant));
  const target = hostShellArgv(to, importTenantDataScript(tenant));
  await new Promise<void>((resolve, reject) => {
    const reader = spawn(source.file, source.args, { stdio: ["ignore", "pipe", "pipe"] });
    const writer = spawn(target.file, target.args, { stdio: ["pipe", "ignore", "pipe"] });
    let errors = "";
    reader.stderr.on("data", (c) => (errors += String(c)));
    writer.stderr.on("data", (c) => (errors += String(c)));
    reader.stdout.pipe(writer.stdin);
    let pending = 2;
    let failed = false;
    const done = (code: number | null, side: string) => {
      if (code !== 0 && !failed) {
        failed = true;
        reject(new Error(`copying ${tenantDataDir(tenant)} failed (${side} exited ${code}): ${errors.trim()}`));
      }
      if (--pending === 0 && !failed) resolve();
    };
    reader.on("close", (code) => done(code, "export"));
    writer.on("close", (code) => done(code, "import"));
  });
  if (!(await sameTenantData(tenant, from, to))) throw new Error(`the copy of ${tenantDataDir(tenant)} differs from its source`);
}

async function sameTenantData(tenant: string, a: HostShell, b: HostShell): Promise<boolean> {
  const [left, right] = await Promise.all([runOnHost(a, digestTenantDataScript(tenant)), runOnHost(b, digestTenantDataScript(tenant))]);
  return left.code === 0 && right.code === 0 && left.stdout === right.stdout;
}

export const MOVE_USAGE = `agentpod tenant move <name> <host> [--file F]
agentpod tenant move <name> <host> --stack S [--project DIR]

Places a tenant on another host.
Without --stack: edits tenants.yaml only. Applying that edit with a plain \`up\` is refused (it would start the
tenant on the new host without its data); apply it with the form below.
With --stack: moves the tenant with its data, in this order: checks both hosts answer and the new host holds no data
of that name; writes host: <host> into the stack's tenants file; stops the gateway on the old host; streams its data
directory to the new host's data volume and proves the copy equal; applies (the gateway starts on the new host with
its data, its route follows, its token is unchanged). The old copy stays on the old host until you purge it
(\`agentpod tenant purge <name> --host <old host> --stack S\`). At no moment does an empty gateway answer for it.`;

/** The host whose data directory the stack owns for a tenant: its claim in the state, which only a successful create moves. */
async function claimedHost(context: StackContext, tenant: string): Promise<string | undefined> {
  if (!Object.hasOwn(context.stacks.record.tenants, tenant)) return undefined;
  const { partStack } = await import("./fleetStacks");
  const stack = await partStack(context.stacks, { kind: "tenant", tenant });
  const resources = ((await stack.exportStack()).deployment?.resources ?? []) as Array<{ type: string; urn: string; outputs?: { host?: string } }>;
  const claim = resources.find((r) => r.type === "pulumi-nodejs:dynamic/agentpod:TenantDataDirectory" && r.urn.endsWith(`::${tenant}-data-dir`));
  return claim?.outputs?.host;
}

export async function moveWithData(name: string, to: string, stackName: string, project: string | undefined): Promise<number> {
  const context = await openStackContext(stackName, project);
  const from = await claimedHost(context, name);
  if (!from) throw new CommandError(`tenant ${name} is not deployed in stack ${stackName}: edit tenants.yaml and run \`agentpod up\` instead; nothing was changed`);
  if (from === to) {
    console.log(`${name} already runs on ${to}; nothing to do`);
    return 0;
  }
  if (!(to in context.hosts)) throw new CommandError(`host ${to} is not up in stack ${stackName}: add it to tenants.yaml and run \`agentpod up --stack ${stackName}\` first; nothing was changed`);
  const fromEndpoint = await requireAnswering(context, from, `the data of ${name} cannot be copied from it. If its server is lost, run \`agentpod host replace ${from} --stack ${stackName}\` first; nothing was changed`);
  await requireAnswering(context, to, `nothing was changed`);
  const fromShell = requireShell(context, from);
  const toShell = requireShell(context, to);
  const existing = await runOnHost(toShell, probeTenantDataScript(name));
  if (existing.code !== 0) throw new CommandError(`could not look for data on ${to}: ${existing.stderr.trim()}; nothing was changed`);
  // A copy left by an interrupted move of this very data is taken up again; any other data there is refused.
  const resumed = existing.stdout.trim() !== "" && (await sameTenantData(name, fromShell, toShell));
  if (existing.stdout.trim() && !resumed) {
    throw new CommandError(
      `host ${to} already holds data of a tenant named ${name} (${tenantDataDir(name)}, ${formatBytes(Number(existing.stdout.trim()))}): ` +
        `purge it first (\`agentpod tenant purge ${name} --host ${to} --stack ${stackName}\`); nothing was changed`,
    );
  }

  const tenants = stackTenantsFile(context);
  const edit = moveTenant(tenants.text, name, to, tenants.options);
  if (!edit.ok) throw new CommandError(edit.message, edit.issues);
  const container = dockerNames(name, context.fleet).container;
  console.log(`stopping ${name} on ${from}`);
  const stopped = await dockerAt(fromEndpoint, ["stop", "--time", "30", container], 60_000);
  if (stopped.code !== 0 && !/no such container/i.test(stopped.stderr)) throw new CommandError(`could not stop ${container} on ${from}: ${stopped.stderr.trim()}; nothing was changed`);
  try {
    if (resumed) console.log(`${to} already holds an identical copy of ${tenantDataDir(name)} (an interrupted move): using it`);
    else {
      console.log(`copying ${tenantDataDir(name)} from ${from} to ${to}`);
      await copyTenantData(name, fromShell, toShell);
    }
  } catch (error) {
    // Back to where we started: the partial copy goes, the gateway runs again on the old host.
    await runOnHost(toShell, purgeTenantDataScript(name));
    await dockerAt(fromEndpoint, ["start", container]);
    throw new CommandError(`${error instanceof Error ? error.message : String(error)}; ${name} runs on ${from} again and tenants.yaml is unchanged`);
  }
  if (edit.changed) writeTenantsFile({ path: tenants.file, display: tenants.display }, edit.text);
  console.log(`${tenants.display}: ${name} is now on ${to}; applying`);
  // The gateway's objects on the old host are created afresh on the new one (see tenantEngineResources).
  const { applyFleet, openFleet, partStack } = await import("./fleetStacks");
  const tenantStack = await partStack(context.stacks, { kind: "tenant", tenant: name });
  const deployment = await tenantStack.exportStack();
  const resources = (deployment.deployment?.resources ?? []) as StateResource[];
  deployment.deployment.resources = withoutResources(resources, tenantEngineResources(resources, name, from));
  await tenantStack.importStack(deployment);
  const report = await applyFleet(await openFleet(stackName, context.projectDir), { permissions: { moves: { [name]: from } } }).catch((error: unknown) => ({ failures: [{ stack: name, message: error instanceof Error ? error.message : String(error) }] }));
  if (report.failures.length > 0) {
    throw new CommandError(
      `the copy is on ${to} but applying failed: ${report.failures.map((f) => f.message.split("\n").slice(-5).join(" ")).join("; ")}. ` +
        `Fix the cause and run \`agentpod tenant move ${name} ${to} --stack ${stackName}\` again (the data on ${to} is kept), ` +
        `or go back: \`agentpod tenant purge ${name} --host ${to} --stack ${stackName}\`, set host: ${from} again and \`agentpod up\`.`,
    );
  }
  await removeOldGateway(name, context, fromEndpoint, fromShell);
  console.log(`\nagentpod: ${name} moved from ${from} to ${to} with its data. The old copy stays on ${from}: \`agentpod tenant purge ${name} --host ${from} --stack ${stackName}\` deletes it.`);
  return 0;
}

/** The stopped gateway's route, container, config, network and volume object on the old host (the data directory stays). */
async function removeOldGateway(tenant: string, context: StackContext, endpoint: string, shell: HostShell): Promise<void> {
  const names = dockerNames(tenant, context.fleet);
  await runOnHost(shell, removeRouteScript(tenant));
  await dockerAt(endpoint, ["rm", "--force", names.container]);
  await runOnHost(shell, removeGatewayConfigScript(tenant));
  await dockerAt(endpoint, ["network", "disconnect", "--force", names.network, traefikContainerName(context.fleet)]);
  await dockerAt(endpoint, ["network", "rm", names.network]);
  await dockerAt(endpoint, ["volume", "rm", names.volume]);
}

export const PURGE_USAGE = `agentpod tenant purge <name> [--host H] [--stack local] [--project DIR] [--yes]

Deletes the retained data of a tenant that is no longer in tenants.yaml (or an old copy on a host it moved away
from): the directory /mnt/agentpod/tenants/<name> on the host's data volume and its Docker volume object. Refused
while the tenant is declared on that host or still deployed there. Asks for confirmation unless --yes.
  --host <host>    the host holding the data (default: the one host that has data of that name)
  --yes            do not ask`;

export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question(`${question} [y/N] `);
  prompt.close();
  return /^y(es)?$/i.test(answer.trim());
}

export async function purgeData(name: string, hostOption: string | undefined, yes: boolean, stackName: string, project: string | undefined): Promise<number> {
  const context = await openStackContext(stackName, project);
  const declared = stackTenantsFile(context).fleet?.tenants.find((t) => t.name === name);
  const deployed = context.tenants[name];
  const hosts = hostOption ? [hostOption] : Object.keys(context.hosts).sort();
  if (hostOption && !(hostOption in context.hosts)) throw new CommandError(`host ${hostOption} is not a host of stack ${stackName}; nothing was deleted`);
  const holding: Array<{ host: string; bytes: number }> = [];
  for (const host of hosts) {
    const shell = hostShell(context, host);
    const probe = shell ? await runOnHost(shell, probeTenantDataScript(name), { timeoutMs: 30_000 }) : undefined;
    if (!probe || probe.code !== 0) {
      if (hostOption) throw new CommandError(`host ${host} does not answer: nothing was deleted`);
      continue;
    }
    if (probe.stdout.trim()) holding.push({ host, bytes: Number(probe.stdout.trim()) });
  }
  if (holding.length === 0) throw new CommandError(`no data of a tenant named ${name} on ${hostOption ?? "any answering host"} of stack ${stackName}; nothing was deleted`);
  if (holding.length > 1) throw new CommandError(`data of ${name} is on several hosts (${holding.map((h) => h.host).join(", ")}): say which with --host; nothing was deleted`);
  const { host, bytes } = holding[0]!;
  if (declared?.host === host) {
    throw new CommandError(`tenant ${name} is still in ${context.settings.tenantsFile} on host ${host}: remove it there and apply (\`agentpod tenant remove ${name}\`, then \`agentpod up --stack ${stackName}\`) before purging; nothing was deleted`);
  }
  if (deployed?.host === host) {
    throw new CommandError(`tenant ${name} is still deployed on ${host} in stack ${stackName}: apply its removal first (\`agentpod up --stack ${stackName}\`); nothing was deleted`);
  }
  if (!yes && !(await confirm(`Delete ${tenantDataDir(name)} (${formatBytes(bytes)}) on host ${host}? This cannot be undone.`))) {
    throw new CommandError(`not confirmed: nothing was deleted (pass --yes to purge without a question)`);
  }
  const result = await runOnHost(requireShell(context, host), purgeTenantDataScript(name));
  if (result.code !== 0) throw new CommandError(`could not delete ${tenantDataDir(name)} on ${host}: ${result.stderr.trim()}`);
  const endpoint = hostEndpoint(context.settings, host, context.hosts);
  if (endpoint) await dockerAt(endpoint, ["volume", "rm", dockerNames(name, context.fleet).volume]);
  console.log(`purged ${tenantDataDir(name)} (${formatBytes(bytes)}) on host ${host}`);
  return 0;
}
