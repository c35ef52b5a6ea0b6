/**
 * What AgentPod runs on a host's shell, as plain text: the same scripts on a Hetzner server (over SSH) and on a
 * local server (docker exec), so a test of the local target runs the production scripts. Tenant names are DNS
 * labels (validated), so they need no quoting; paths derive from the tenant name only.
 */
import { DISK_DATA_DIR, TENANT_DATA_ROOT, TENANT_DISK_ROOT, TENANT_VOLUME_ROOT, tenantDataDir, tenantDataLinkTarget, tenantDiskImage, tenantVolumeDir } from "./hostLayout";
import { DISK_BLOCK_BYTES, DISK_SHELL_FUNCTIONS, MKFS_OPTIONS, diskBlocks, diskImageBytes } from "./tenantDisks";
import { GATEWAY_CONFIG_FILE } from "./gateway";

export { tenantDataDir } from "./hostLayout";

/** Exit status of ensureTenantDataScript when data exists that this stack does not own. */
export const FOREIGN_DATA_EXIT = 17;
/** Exit status of ensureTenantDataScript when the plan's disk is smaller than the tenant's disk. */
export const DISK_SHRINK_EXIT = 18;
/** Exit status of ensureTenantDataScript when a plain data directory does not fit the new disk. */
export const DISK_TOO_SMALL_EXIT = 19;

/** What a tenant's disk needs: its size and the gateway container a conversion stops and starts again. */
export interface TenantDiskSpec {
  readonly bytes: number;
  readonly container: string;
}

/**
 * A digest of a directory's tree (paths, types, sizes of files, owners, modes) and of its files' contents, to prove a
 * copy equal to its source. Directory sizes are left out: they depend on the filesystem's history, not on the data.
 */
const DIGEST_FUNCTION =
  "digest() { (cd \"$1\"/ && { find . -type f -printf '%P f %s %U %m\\n' -o -printf '%P %y %U %m\\n'; } | sort | sha256sum | cut -c1-64 && find . -type f -print0 | sort -z | xargs -0 -r cat | sha256sum | cut -c1-64); }";

/** Something of the tenant's exists on the host: its data (directory or symlink, even dangling) or its disk image. */
const dataExists = (tenant: string) => `{ [ -e ${tenantDataDir(tenant)} ] || [ -L ${tenantDataDir(tenant)} ] || [ -e ${tenantDiskImage(tenant)} ]; }`;

/**
 * Makes a tenant's data directory its own filesystem with room for `disk.bytes` (fleet/tenantDisks.ts), owned by
 * the gateway's UID 1000, and mounted. Idempotent; what it does depends on what is there:
 * - nothing: creates the sparse image (twice the disk: the headroom growth uses), its ext4 filesystem with the
 *   blocks beyond the disk reserved for root, mounts it, creates data/ and the symlink;
 * - a disk smaller than asked: grows it in place, the gateway running: fewer reserved blocks (tune2fs) while it fits
 *   the image, beyond that a larger image first (truncate, `losetup -c`, online resize2fs);
 * - a disk larger than asked: refuses with DISK_SHRINK_EXIT (nothing changes);
 * - a plain directory (data from before disks, a move's copy): stops the gateway if it runs, copies the data into
 *   the new disk keeping owners and modes, proves the copy equal, swaps the symlink in, deletes the old directory
 *   and starts the gateway again; data that does not fit (DISK_TOO_SMALL_EXIT) or a copy that differs leaves the
 *   directory as it was.
 * When the data exists and the caller does not own it (a removed tenant's retained data, or a copy left by a move),
 * it refuses with FOREIGN_DATA_EXIT instead of handing that data to a new gateway.
 */
export function ensureTenantDataScript(tenant: string, existing: "refuse" | "adopt", disk: TenantDiskSpec): string {
  const link = tenantDataDir(tenant);
  const image = tenantDiskImage(tenant);
  const volume = tenantVolumeDir(tenant);
  const data = `${volume}/${DISK_DATA_DIR}`;
  const guard = existing === "refuse" ? [`if ${dataExists(tenant)}; then echo "${link} exists ($(du -shD ${link} 2>/dev/null | cut -f1 || echo 'disk not mounted'))" >&2; exit ${FOREIGN_DATA_EXIT}; fi`] : [];
  const blocks = diskBlocks(disk.bytes);
  return [
    "set -eu",
    DISK_SHELL_FUNCTIONS,
    DIGEST_FUNCTION,
    ...guard,
    `mkdir -p ${TENANT_DATA_ROOT} ${TENANT_DISK_ROOT} ${TENANT_VOLUME_ROOT}`,
    "loop_nodes",
    `if [ ! -e ${image} ]; then`,
    `  rm -f ${image}.new; truncate -s ${diskImageBytes(disk.bytes)} ${image}.new; mkfs.ext4 ${MKFS_OPTIONS} ${image}.new`,
    `  tune2fs -r $(( $(fs_field ${image}.new 'Block count') - ${blocks} )) ${image}.new >/dev/null; mv ${image}.new ${image}`,
    "fi",
    `mount_disk ${image} ${volume}`,
    `device=$(findmnt -n -o SOURCE ${volume})`,
    `total=$(fs_field "$device" 'Block count'); have=$(( total - $(fs_field "$device" 'Reserved block count') ))`,
    `if [ ${blocks} -lt "$have" ]; then echo "the disk of ${tenant} holds $(( have * ${DISK_BLOCK_BYTES} )) bytes and its plan asks for ${blocks * DISK_BLOCK_BYTES}: a disk never shrinks" >&2; exit ${DISK_SHRINK_EXIT}; fi`,
    `if [ ${blocks} -gt "$total" ]; then`,
    "  # Beyond the image's headroom (ext4 reserves at most half of a filesystem): a larger image, resized online.",
    `  truncate -s ${diskImageBytes(disk.bytes)} ${image}; losetup -c "$device"`,
    `  resize2fs "$device" >/dev/null 2>&1 || { echo "growing the disk of ${tenant} past twice its size needs an online resize2fs of $device, which failed (it needs CAP_SYS_RESOURCE)" >&2; exit 1; }`,
    `  total=$(fs_field "$device" 'Block count')`,
    "fi",
    `if [ ${blocks} -gt "$have" ]; then tune2fs -r $(( total - ${blocks} )) "$device" >/dev/null; fi`,
    `if [ -d ${link} ] && [ ! -L ${link} ]; then`,
    `  running=$(docker inspect -f '{{.State.Running}}' ${disk.container} 2>/dev/null || echo absent)`,
    `  restart() { if [ "$running" = true ]; then docker start ${disk.container} >/dev/null; fi; }`,
    `  need=$(du -s -B1 ${link} | cut -f1); room=$(df -B1 --output=avail ${volume} | tail -n 1)`,
    `  if [ "$need" -gt "$room" ]; then echo "the data of ${tenant} ($need bytes) does not fit its disk ($room bytes free)" >&2; exit ${DISK_TOO_SMALL_EXIT}; fi`,
    `  if [ "$running" = true ]; then docker stop -t 10 ${disk.container} >/dev/null; fi`,
    `  rm -rf ${data}.new; mkdir ${data}.new; chown --reference=${link} ${data}.new; chmod --reference=${link} ${data}.new`,
    `  if ! cp -a ${link}/. ${data}.new/; then rm -rf ${data}.new; restart; echo "copying the data of ${tenant} into its disk failed: nothing was changed" >&2; exit 1; fi`,
    `  if [ "$(digest ${link})" != "$(digest ${data}.new)" ]; then rm -rf ${data}.new; restart; echo "the copy of ${link} into its disk differs from it: nothing was changed" >&2; exit 1; fi`,
    `  rm -rf ${data}; mv ${data}.new ${data}`,
    `  mv ${link} ${TENANT_DATA_ROOT}/.converted-${tenant}; ln -s ${tenantDataLinkTarget(tenant)} ${link}; rm -rf ${TENANT_DATA_ROOT}/.converted-${tenant}`,
    "  restart",
    "fi",
    `if [ ! -d ${data} ]; then mkdir ${data}.new; chown 1000:1000 ${data}.new; chmod 700 ${data}.new; mv ${data}.new ${data}; fi`,
    // The link is the gateway's too: the data path looks the same as a directory of its own (owner, `stat`).
    `[ -L ${link} ] || ln -s ${tenantDataLinkTarget(tenant)} ${link}`,
    `chown -h 1000:1000 ${link}`,
  ].join("\n");
}

/** Prints the size in bytes of a tenant's data, or nothing when there is none (0 when its disk is not mounted). */
export const probeTenantDataScript = (tenant: string) =>
  `d=${tenantDataDir(tenant)}; if [ -d $d ]; then du -sbD $d | cut -f1; elif ${dataExists(tenant)}; then echo 0; fi`;

/** One line per tenant's data on the host: "<bytes>\t<name>" (0 for a disk that is not mounted). */
export const listTenantDataScript = () =>
  `set -eu; mkdir -p ${TENANT_DATA_ROOT}; cd ${TENANT_DATA_ROOT}; for d in *; do if [ -d "$d" ]; then printf '%s\\t%s\\n' "$(du -sbD "$d" | cut -f1)" "$d"; elif [ -L "$d" ]; then printf '0\\t%s\\n' "$d"; fi; done; true`;

/** Deletes a tenant's data: unmounts its disk, deletes the image, its mount point and the data path. */
export const purgeTenantDataScript = (tenant: string) =>
  `set -eu; v=${tenantVolumeDir(tenant)}; if mountpoint -q $v 2>/dev/null; then umount $v; fi; rm -rf ${tenantDataDir(tenant)} ${tenantDiskImage(tenant)} $v`;

/**
 * Writes a tenant's data as a tar stream on stdout, its members under <tenant>/ (numeric owners, so UID 1000 stays
 * 1000). Reads through the data path, so a disk and a plain directory give the same stream.
 */
export const exportTenantDataScript = (tenant: string) =>
  `set -eu; cd ${tenantDataDir(tenant)}/; tar --numeric-owner --transform 's,^\\.,${tenant},S' -cf - .`;

/**
 * Reads such a stream into the tenant data root as a plain directory, refusing when the tenant has data there. The
 * tenant-data resource then converts it into the tenant's disk (ensureTenantDataScript), at the size of its plan.
 */
export const importTenantDataScript = (tenant: string) =>
  `set -eu; mkdir -p ${TENANT_DATA_ROOT}; if ${dataExists(tenant)}; then echo "${tenantDataDir(tenant)} exists" >&2; exit ${FOREIGN_DATA_EXIT}; fi; tar -C ${TENANT_DATA_ROOT} --numeric-owner -xpf -`;

/** A digest of a tenant's data (see DIGEST_FUNCTION), the same for a disk and a plain directory holding equal data. */
export const digestTenantDataScript = (tenant: string) => `set -eu; ${DIGEST_FUNCTION}; digest ${tenantDataDir(tenant)}`;

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
