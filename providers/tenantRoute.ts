import * as pulumi from "@pulumi/pulumi";
import { removeRouteScript, writeRouteScript } from "../fleet/hostScripts";
import { describeShell, runOnHost, type HostShell } from "./hostShell";

export interface TenantRouteArgs {
  tenant: string;
  /** The host's root shell (fleet/hostScripts.ts scripts run through it). */
  shell: pulumi.Input<HostShell>;
  /**
   * The host's Docker endpoint. Not used to write the file: it marks the route as living on the server (its disk),
   * so `agentpod host replace` forgets it with the server's containers and the new server gets it again.
   */
  dockerHost: pulumi.Input<string>;
  /** The route file's text (fleet/routes.ts renderTenantRoute). */
  content: pulumi.Input<string>;
}

interface RouteInputs {
  tenant: string;
  shell: HostShell;
  dockerHost: string;
  content: string;
}

async function write(inputs: RouteInputs): Promise<void> {
  const result = await runOnHost(inputs.shell, writeRouteScript(inputs.tenant), { input: inputs.content, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`could not write the route of ${inputs.tenant} on ${describeShell(inputs.shell)}: ${result.stderr.trim()}`);
}

/**
 * A tenant's route file on its host, read by Traefik's file provider (fleet/routes.ts). A change of domain or request
 * limit rewrites it in place: Traefik reloads it, and neither the proxy nor the gateway restarts. Delete removes it.
 */
const routeProvider: pulumi.dynamic.ResourceProvider<RouteInputs> = {
  async create(inputs) {
    await write(inputs);
    return { id: `${inputs.dockerHost}/${inputs.tenant}`, outs: inputs };
  },
  async diff(_id, olds, news) {
    // Another host (a move) is another file: write the new one, then remove the old one.
    const replaces = (["tenant", "dockerHost"] as const).filter((key) => olds[key] !== news[key]);
    return { changes: replaces.length > 0 || olds.content !== news.content || JSON.stringify(olds.shell) !== JSON.stringify(news.shell), replaces };
  },
  async update(_id, _olds, news) {
    await write(news);
    return { outs: news };
  },
  async delete(_id, olds) {
    const result = await runOnHost(olds.shell, removeRouteScript(olds.tenant), { timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`could not remove the route of ${olds.tenant} on ${describeShell(olds.shell)}: ${result.stderr.trim()}`);
  },
};

export class TenantRoute extends pulumi.dynamic.Resource {
  constructor(name: string, args: TenantRouteArgs, opts?: pulumi.CustomResourceOptions) {
    super(routeProvider, name, args, opts, "agentpod", "TenantRoute");
  }
}
