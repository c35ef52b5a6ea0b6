/**
 * The tenant commands that hand a customer their Control UI, through the tenant's own gateway (never a shell on the
 * host for anyone):
 * - `agentpod tenant dashboard <name> --stack S [--json]`: a one-time link on the tenant's public origin;
 * - `agentpod tenant devices <name> [list | approve <id> | revoke <id>] --stack S [--json]`: the browsers and apps
 *   paired with the gateway.
 * Both run OpenClaw's own commands in the tenant's container through its host's Docker endpoint (SSH in
 * production, the local server's engine locally).
 */
import { dockerNames } from "../fleet/naming";
import { DashboardLinkError, deviceRows, publicDashboardLink, type GatewayDashboardOutput } from "../fleet/dashboard";
import { dockerAt, engineAnswers, hostEndpoint, openStackContext, type StackContext } from "./stackContext";
import { CommandError, UsageError, formatTable } from "./shared";

export const DASHBOARD_USAGE = `agentpod tenant dashboard <name> [--stack local] [--project DIR] [--json]

Prints a one-time link to the tenant's Control UI on its public origin, made by the tenant's own gateway: the link
pairs the browser that opens it first as the owner, and lapses after about ten minutes (the expiry is printed). It
carries no long-lived secret. Hand it to the customer over a channel you trust; when it lapses, make another. A
browser opened with the gateway token alone is paired with \`agentpod tenant devices <name> approve <id>\`.
  --json    {"tenant", "url", "expiresAt"} for scripts`;

export const DEVICES_USAGE = `agentpod tenant devices <name> [list | approve <id> | revoke <id>] [--stack local] [--project DIR] [--json]

The browsers and apps paired with a tenant's gateway, through OpenClaw's own device commands.
  list            pending requests (approve them by their request id) and paired devices (default)
  approve <id>    approve a pending pairing request: that browser gets in
  revoke <id>     remove a paired device: it has to pair again to get in`;

/** The tenant's container on its host, after checking that the tenant is deployed and its host answers. */
async function tenantGateway(name: string, stackName: string, project: string | undefined): Promise<{ context: StackContext; endpoint: string; container: string; url: string }> {
  const context = await openStackContext(stackName, project);
  const tenant = context.tenants[name];
  if (!tenant) {
    const known = Object.keys(context.tenants).sort();
    throw new CommandError(`tenant ${name} is not deployed in stack ${stackName} (its tenants: ${known.join(", ") || "none"})`);
  }
  const endpoint = hostEndpoint(context.settings, tenant.host, context.hosts);
  const alive = endpoint ? await engineAnswers(endpoint) : { ok: false, detail: "no address" };
  if (!endpoint || !alive.ok) throw new CommandError(`tenant ${name} is down: its host ${tenant.host} does not answer (${alive.detail}); see \`agentpod status --stack ${stackName}\``);
  return { context, endpoint, container: dockerNames(name, context.fleet).container, url: tenant.url };
}

async function requireHealthy(name: string, endpoint: string, container: string, stackName: string): Promise<void> {
  const state = await dockerAt(endpoint, ["inspect", container, "--format", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}"]);
  const [status, health] = state.stdout.trim().split(" ");
  if (state.code !== 0) throw new CommandError(`tenant ${name} has no gateway container on its host: run \`agentpod up --stack ${stackName}\``);
  if (status !== "running" || health !== "healthy") {
    throw new CommandError(`tenant ${name}'s gateway is ${status}${health ? `, ${health}` : ""}, not yet healthy: try again once \`agentpod status --stack ${stackName}\` shows it healthy`);
  }
}

/** Runs an `openclaw` command in the tenant's gateway container; its token comes from the container's environment. */
async function openclaw(endpoint: string, container: string, args: string[]): Promise<string> {
  const result = await dockerAt(endpoint, ["exec", container, "node", "dist/index.js", ...args], 60_000);
  if (result.code !== 0) throw new CommandError(`openclaw ${args.join(" ")} failed in ${container}: ${(result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" ")}`);
  return result.stdout;
}

/** The last JSON object of an OpenClaw command's output (banners and warnings may come first). */
function lastJson<T>(text: string, what: string): T {
  const start = text.indexOf("{");
  if (start < 0) throw new CommandError(`${what}: no JSON in the gateway's answer`);
  try {
    return JSON.parse(text.slice(start)) as T;
  } catch {
    throw new CommandError(`${what}: the gateway's answer is not JSON`);
  }
}

export async function dashboardLink(name: string, stackName: string, project: string | undefined, json: boolean): Promise<number> {
  const { endpoint, container, url } = await tenantGateway(name, stackName, project);
  await requireHealthy(name, endpoint, container, stackName);
  const output = lastJson<GatewayDashboardOutput>(await openclaw(endpoint, container, ["dashboard", "--no-open", "--json"]), "openclaw dashboard");
  let link;
  try {
    link = publicDashboardLink(output, url);
  } catch (error) {
    if (error instanceof DashboardLinkError) throw new CommandError(`tenant ${name}: ${error.message}`);
    throw error;
  }
  if (json) console.log(JSON.stringify({ tenant: name, url: link.url, expiresAt: link.expiresAt.toISOString() }));
  else {
    const minutes = Math.max(0, Math.round((link.expiresAt.getTime() - Date.now()) / 60_000));
    console.log(`${link.url}\n\nOne-time link to ${name}'s Control UI: the first browser to open it is paired as the owner. It lapses at ${link.expiresAt.toISOString()} (in about ${minutes} min); run this again for a new one.`);
  }
  return 0;
}

export async function manageDevices(name: string, action: string[], stackName: string, project: string | undefined, json: boolean): Promise<number> {
  const [verb = "list", id, ...extra] = action;
  if (extra.length > 0 || (verb === "list" && id !== undefined)) throw new UsageError(`unexpected argument "${extra[0] ?? id}"`);
  if ((verb === "approve" || verb === "revoke") && !id) throw new UsageError(`devices ${verb} needs the id (from \`agentpod tenant devices ${name} list\`)`);
  if (!["list", "approve", "revoke"].includes(verb)) throw new UsageError(`unknown devices action "${verb}": list, approve <id> or revoke <id>`);
  const { endpoint, container } = await tenantGateway(name, stackName, project);
  await requireHealthy(name, endpoint, container, stackName);
  if (verb === "approve") {
    await openclaw(endpoint, container, ["devices", "approve", id!, "--json"]);
    console.log(`approved pairing request ${id} on ${name}'s gateway`);
    return 0;
  }
  if (verb === "revoke") {
    await openclaw(endpoint, container, ["devices", "remove", id!, "--json"]);
    console.log(`removed device ${id} from ${name}'s gateway: it must pair again to get in`);
    return 0;
  }
  const listing = lastJson<{ pending?: []; paired?: [] }>(await openclaw(endpoint, container, ["devices", "list", "--json"]), "openclaw devices list");
  const rows = deviceRows(listing);
  if (json) console.log(JSON.stringify({ tenant: name, devices: rows }, null, 2));
  else if (rows.length === 0) console.log(`no devices paired with ${name}'s gateway, none waiting: \`agentpod tenant dashboard ${name} --stack ${stackName}\` makes a link`);
  else console.log(formatTable(["STATE", "ID", "NAME", "ROLE", "SINCE"], rows.map((r) => [r.state, r.id, r.name, r.role, r.since])));
  return 0;
}

/** The number of devices paired with a running gateway, or undefined when the gateway does not say. */
export async function pairedDevices(endpoint: string, container: string): Promise<number | undefined> {
  const result = await dockerAt(endpoint, ["exec", container, "node", "dist/index.js", "devices", "list", "--json"], 60_000);
  if (result.code !== 0) return undefined;
  try {
    return deviceRows(lastJson<{ pending?: []; paired?: [] }>(result.stdout, "openclaw devices list")).filter((d) => d.state === "paired").length;
  } catch {
    return undefined;
  }
}
