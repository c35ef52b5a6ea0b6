/**
 * `agentpod host replace <host>`: recovers a lost host. The server (an hcloud server, or a local server container
 * with its disk) is replaced by a new one; the host's data volume is attached again, and its proxy and tenants come
 * back with their data and their gateway tokens. Tenants on other hosts are not touched.
 */
import { ReplacementError, planHostReplacement, resourcesOnHost, withoutResources, type StateResource } from "./replacementPlan";
import { removeHost } from "../fleet/edit";
import { knownHostsLine } from "../fleet/sshHostKeys";
import { formatBytes } from "../fleet/units";
import { confirm, stackTenantsFile } from "./tenantData";
import { engineAnswers, hostEndpoint, hostShell, openStackContext, tenantDataOn } from "./stackContext";
import { CommandError, parseCommand, runCommand, writeTenantsFile, type Handler } from "./shared";

const USAGE = {
  host: `agentpod host <subcommand> [options]

Subcommands:
  replace <host> [--stack S] [--force] [--restore]   recover a lost host: a new server, the same data volume, every
                                         tenant back (--restore: data the volume lacks comes from the backups)
  retire <host> [--stack S] [--yes]      take an empty host out of the fleet: its server is deleted, its volume kept
  known-hosts [--stack S]                known_hosts lines of the hosts' pinned SSH keys, from the stack's state

Run \`agentpod host <subcommand> --help\` for details.
Exit status: 0 success, 1 refused or failed (nothing changed when refused), 2 bad usage.`,
  replace: `agentpod host replace <host> [--stack local] [--project DIR] [--force]

Recovers a lost host. First it checks that the host is really gone: while the host's Docker engine still answers it
refuses (a live server is not replaced by accident); --force replaces it anyway. Then it removes from the stack's
state what lived on the lost server (containers, networks, Docker volume objects, proxy attachments, pids limits),
never a data volume or a tenant's data directory, and runs \`up\` with the server replaced: a new server in the same
place, the same data volume attached and mounted, and Traefik and every tenant of the host back with their data and
unchanged gateway tokens. Tenants on other hosts are not touched.
  --stack <name>   the stack (default: local)
  --force          replace the host even though its engine answers (its containers are recreated)
  --restore        the data volume is lost too (a lost location): restore each tenant whose data the new server
                   lacks from its latest snapshot, before its gateway starts. Without it, a tenant whose data is
                   missing is never started empty: the replace stops and says so.

Hetzner: the server's delete protection is lifted for the replacement only; the hcloud volume stays protected.`,
  "known-hosts": `agentpod host known-hosts [--stack prod] [--project DIR]

Prints a known_hosts line ("<ipv4> ecdsa-sha2-nistp256 AAAA...") for every host the stack reaches over SSH, from the
host keys the program generated and pinned (their public halves are stack outputs). AgentPod's own SSH connections are
pinned already; this is for other SSH clients, e.g. the workflows: bin/agentpod host known-hosts --stack prod
> ~/.ssh/known_hosts, with StrictHostKeyChecking yes. Exit status 1 when a host of the stack has no pinned key yet
(run \`agentpod up\` first).`,
  retire: `agentpod host retire <host> [--stack local] [--project DIR] [--yes]

Takes a host out of the fleet, safely. Refused while any tenant is declared on it or deployed there (move or remove
them first), while its engine does not answer (nothing can be checked: replace it first), and while tenant data
remains on its data volume (purge it: agentpod tenant purge <tenant> --host <host>). Then, after a confirmation
(or --yes): lifts the protection of the host's server and data volume for this run, removes the host from the
stack's tenants file and applies. The server is deleted; the data volume is retained (never deleted by AgentPod),
with no tenant data on it: delete it yourself if you do not need it.`,
} as const;

const OPTIONS = { stack: { type: "string", short: "s", default: "local" }, project: { type: "string" }, force: { type: "boolean" }, restore: { type: "boolean" } } as const;

async function replace(args: string[]): Promise<number> {
  const parsed = parseCommand(args, OPTIONS, USAGE.replace, { names: ["host"] });
  if (!parsed) return 0;
  const host = parsed.positionals[0]!;
  const stackName = parsed.values.stack as string;
  const context = await openStackContext(stackName, parsed.values.project as string | undefined);
  if (!(host in context.hosts)) {
    const known = Object.keys(context.hosts).sort();
    throw new CommandError(`host "${host}" is not a host of stack ${stackName}${known.length ? ` (its hosts: ${known.join(", ")})` : ""}; nothing was changed`);
  }
  const endpoint = hostEndpoint(context.settings, host, context.hosts);
  if (endpoint && !parsed.values.force) {
    const alive = await engineAnswers(endpoint);
    if (alive.ok) {
      throw new CommandError(
        `host ${host} is not lost: its Docker engine answers at ${endpoint} (version ${alive.detail}); nothing was changed. ` +
          `Replacing a live host recreates all its containers: if that is what you want, run \`agentpod host replace ${host} --stack ${stackName} --force\`.`,
      );
    }
    console.log(`host ${host} does not answer (${alive.detail}): replacing it`);
  }

  const { applyFleet, applyHostStack, partStack } = await import("./fleetStacks");
  const fleet = context.stacks;
  const hostStack = await partStack(fleet, { kind: "host", host });
  const deployment = await hostStack.exportStack();
  const resources = (deployment.deployment?.resources ?? []) as StateResource[];
  let plan;
  try {
    plan = planHostReplacement(resources, host);
  } catch (error) {
    if (error instanceof ReplacementError) throw new CommandError(`${error.message}; nothing was changed`);
    throw error;
  }
  const tenants = Object.entries(context.tenants).filter(([, t]) => t.host === host).map(([name]) => name).sort();
  // What lived on the lost server's engine, in the host's stack and in each of its tenants' stacks, is forgotten.
  const tenantStacks = await Promise.all(tenants.map(async (tenant) => ({ tenant, stack: await partStack(fleet, { kind: "tenant", tenant }) })));
  const tenantDeployments = await Promise.all(tenantStacks.map(async ({ tenant, stack }) => ({ tenant, stack, deployment: await stack.exportStack() })));
  const tenantForget = tenantDeployments.map(({ tenant, deployment: d }) => {
    try {
      return resourcesOnHost((d.deployment?.resources ?? []) as StateResource[], host);
    } catch (error) {
      if (error instanceof ReplacementError) throw new CommandError(`tenant ${tenant}: ${error.message}; nothing was changed`);
      throw error;
    }
  });
  const forgotten = plan.forget.length + tenantForget.reduce((n, list) => n + list.length, 0);
  console.log(`forgetting ${forgotten} resources that lived on the lost server; keeping its data volume and tenant data`);
  deployment.deployment.resources = withoutResources(resources, plan.forget);
  await hostStack.importStack(deployment);
  for (const [index, { stack, deployment: d }] of tenantDeployments.entries()) {
    d.deployment.resources = withoutResources((d.deployment?.resources ?? []) as StateResource[], tenantForget[index]!);
    await stack.importStack(d);
  }

  // The tenants deployed there are existing customers: none may start without its data (HostBackupGate).
  const rebuiltHosts = { [host]: { tenants, restore: parsed.values.restore === true } };
  const operation = plan.releaseServer ? { releaseServers: [host], rebuiltHosts } : { rebuiltHosts };
  if (plan.releaseServer) {
    // A protected server cannot be deleted: lift Pulumi's and Hetzner's protection on it alone first.
    await applyHostStack(fleet, host, operation, { target: [plan.replace[0]!] });
  }
  await applyHostStack(fleet, host, operation, { replace: [...plan.replace] });
  // Then the host's stack as the record knows it, and its tenants' stacks with the new server's outputs.
  const report = await applyFleet(fleet, { permissions: operation });
  if (report.failures.length > 0) {
    throw new CommandError(`the new server is up, but ${report.failures.length} stack(s) failed; fix the cause and run \`agentpod up --stack ${stackName}\`:\n${report.failures.map((f) => `stack ${f.stack}:\n${f.message}`).join("\n")}`);
  }
  if (plan.releaseServer) {
    // The new server gets its protection back from the program's normal registration.
    await applyFleet(await (await import("./fleetStacks")).openFleet(stackName, context.projectDir));
  }
  console.log(`\nagentpod: host ${host} replaced; ${tenants.length ? `its tenants are back: ${tenants.join(", ")}` : "it has no tenants"}`);
  return 0;
}

async function retire(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { stack: OPTIONS.stack, project: OPTIONS.project, yes: { type: "boolean", short: "y" } }, USAGE.retire, { names: ["host"] });
  if (!parsed) return 0;
  const host = parsed.positionals[0]!;
  const stackName = parsed.values.stack as string;
  const context = await openStackContext(stackName, parsed.values.project as string | undefined);
  if (!(host in context.hosts)) throw new CommandError(`host "${host}" is not a host of stack ${stackName}; nothing was changed`);
  const tenants = stackTenantsFile(context);
  if (!tenants.fleet) throw new CommandError(`${tenants.display} has problems: fix them first (agentpod preview shows them); nothing was changed`);
  if (!tenants.fleet.hosts.some((h) => h.name === host)) {
    throw new CommandError(`host ${host} is no longer in ${tenants.display} but is still in the stack: put its entry back and run \`agentpod host retire ${host} --stack ${stackName}\`; nothing was changed`);
  }
  const declared = tenants.fleet.tenants.filter((t) => t.host === host).map((t) => t.name);
  const deployed = Object.entries(context.tenants).filter(([, t]) => t.host === host).map(([name]) => name);
  const remaining = [...new Set([...declared, ...deployed])].sort();
  if (remaining.length > 0) {
    throw new CommandError(`host ${host} still has tenants (${remaining.join(", ")}): move them (agentpod tenant move <tenant> <host> --stack ${stackName}) or remove them and apply first; nothing was changed`);
  }
  const endpoint = hostEndpoint(context.settings, host, context.hosts);
  const alive = endpoint ? await engineAnswers(endpoint) : { ok: false, detail: "no address" };
  const shell = hostShell(context, host);
  const data = alive.ok && shell ? await tenantDataOn(shell) : undefined;
  if (!data) throw new CommandError(`host ${host} does not answer (${alive.detail}): whether it holds tenant data cannot be checked. Replace it first (agentpod host replace ${host} --stack ${stackName}); nothing was changed`);
  if (data.size > 0) {
    const list = [...data].map(([tenant, bytes]) => `  ${tenant} (${formatBytes(bytes)}): agentpod tenant purge ${tenant} --host ${host} --stack ${stackName}`);
    throw new CommandError(`host ${host} still holds tenant data; purge it (or move it) first; nothing was changed:\n${list.join("\n")}`);
  }
  if (!parsed.values.yes && !(await confirm(`Delete the server of host ${host} (its data volume is kept)?`))) {
    throw new CommandError("not confirmed: nothing was changed (pass --yes to retire without a question)");
  }
  const { applyFleet, applyHostStack, openFleet, partStack } = await import("./fleetStacks");
  const resources = ((await (await partStack(context.stacks, { kind: "host", host })).exportStack()).deployment?.resources ?? []) as StateResource[];
  const guarded = resources.filter((r) => r.protect && (r.urn.endsWith(`::${host}-server`) || r.urn.endsWith(`::${host}-data`))).map((r) => r.urn);
  if (guarded.length > 0) {
    // Protection off for this host's server and volume alone (the volume stays retainOnDelete: it is never deleted).
    await applyHostStack(context.stacks, host, { retireHosts: [host] }, { target: guarded });
  }
  const edit = removeHost(tenants.text, host, tenants.options);
  if (!edit.ok) throw new CommandError(edit.message, edit.issues);
  writeTenantsFile({ path: tenants.file, display: tenants.display }, edit.text);
  const report = await applyFleet(await openFleet(stackName, context.projectDir));
  if (report.failures.length > 0) throw new CommandError(report.failures.map((f) => `stack ${f.stack}:\n${f.message}`).join("\n"));
  console.log(`\nagentpod: host ${host} retired and removed from ${tenants.display}: its server is deleted; its data volume is retained (empty of tenant data)`);
  return 0;
}

async function knownHosts(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { stack: OPTIONS.stack, project: OPTIONS.project }, USAGE["known-hosts"]);
  if (!parsed) return 0;
  const stackName = parsed.values.stack as string;
  const context = await openStackContext(stackName, parsed.values.project as string | undefined);
  if (context.settings.target !== "hetzner") throw new CommandError(`stack ${stackName} reaches its hosts without SSH (target ${context.settings.target}): no host keys to list`);
  const hosts = Object.entries(context.hosts).sort(([a], [b]) => (a < b ? -1 : 1));
  const unpinned = hosts.filter(([, h]) => !h.ipv4 || !h.sshHostKey).map(([name]) => name);
  if (unpinned.length > 0) throw new CommandError(`no pinned SSH host key in the state of stack ${stackName} for: ${unpinned.join(", ")} (run \`agentpod up --stack ${stackName}\` first)`);
  for (const [, h] of hosts) console.log(knownHostsLine(h.ipv4!, h.sshHostKey!));
  return 0;
}

export const hostCommand: Handler = async (args) => {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? console.error : console.log)(USAGE.host);
    return name === undefined ? 2 : 0;
  }
  if (name === "replace") return runCommand(USAGE.replace, () => replace(rest));
  if (name === "retire") return runCommand(USAGE.retire, () => retire(rest));
  if (name === "known-hosts") return runCommand(USAGE["known-hosts"], () => knownHosts(rest));
  console.error(`agentpod: unknown host subcommand "${name}"\n\n${USAGE.host}`);
  return 2;
};

