/**
 * Where tenant data lives on a host's persistent data volume, the same on Hetzner and on local servers. Pure.
 *
 * Each tenant's data is its own ext4 filesystem: a sparse image file, loop-mounted, so a tenant that fills its disk
 * gets "No space left on device" while the volume, the host and the other tenants keep their room.
 *
 *   /mnt/agentpod/disks/<tenant>.ext4     the tenant's filesystem image (sparse: it takes what is written)
 *   /mnt/agentpod/volumes/<tenant>/       its mount point; the filesystem holds one directory, data/
 *   /mnt/agentpod/tenants/<tenant>        a symlink to ../volumes/<tenant>/data: the path everything else uses
 *
 * The gateway's Docker volume binds the symlink. When the image is not mounted, the symlink dangles and Docker
 * refuses to start the container: a gateway never starts on an empty directory in place of its data.
 */
export const HOST_DATA_MOUNT = "/mnt/agentpod";
export const TENANT_DATA_ROOT = `${HOST_DATA_MOUNT}/tenants`;
export const TENANT_DISK_ROOT = `${HOST_DATA_MOUNT}/disks`;
export const TENANT_VOLUME_ROOT = `${HOST_DATA_MOUNT}/volumes`;
/**
 * The proxy's ACME account and certificates (acme.json), on the data volume so that a replaced server serves the
 * certificates its predecessor obtained instead of asking the CA again.
 */
export const PROXY_CERTIFICATES_DIR = `${HOST_DATA_MOUNT}/proxy`;

/** The directory holding the tenant's data inside its mounted filesystem. */
export const DISK_DATA_DIR = "data";

export const tenantDataDir = (tenant: string) => `${TENANT_DATA_ROOT}/${tenant}`;
export const tenantDiskImage = (tenant: string) => `${TENANT_DISK_ROOT}/${tenant}.ext4`;
export const tenantVolumeDir = (tenant: string) => `${TENANT_VOLUME_ROOT}/${tenant}`;
/** The symlink's target, relative: it resolves the same inside every container that mounts the data volume. */
export const tenantDataLinkTarget = (tenant: string) => `../volumes/${tenant}/${DISK_DATA_DIR}`;
