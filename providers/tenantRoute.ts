import * as pulumi from "@pulumi/pulumi";
import { removeRouteScript, writeRouteScript } from "../fleet/hostScripts";
import { tenantHostFileProvider, type TenantHostFileArgs } from "./tenantHostFile";

/** `content` is the route file's text (fleet/routes.ts renderTenantRoute). */
export type TenantRouteArgs = TenantHostFileArgs;

/**
 * A tenant's route file on its host, read by Traefik's file provider (fleet/routes.ts). A change of domain or request
 * limit rewrites it in place: Traefik reloads it, and neither the proxy nor the gateway restarts. Delete removes it.
 */
const routeProvider = tenantHostFileProvider({ what: "route", write: writeRouteScript, remove: removeRouteScript });

export class TenantRoute extends pulumi.dynamic.Resource {
  constructor(name: string, args: TenantRouteArgs, opts?: pulumi.CustomResourceOptions) {
    super(routeProvider, name, args, opts, "agentpod", "TenantRoute");
  }
}
