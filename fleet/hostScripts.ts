/**
 * What AgentPod runs on a host's shell, as plain text: the same scripts on a Hetzner server (over SSH) and on a
 * local server (docker exec), so a test of the local target runs the production scripts. Tenant names are DNS
 * labels (validated), so they need no quoting; paths derive from the tenant name only.
 */
import { TENANT_DATA_ROOT } from "./cloudInit";
import { GATEWAY_CONFIG_FILE } from "./gateway";

export const tenantDataDir = (tenant: string) => `${TENANT_DATA_ROOT}/${tenant}`;

/** Exit status of ensureTenantDataScript when data exists that this stack does not own. */
export const FOREIGN_DATA_EXIT = 17;

/**
 * Creates a tenant's data directory, owned by the gateway's UID 1000. When the directory already exists and the
 * caller does not own it (a removed tenant's retained data, or a copy left by a move), it refuses with
 * FOREIGN_DATA_EXIT instead of handing that data to a new gateway.
 */
export function ensureTenantDataScript(tenant: string, existing: "refuse" | "adopt"): string {
  const dir = tenantDataDir(tenant);
  const guard = existing === "refuse" ? `if [ -e ${dir} ]; then echo "${dir} exists ($(du -sh ${dir} | cut -f1))" >&2; exit ${FOREIGN_DATA_EXIT}; fi; ` : "";
  return `set -eu; ${guard}mkdir -p ${dir}; chown 1000:1000 ${dir}; chmod 700 ${dir}`;
}

/** Prints the size in bytes of a tenant's data directory, or nothing when there is none. */
export const probeTenantDataScript = (tenant: string) => `d=${tenantDataDir(tenant)}; if [ -e $d ]; then du -sb $d | cut -f1; fi`;

/** One line per tenant data directory on the host: "<bytes>\t<name>". */
export const listTenantDataScript = () => `set -eu; mkdir -p ${TENANT_DATA_ROOT}; cd ${TENANT_DATA_ROOT}; for d in *; do [ -d "$d" ] && printf '%s\\t%s\\n' "$(du -sb "$d" | cut -f1)" "$d"; done; true`;

/** Deletes a tenant's data directory. */
export const purgeTenantDataScript = (tenant: string) => `set -eu; rm -rf ${tenantDataDir(tenant)}`;

/** Writes a tenant's data directory as a tar stream on stdout (numeric owners, so UID 1000 stays 1000). */
export const exportTenantDataScript = (tenant: string) => `set -eu; tar -C ${TENANT_DATA_ROOT} --numeric-owner -cf - ${tenant}`;

/** Reads such a stream into the tenant data root, refusing to overwrite an existing directory. */
export const importTenantDataScript = (tenant: string) =>
  `set -eu; mkdir -p ${TENANT_DATA_ROOT}; if [ -e ${tenantDataDir(tenant)} ]; then echo "${tenantDataDir(tenant)} exists" >&2; exit ${FOREIGN_DATA_EXIT}; fi; tar -C ${TENANT_DATA_ROOT} --numeric-owner -xpf -`;

/**
 * A digest of a tenant's data (paths, types, sizes of files, owners, modes and contents), to prove a copy equal to
 * its source. Directory sizes are left out: they depend on the filesystem's history, not on the data.
 */
export const digestTenantDataScript = (tenant: string) =>
  `set -eu; cd ${TENANT_DATA_ROOT}; { find ${tenant} -type f -printf '%P f %s %U %m\\n' -o -printf '%P %y %U %m\\n'; } | sort | sha256sum | cut -c1-64; find ${tenant} -type f -print0 | sort -z | xargs -0 -r cat | sha256sum | cut -c1-64`;

/**
 * Where the proxy's route files live on the host (fleet/routes.ts renders them): the server's own disk, so they go
 * with a lost server and are written again with its tenants.
 */
export const HOST_ROUTES_DIR = "/etc/agentpod/traefik/routes";
/** The file name of a tenant's route (tenant names are DNS labels: safe as file names). */
export const routeFileName = (tenant: string) => `${tenant}.yml`;

/** Writes a tenant's route file (its text on stdin) atomically: Traefik never reads half a file. */
export const writeRouteScript = (tenant: string) =>
  `set -eu; mkdir -p ${HOST_ROUTES_DIR}; cd ${HOST_ROUTES_DIR}; cat > .${tenant}.tmp; chmod 644 .${tenant}.tmp; mv -f .${tenant}.tmp ${routeFileName(tenant)}`;

/** Removes a tenant's route file: Traefik stops routing its domain. */
export const removeRouteScript = (tenant: string) => `set -eu; rm -f ${HOST_ROUTES_DIR}/${routeFileName(tenant)}`;

/**
 * Where each tenant's gateway config lives on the host (fleet/gateway.ts renders it): one directory per tenant on
 * the server's own disk, mounted read-only as the gateway's config folder (the gateway's root is read-only, so the
 * Docker provider cannot upload into it). Like the routes, it goes with a lost server and is written again.
 */
export const HOST_GATEWAY_CONFIG_ROOT = "/etc/agentpod/gateways";
export const gatewayConfigDir = (tenant: string) => `${HOST_GATEWAY_CONFIG_ROOT}/${tenant}`;

/**
 * Writes a tenant's gateway config (its text on stdin) atomically, readable by the gateway's UID 1000 alone (0600 in
 * a 0700 directory): it may carry secrets. Nothing is echoed, so an error never prints the content.
 */
export function writeGatewayConfigScript(tenant: string): string {
  const dir = gatewayConfigDir(tenant);
  const tmp = `${dir}/.${GATEWAY_CONFIG_FILE}.tmp`;
  return `set -eu; umask 077; mkdir -p ${dir}; chown 1000:1000 ${dir}; chmod 700 ${dir}; cat > ${tmp}; chown 1000:1000 ${tmp}; chmod 600 ${tmp}; mv -f ${tmp} ${dir}/${GATEWAY_CONFIG_FILE}`;
}

/** Removes a tenant's gateway config directory (after its container is gone). */
export const removeGatewayConfigScript = (tenant: string) => `set -eu; rm -rf ${gatewayConfigDir(tenant)}`;
