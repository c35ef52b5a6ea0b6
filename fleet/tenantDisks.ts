/**
 * Tenant disks: one ext4 image per tenant on the host's data volume, loop-mounted (layout in fleet/hostLayout.ts).
 * Pure text, the same on both targets: the readiness gate installs the boot script and runs it; production hosts run
 * it at boot before Docker (systemd), local servers before their engine starts (images/server/start.sh), so every
 * disk is mounted before dockerd restarts the gateways.
 *
 * The limit: the image is twice the disk and its filesystem reserves the blocks beyond the disk for root (tune2fs -r),
 * which the gateway (UID 1000, no capabilities) cannot use. Growing a disk within that headroom only lowers the
 * reservation, online and instantly; growing past it enlarges the image and resizes the filesystem online
 * (resize2fs), which needs CAP_SYS_RESOURCE: production hosts' root has it, this kind of machine (and so its local
 * servers) has not. Reserving blocks is ext4's own mechanism and needs nothing from the kernel but ext4 and loop.
 *
 * Why images and not project quotas: XFS project quotas (or ext4's) need quota support in the kernel, and the
 * kernel the local servers share on this kind of machine has none ("XFS: quota support not available"; ext4:
 * "kernel was not built with CONFIG_QUOTA"), so they could not be tested here; loop devices and ext4 work
 * everywhere, and a filesystem per tenant also makes the limit exact, visible with df inside the gateway.
 */
import { HOST_DATA_MOUNT, TENANT_DISK_ROOT, TENANT_VOLUME_ROOT } from "./hostLayout";

/** Where the readiness gate installs the boot script on a host. */
export const TENANT_DISKS_SCRIPT_PATH = "/usr/local/sbin/agentpod-tenant-disks";

/** ext4's block size on tenant disks: reservations and sizes are counted in it. */
export const DISK_BLOCK_BYTES = 4096;
/**
 * ext4 options. Blocks are reserved by the scripts (the disk's limit), not as a percentage. A small journal: the
 * default grows with the filesystem (up to 1 GiB). Lazy initialisation: a fresh sparse image reads as zeros, so
 * nothing needs writing, and the image takes only what is written (about 4 MiB when new).
 */
export const MKFS_OPTIONS = `-q -b ${DISK_BLOCK_BYTES} -m 0 -J size=32 -E lazy_itable_init=1,lazy_journal_init=1`;
/**
 * Mount options of a tenant disk: no devices, no setuid programs, no background zeroing of inode tables (it would
 * fill the sparse image). `loop` sets autoclear: unmounting frees the loop device.
 */
export const DISK_MOUNT_OPTIONS = "loop,nodev,nosuid,noinit_itable";

/** A disk's size in filesystem blocks (whole blocks, rounded down). */
export const diskBlocks = (bytes: number) => Math.floor(bytes / DISK_BLOCK_BYTES);
/** The image behind a disk: twice its size, the headroom within which it grows by a reservation change alone. */
export const diskImageBytes = (bytes: number) => 2 * diskBlocks(bytes) * DISK_BLOCK_BYTES;

/**
 * Shell functions the disk scripts share.
 * - loop_nodes: the loop control device and enough /dev/loopN nodes for the next attachments. A production host has
 *   them (devtmpfs); a local server (a container) has only the device cgroup rule and makes the nodes itself.
 * - mount_disk IMAGE DIR: mounts an image at DIR unless something is mounted there already.
 * - fs_field DEVICE FIELD: one field of the filesystem's superblock ("Block count", "Reserved block count"); read
 *   through the loop device while mounted, which is where tune2fs writes.
 */
export const DISK_SHELL_FUNCTIONS = [
  "loop_nodes() {",
  // Several tenants' scripts may run at once: a node another made meanwhile is not an error.
  "  [ -e /dev/loop-control ] || mknod -m 660 /dev/loop-control c 10 237 2>/dev/null || [ -e /dev/loop-control ]",
  // The number of the first free device only: util-linux 2.41 appends " (lost)" when its node is missing.
  "  n=$(losetup -f | sed -n 's,^/dev/loop\\([0-9]*\\).*,\\1,p'); i=0",
  "  while [ $i -le $((n + 32)) ]; do [ -e /dev/loop$i ] || mknod -m 660 /dev/loop$i b 7 $i 2>/dev/null || true; i=$((i + 1)); done",
  "}",
  `mount_disk() { mkdir -p "$2"; mountpoint -q "$2" || mount -o ${DISK_MOUNT_OPTIONS} "$1" "$2"; }`,
  "fs_field() { tune2fs -l \"$1\" | sed -n \"s/^$2: *//p\"; }",
].join("\n");

/**
 * The boot script: makes the data volume's mount shared (so a container that binds it with rslave, the backup job,
 * sees disks mounted after it started) and mounts every tenant disk. Exits 1 if one did not mount: that tenant's
 * gateway then fails to start (its data symlink dangles) and the others run.
 */
export function renderTenantDisksScript(): string {
  return [
    "#!/bin/sh",
    "# AgentPod: mount every tenant's disk image before Docker starts the gateways.",
    "set -u",
    DISK_SHELL_FUNCTIONS,
    `mount --make-rshared ${HOST_DATA_MOUNT} 2>/dev/null || true`,
    `[ -d ${TENANT_DISK_ROOT} ] || exit 0`,
    "loop_nodes",
    "failed=0",
    `for image in ${TENANT_DISK_ROOT}/*.ext4; do`,
    '  [ -f "$image" ] || continue',
    '  tenant=$(basename "$image" .ext4)',
    `  mount_disk "$image" ${TENANT_VOLUME_ROOT}/$tenant || { echo "cannot mount the disk of tenant $tenant ($image)" >&2; failed=1; }`,
    "done",
    "exit $failed",
    "",
  ].join("\n");
}

/**
 * Installs the boot script and runs it; on a host with systemd (production) also a unit that runs it at boot after
 * the data volume is mounted and before Docker. Part of the readiness script.
 */
export function installTenantDiskCommands(): string[] {
  const unit = [
    "[Unit]",
    "Description=AgentPod tenant disks",
    `RequiresMountsFor=${HOST_DATA_MOUNT}`,
    "Before=docker.service",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=${TENANT_DISKS_SCRIPT_PATH}`,
    "[Install]",
    "WantedBy=docker.service multi-user.target",
  ].join("\\n");
  return [
    `cat > ${TENANT_DISKS_SCRIPT_PATH}.tmp <<'AGENTPOD_DISKS'\n${renderTenantDisksScript()}AGENTPOD_DISKS`,
    `chmod 755 ${TENANT_DISKS_SCRIPT_PATH}.tmp && mv -f ${TENANT_DISKS_SCRIPT_PATH}.tmp ${TENANT_DISKS_SCRIPT_PATH}`,
    TENANT_DISKS_SCRIPT_PATH,
    "if [ -d /run/systemd/system ]; then",
    `  printf '${unit}\\n' > /etc/systemd/system/agentpod-tenant-disks.service`,
    "  systemctl daemon-reload && systemctl enable agentpod-tenant-disks.service >/dev/null 2>&1",
    "fi",
  ];
}
