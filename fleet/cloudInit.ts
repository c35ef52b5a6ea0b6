/**
 * cloud-init for a Hetzner host: Docker from the distribution, the SSH hardening an operator expects, nothing
 * tenant-specific. The server ignores later edits of this text (ignoreChanges on userData), because Hetzner would
 * replace the server for any change; hosts are rebuilt on purpose, never by an innocent edit.
 */
import { installFenceCommands } from "./hostFirewall";
import { HOST_DATA_MOUNT, TENANT_DATA_ROOT } from "./hostLayout";
import { installTenantDiskCommands } from "./tenantDisks";

export { HOST_DATA_MOUNT, PROXY_CERTIFICATES_DIR, TENANT_DATA_ROOT } from "./hostLayout";

/** The host's pinned SSH host key pair (providers/hostSshKey.ts): the private key is a secret. */
export interface HostKeyPair {
  readonly privateKeyPem: string;
  readonly publicKey: string;
}

/**
 * cloud-init of a Hetzner host. With its SSH host key pair, sshd serves that key and no other (cloud-init generates
 * none), so every client that pins it (fleet/sshHostKeys.ts) reaches this server or nothing.
 */
export function renderCloudInit(hostKey?: HostKeyPair): string {
  const keys = hostKey
    ? [
        "ssh_deletekeys: true",
        "ssh_genkeytypes: []",
        "ssh_keys:",
        "  ecdsa_private: |",
        ...hostKey.privateKeyPem.trim().split("\n").map((line) => `    ${line}`),
        `  ecdsa_public: ${hostKey.publicKey}`,
      ]
    : [];
  return [
    "#cloud-config",
    ...keys,
    "package_update: true",
    "packages: [docker.io, ca-certificates]",
    "write_files:",
    "  - path: /etc/docker/daemon.json",
    "    content: |",
    // One bridge network per tenant: Docker's default pools hold ~30; /26 subnets from a /14 hold thousands.
    '      {"default-address-pools": [{"base": "172.20.0.0/14", "size": 26}], "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}, "live-restore": true}',
    "  - path: /etc/ssh/sshd_config.d/agentpod.conf",
    "    content: |",
    "      PasswordAuthentication no",
    "      PermitRootLogin prohibit-password",
    "      MaxStartups 50:30:100",
    "runcmd:",
    "  - systemctl enable --now docker",
    "  - systemctl reload ssh || systemctl reload sshd",
    "",
  ].join("\n");
}

/** The oldest Docker engine API the hosts may run: 1.44 (Docker 25) has the health check's start interval. */
export const MIN_DOCKER_API = "1.44";

/** Fails the readiness gate on an engine older than MIN_DOCKER_API (the gateways' health checks need it), saying so. */
export function dockerApiCheckCommands(): string[] {
  return [
    `api=$(docker version --format '{{.Server.APIVersion}}')`,
    `[ "$(printf '%s\\n' ${MIN_DOCKER_API} "$api" | sort -V | head -n 1)" = ${MIN_DOCKER_API} ] || { echo "the Docker engine speaks API $api; AgentPod needs ${MIN_DOCKER_API} or later (Docker 25): upgrade docker.io on this host" >&2; exit 1; }`,
  ];
}

/**
 * The readiness gate's script, the same on every host: waits for cloud-init where there is one, makes sure the
 * persistent data volume is mounted at HOST_DATA_MOUNT (Hetzner: mounts it by its stable device id and grows its
 * filesystem to the volume's size; a local server has it attached by its engine and only checks), creates the
 * tenant data root, mounts every tenant's disk image (fleet/tenantDisks.ts), waits for Docker and installs the tenant fence (fleet/hostFirewall.ts).
 * Idempotent, so a re-run on an existing host changes nothing.
 */
export function renderReadinessScript(volumeDevice?: string, volumeSizeGb?: number): string {
  const mount = volumeDevice
    ? [
        `grep -q ' ${HOST_DATA_MOUNT} ' /proc/mounts || mount -o discard,defaults ${volumeDevice} ${HOST_DATA_MOUNT}`,
        `grep -q '${volumeDevice}' /etc/fstab || echo '${volumeDevice} ${HOST_DATA_MOUNT} ext4 discard,nofail,defaults 0 0' >> /etc/fstab`,
        // A grown hcloud volume (dataVolumeGb) is only a bigger device: grow its ext4 filesystem too, online.
        `resize2fs ${volumeDevice} >/dev/null 2>&1 || { echo 'resize2fs ${volumeDevice} failed' >&2; exit 1; }`,
      ]
    : [`grep -q ' ${HOST_DATA_MOUNT} ' /proc/mounts || { echo 'the data volume is not mounted at ${HOST_DATA_MOUNT}' >&2; exit 1; }`];
  return [
    "set -eu",
    // The size the volume was given: a growth changes the script, so the gate runs again and grows the filesystem.
    ...(volumeSizeGb !== undefined ? [`# data volume: ${volumeSizeGb} GB`] : []),
    "if command -v cloud-init >/dev/null; then cloud-init status --wait >/dev/null || true; fi",
    `mkdir -p ${HOST_DATA_MOUNT}`,
    ...mount,
    `mkdir -p ${TENANT_DATA_ROOT}`,
    // Before any gateway is created (a replaced server attaches the volume with its tenants' disk images on it).
    ...installTenantDiskCommands(),
    "ready=no; for i in $(seq 1 120); do if docker info >/dev/null 2>&1; then ready=yes; break; fi; sleep 1; done",
    "[ $ready = yes ] || { echo 'docker did not answer within 120 s' >&2; exit 1; }",
    ...dockerApiCheckCommands(),
    // After Docker, whose DOCKER-USER chain the fence hooks into.
    ...installFenceCommands(),
  ].join("\n");
}
