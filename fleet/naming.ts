/**
 * The names and labels of every Docker object AgentPod creates, in one place: the components name their objects
 * with these functions, and the policy pack (policy/policies.ts, policy/engineView.ts) recognises them with the
 * predicates below, so the two cannot drift apart (test/unit/naming.test.ts checks one against the other).
 *
 * No imports, Pulumi or otherwise: the policy pack loads this file with its own dependencies only.
 */

/** Default prefix of Docker object names; another prefix lets a second fleet share a Docker engine. */
export const DEFAULT_FLEET = "agentpod";
/** What a fleet prefix may be (stack setting agentpod:fleet): it cannot contain "-", so the first "-" ends it. */
export const FLEET_PATTERN = /^[a-z][a-z0-9]{0,15}$/;
/** A tenant or host name: a DNS label (tenants.schema.json caps it at 40 characters). */
const NAME = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";

/** Label naming the tenant a network, container or data volume belongs to. */
export const TENANT_LABEL = "agentpod.tenant";
/** Label naming the host a tenant's network and container (and a local server's objects) belong to. */
export const HOST_LABEL = "agentpod.host";
/** Label that ties containers to their fleet; each fleet's Traefik routes only its own. */
export const FLEET_LABEL = "agentpod.fleet";
/** Label giving the part an object plays that is not a tenant's: "proxy", "edge", "server", "server-disk", "host-data", "backup". */
export const ROLE_LABEL = "agentpod.role";
/**
 * Label carrying a keyed digest of a gateway's config file (fleet/gateway.ts gatewayConfigDigest): the config is a
 * host file, not a container input, so this label is what makes a config change replace the container.
 */
export const CONFIG_DIGEST_LABEL = "agentpod.config-digest";

/**
 * Docker's names for a tenant's objects, derived from its immutable name and nothing else. The hostname is fixed
 * too: the gateway holds a lease tied to its hostname, and a replacement container with another hostname would
 * wait up to 5 minutes for the old lease to expire.
 */
export const dockerNames = (tenant: string, fleet: string) => ({
  container: `${fleet}-${tenant}`,
  hostname: `${fleet}-${tenant}`,
  network: `${fleet}-${tenant}`,
  volume: `${fleet}-${tenant}-data`,
});

export const traefikContainerName = (fleet: string) => `${fleet}-traefik`;
/** A host's backup job. "--" because no tenant name starts with "-": `<fleet>-backup` would be a tenant "backup". */
export const backupContainerName = (fleet: string) => `${fleet}--backup`;
/** Sorts before any <fleet>-<tenant> network name ("-" < digits and letters); see HostProxy. */
export const edgeNetworkName = (fleet: string) => `${fleet}--edge`;
/**
 * The Hetzner firewall through which a deploy run opens SSH to the fleet's servers for its own length (the deploy
 * workflow sets and clears its rules through the Hetzner API; the program applies it to every server and leaves its
 * rules alone). "--" because no host name starts with "-": a host's own firewall is `<fleet>-<host>`.
 */
export const deployRunnerFirewallName = (fleet: string) => `${fleet}--deploy-runner`;

/** A local server's objects on this machine's engine (the local target's hosts; see fleet/localServers.ts). */
export const localServerObjectNames = (fleet: string, host: string) => ({
  container: `${fleet}-host-${host}`,
  disk: `${fleet}-host-${host}-disk`,
  data: `${fleet}-host-${host}-data`,
});

const TENANT_DATA_VOLUME = new RegExp(`^([a-z][a-z0-9]{0,15})-(${NAME})-data$`);

/**
 * The fleet and tenant of a name of the form dockerNames(tenant, fleet).volume, for any valid fleet prefix.
 * By name alone a local server's data volume `<fleet>-host-<h>-data` cannot be told from the data volume of a
 * tenant called `host-<h>` (a valid tenant name), so it is read as one: for a data-keeping policy, taking too much
 * for a tenant's data is the safe mistake. isTenantDataVolume decides by label first, which tells them apart.
 */
export function parseTenantDataVolumeName(name: string): { fleet: string; tenant: string } | undefined {
  const match = TENANT_DATA_VOLUME.exec(name);
  return match ? { fleet: match[1]!, tenant: match[2]! } : undefined;
}

export const isTenantDataVolumeName = (name: string) => parseTenantDataVolumeName(name) !== undefined;

type LabelList = ReadonlyArray<{ label?: unknown; value?: unknown } | null | undefined>;

/**
 * A tenant's data volume, from a Docker volume's inputs (`name` and `labels` as the Docker provider takes them):
 * labelled with its tenant; or, when it carries no AgentPod label at all (a volume created before the labels
 * were, which `ignoreChanges: ["labels"]` keeps unlabelled), named like one. A volume with a role label is one of
 * AgentPod's other volumes (a local server's disk or data volume), never a tenant's.
 */
export function isTenantDataVolume(volume: { name?: unknown; labels?: unknown }): boolean {
  const labels: LabelList = Array.isArray(volume.labels) ? volume.labels : [];
  if (labels.some((l) => l?.label === TENANT_LABEL)) return true;
  if (labels.some((l) => l?.label === ROLE_LABEL)) return false;
  return typeof volume.name === "string" && isTenantDataVolumeName(volume.name);
}
