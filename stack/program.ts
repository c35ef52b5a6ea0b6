/**
 * The AgentPod program: settings and tenants.yaml are read and validated first (nothing is registered if either
 * has a problem), then the fleet is built from the plan model, target by target.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { deployRunnerFirewall } from "../components/deployRunnerFirewall";
import { HetznerHost } from "../components/hetznerHost";
import { HostBackup } from "../components/hostBackup";
import { HostProxy } from "../components/hostProxy";
import type { DockerHost, TenantDataOptions } from "../components/dockerHost";
import { LocalServerHost } from "../components/localServerHost";
import * as docker from "@pulumi/docker";
import { TenantDns } from "../components/tenantDns";
import { TenantGateway } from "../components/tenantGateway";
import { MODEL_PROVIDERS, MODEL_PROVIDER_NAMES, type ModelProvider } from "../fleet/catalog";
import { TENANT_KEYS_SETTING, planModelKeys, sharedKeyWarning, unusedKeyWarning, type ModelKeyPlan } from "../fleet/modelKeys";
import { TenantsFileError } from "../fleet/issues";
import { rolloutSettings, type FleetPlan, type TenantPlan } from "../fleet/plan";
import { NAMESPACE, SettingsError, type HetznerSettings, type LocalSettings, type StackSettings } from "../fleet/settings";
import type { TlsMode } from "../fleet/traefik";
import { LOCAL_ZONE, hostAddresses, localTls } from "../fleet/localServers";
import { loadFleet } from "../fleet/validate";
import { DEFAULT_FLEET, dockerNames } from "../fleet/naming";
import { BackupKey } from "../providers/backupKey";
import { homedir } from "node:os";
import { readStackSettings, secretSetting } from "./config";

export interface TenantOutput {
  url: string;
  host: string;
  plan: string;
  healthUrl: string;
}

export interface FleetOutputs {
  target: string;
  tenants: Record<string, TenantOutput>;
  /** Per host: its addresses and, where it is reached over SSH, its pinned SSH host key (public). */
  hosts: Record<string, { ipv4?: pulumi.Output<string>; ipv6?: pulumi.Output<string>; sshHostKey?: pulumi.Output<string> }>;
  /** Per-tenant gateway tokens, as one secret. */
  gatewayTokens: pulumi.Output<Record<string, string>>;
  /** Hetzner: the firewall the deploy workflow opens SSH through for its runner (its id, for the Hetzner API). */
  deployRunnerFirewall?: { id: pulumi.Output<string>; name: pulumi.Output<string> };
}

export interface ProgramOptions {
  /** Directory of Pulumi.yaml; tenants files and stack files are relative to it. Default: the working directory. */
  projectDir?: string;
  /** Operations the CLI sanctions for this one run (never stored in tenants.yaml). */
  operation?: RunPermissions;
}

/** What one run of the program may do beyond tenants.yaml, set by the CLI command that runs it. */
export interface RunPermissions {
  /** Tenants whose existing data directory this run takes over (`agentpod up --adopt`). */
  readonly adopt?: readonly string[];
  /** Tenants whose data `agentpod tenant move` has just copied, with the host it came from. */
  readonly moves?: Readonly<Record<string, string>>;
  /** Hosts whose server `agentpod host replace` is replacing (their delete protection is lifted for the run). */
  readonly releaseServers?: readonly string[];
  /** Hosts `agentpod host retire` takes out: server and data volume unprotected for the run (the volume stays retained). */
  readonly retireHosts?: readonly string[];
  /**
   * Hosts `agentpod host replace` rebuilds, with the tenants deployed there before: none of them may start without
   * its data; with `restore` (`--restore`), missing data is restored from the latest snapshot first.
   */
  readonly rebuiltHosts?: Readonly<Record<string, { readonly tenants: readonly string[]; readonly restore: boolean }>>;
  /** `agentpod preview --no-host-access`: this run reaches no host (the probes a preview makes on them are left out). */
  readonly withoutHostAccess?: boolean;
  /**
   * Tenants an image rollout (cli/rollout.ts) has not reached yet in this run, with the image each runs now: they
   * keep it although tenants.yaml names another. Everything else about them follows tenants.yaml.
   */
  readonly heldImages?: Readonly<Record<string, string>>;
}

export async function agentpodProgram(options: ProgramOptions = {}): Promise<FleetOutputs> {
  const projectDir = options.projectDir ?? process.cwd();
  const { settings, fleet, modelKeys } = loadInputs(projectDir);
  const permissions = options.operation ?? {};
  for (const warning of modelKeyWarnings(fleet, settings, modelKeys)) void pulumi.log.warn(warning);
  const keys = modelKeyInputs(fleet, modelKeys);
  return withoutPromiseStackTraces(() => (settings.target === "local" ? buildLocal(fleet, settings, permissions, keys) : buildHetzner(fleet, settings, permissions, keys)));
}

/**
 * The SDK records a stack trace for every promise it creates (leak diagnostics) and for every resource (source
 * positions). For a fleet that is most of the evaluation time (npm run bench: 1,000 tenants, about 2.4x faster
 * without). Registration does not need them; the previous limit is restored as soon as the resources are declared.
 */
function withoutPromiseStackTraces<T>(build: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Everything that can be wrong with the input, checked before the first resource is registered. */
export function loadInputs(projectDir: string): { settings: StackSettings; fleet: FleetPlan; modelKeys: ModelKeyPlan } {
  try {
    const settings = readStackSettings(projectDir);
    const file = settings.tenantsFile;
    // Bytes, not text: the validator refuses a file that is not UTF-8 rather than read it with replacements.
    const fleet = loadFleet(readFileSync(path.resolve(projectDir, file)), {
      file,
      domainSuffix: settings.target === "local" ? LOCAL_ZONE : settings.zone,
      ...(settings.target === "hetzner" ? { zone: settings.zone } : {}),
    });
    const modelKeys = planModelKeys(fleet, { tenantKeys: new Set(settings.tenantModelKeys), sharedKeys: sharedKeysSet() }, settings.stack);
    if (settings.target === "hetzner") requireModelKeys(modelKeys, settings);
    if (settings.target === "local") requireDistinctAddresses(fleet, settings);
    backupCredentials(settings);
    return { settings, fleet, modelKeys };
  } catch (error) {
    // A RunError is reported without a stack trace: the message is the whole story.
    if (error instanceof TenantsFileError || error instanceof SettingsError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** Production: every tenant has its own model key, or opted in to its provider's fleet-wide key and that is set. */
function requireModelKeys(modelKeys: ModelKeyPlan, settings: HetznerSettings): void {
  if (modelKeys.problems.length > 0) throw new SettingsError(modelKeys.problems.map((p) => ({ file: `Pulumi.${settings.stack}.yaml`, key: p.key, message: p.message })));
}

/** Providers whose fleet-wide key is set (their values stay secret Outputs). */
function sharedKeysSet(): Set<ModelProvider> {
  return new Set(MODEL_PROVIDER_NAMES.filter((p) => secretSetting(MODEL_PROVIDERS[p].configKey) !== undefined));
}

/** What preview and up warn about: tenants given the shared key, and keys of tenants tenants.yaml does not declare. */
function modelKeyWarnings(fleet: FleetPlan, settings: StackSettings, modelKeys: ModelKeyPlan): string[] {
  const shared = fleet.tenants.filter((t) => modelKeys.sources[t.name] === "shared").map((t) => sharedKeyWarning(t, { uses: true, stack: settings.stack }));
  return [...shared, ...modelKeys.unused.map((t) => unusedKeyWarning(t, settings.stack))];
}

/**
 * Each tenant's model key, as a secret Output: its own (one entry of the secret map agentpod:tenantModelKeys, so a
 * change of one tenant's key changes that tenant's container alone), the shared one it opted in to, or none.
 */
function modelKeyInputs(fleet: FleetPlan, modelKeys: ModelKeyPlan): ModelKeys {
  const own = new pulumi.Config(NAMESPACE).getSecretObject<Record<string, string>>(TENANT_KEYS_SETTING);
  const keys = new Map<string, { env: string; value: pulumi.Output<string> }>();
  for (const tenant of fleet.tenants) {
    const source = modelKeys.sources[tenant.name];
    const value = source === "own" ? own!.apply((map) => map[tenant.name]!) : source === "shared" ? secretSetting(MODEL_PROVIDERS[tenant.modelProvider].configKey) : undefined;
    if (value) keys.set(tenant.name, { env: tenant.modelKeyEnv, value });
  }
  return keys;
}

function requireDistinctAddresses(fleet: FleetPlan, settings: LocalSettings): void {
  const { collisions } = hostAddresses(fleet.hosts.map((h) => h.name), settings.hostAddresses);
  if (collisions.length > 0) {
    throw new SettingsError(
      collisions.map((c) => ({
        file: `Pulumi.${settings.stack}.yaml`,
        key: "agentpod:hostAddresses",
        message: `hosts ${c.hosts.join(" and ")} would share the address ${c.address}: give one its own, e.g. pulumi config set --path 'agentpod:hostAddresses.${c.hosts[1]}' 127.77.0.${c.hosts.length + 1}`,
      })),
    );
  }
}

/** Set-up's cache (scripts/setup/lib.sh): what the local target's servers need from this machine. */
export const LOCAL_CACHE = () => process.env.AGENTPOD_CACHE ?? path.join(homedir(), ".cache", "agentpod");
/** Where scripts/setup/s3.sh keeps the local object store's credentials (mode 600, outside the repository). */
export const LOCAL_S3_CREDENTIALS = () => path.join(LOCAL_CACHE(), "s3", "credentials");
/** The CA that signs the local ACME server's HTTPS certificate (scripts/setup/acme.sh); public, not a secret. */
export const LOCAL_ACME_SERVER_CA = () => path.join(LOCAL_CACHE(), "acme", "server-ca.pem");

/** The local ACME server's HTTPS trust root, which the servers' Traefik needs to talk to it. */
function localAcmeServerCa(settings: LocalSettings): string {
  const file = LOCAL_ACME_SERVER_CA();
  try {
    const pem = readFileSync(file, "utf8");
    if (pem.includes("BEGIN CERTIFICATE")) return pem;
  } catch {
    /* reported below */
  }
  throw new SettingsError([
    { file: `Pulumi.${settings.stack}.yaml`, key: "agentpod:target", message: `local, but the local ACME server's CA (${file}) is missing: run scripts/setup.sh (it starts the ACME server)` },
  ]);
}

/**
 * The object store's credentials, as secrets: the stack's secrets when set (required in production); on a local
 * stack otherwise the ones set-up generated for the local S3 server.
 */
function backupCredentials(settings: StackSettings): { accessKeyId: pulumi.Output<string>; secretAccessKey: pulumi.Output<string> } {
  const accessKeyId = secretSetting("backupAccessKeyId");
  const secretAccessKey = secretSetting("backupSecretAccessKey");
  if (accessKeyId && secretAccessKey) return { accessKeyId, secretAccessKey };
  if (settings.target !== "local") throw new Error("unreachable: parseSettings requires the backup keys in production");
  const file = LOCAL_S3_CREDENTIALS();
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    /* reported below */
  }
  const read = (key: string) => /^[A-Za-z0-9+/=_-]+$/.exec(text.match(new RegExp(`^${key}=(.*)$`, "m"))?.[1] ?? "")?.[0];
  const id = read("AWS_ACCESS_KEY_ID");
  const secret = read("AWS_SECRET_ACCESS_KEY");
  if (!id || !secret) {
    throw new SettingsError([
      {
        file: `Pulumi.${settings.stack}.yaml`,
        key: "agentpod:backupAccessKeyId",
        message: `is not set and the local object store's credentials (${file}) are missing: run scripts/setup.sh (it starts the local S3 server), or pulumi config set --secret agentpod:backupAccessKeyId (and backupSecretAccessKey) --stack ${settings.stack}`,
      },
    ]);
  }
  return { accessKeyId: pulumi.secret(accessKeyId ?? id), secretAccessKey: pulumi.secret(secretAccessKey ?? secret) };
}


function buildLocal(fleet: FleetPlan, settings: LocalSettings, permissions: RunPermissions, keys: ModelKeys): FleetOutputs {
  const tls = localTls(localAcmeServerCa(settings));
  // This machine's engine runs the servers; each server's own engine runs its proxy and tenants.
  const engine = new docker.Provider("local-engine", { host: settings.dockerHost });
  const { addresses } = hostAddresses(fleet.hosts.map((h) => h.name), settings.hostAddresses);
  const hosts = new Map<string, DockerHost>(
    fleet.hosts.map((h) => [
      h.name,
      new LocalServerHost(h.name, {
        fleet: settings.fleet,
        engine,
        engineEndpoint: settings.dockerHost,
        address: addresses[h.name]!,
        ports: [settings.httpPort, settings.httpsPort],
        image: settings.serverImage,
        stack: settings.stack,
        releaseVolume: permissions.retireHosts?.includes(h.name) ?? false,
      }),
    ]),
  );
  return buildTenants(fleet, settings, hosts, permissions, keys, (host) =>
    new HostProxy(`${host.hostName}-proxy`, { provider: host.provider, fleet: settings.fleet, image: settings.traefikImage, tls, ports: { http: settings.httpPort, https: settings.httpsPort } }),
  );
}

function buildHetzner(fleet: FleetPlan, settings: HetznerSettings, permissions: RunPermissions, keys: ModelKeys): FleetOutputs {
  const tls: TlsMode =
    settings.acmeChallenge === "dns-01" ? { kind: "dns-01", email: settings.acmeEmail, dns: { kind: "cloudflare" } } : { kind: "http-01", email: settings.acmeEmail };
  // Named by a digest of the key, not its position: reordering the list changes nothing.
  const sshKeys = settings.adminSshKeys.map((publicKey) => {
    const id = createHash("sha256").update(publicKey).digest("hex").slice(0, 10);
    return new hcloud.SshKey(`admin-key-${id}`, { name: `agentpod-admin-${id}`, publicKey });
  });
  const runnerFirewall = deployRunnerFirewall(DEFAULT_FLEET);
  const hosts = new Map<string, DockerHost>(
    fleet.hosts.map((h) => [
      h.name,
      new HetznerHost(h.name, {
        location: h.location,
        serverType: h.serverType,
        image: settings.serverImage,
        sshKeyIds: sshKeys.map((k) => k.id),
        adminCidrs: settings.adminCidrs,
        deployRunnerFirewallId: runnerFirewall.id.apply(Number),
        dataVolumeGb: h.dataVolumeGb,
        stack: settings.stack,
        releaseServer: (permissions.releaseServers?.includes(h.name) || permissions.retireHosts?.includes(h.name)) ?? false,
        releaseVolume: permissions.retireHosts?.includes(h.name) ?? false,
      }),
    ]),
  );
  const cloudflareDnsToken = secretSetting("cloudflareDnsToken");
  const outputs = buildTenants(
    fleet,
    settings,
    hosts,
    permissions,
    keys,
    (host) => new HostProxy(`${host.hostName}-proxy`, { provider: host.provider, image: settings.traefikImage, tls, ...(cloudflareDnsToken ? { cloudflareDnsToken } : {}) }),
    (tenant, host) =>
      new TenantDns(`${tenant.name}-dns`, { zoneId: settings.cloudflareZoneId, domain: tenant.domain, ipv4: host.ipv4!, ipv6: host.ipv6, proxied: settings.dnsProxied }),
  );
  return { ...outputs, deployRunnerFirewall: { id: runnerFirewall.id, name: runnerFirewall.name } };
}

function buildTenants(
  fleet: FleetPlan,
  settings: StackSettings,
  hosts: Map<string, DockerHost>,
  permissions: RunPermissions,
  keys: ModelKeys,
  createProxy: (host: DockerHost) => HostProxy,
  createDns?: (tenant: TenantPlan, host: DockerHost) => void,
): FleetOutputs {
  const proxies = new Map([...hosts].map(([name, host]) => [name, createProxy(host)]));
  const backups = buildBackups(settings, hosts, permissions);
  const tenants: Record<string, TenantOutput> = {};
  const tokens: Record<string, pulumi.Output<string>> = {};
  const { healthTimeoutSeconds } = rolloutSettings(fleet);
  for (const tenant of fleet.tenants) {
    const host = hosts.get(tenant.host)!;
    const gateway = new TenantGateway(tenant.name, {
      name: tenant.name,
      host: tenant.host,
      domain: tenant.domain,
      image: permissions.heldImages && Object.hasOwn(permissions.heldImages, tenant.name) ? permissions.heldImages[tenant.name]! : tenant.image,
      plan: tenant.plan,
      healthTimeoutSeconds,
      provider: host.provider,
      dockerHost: host.dockerHost,
      hostShell: host.shell,
      ...(settings.target === "local" ? { fleet: settings.fleet } : {}),
      proxy: proxies.get(tenant.host)!.tenantProxy,
      ...optional("modelKey", keys.get(tenant.name)),
      ...optional("tokenRotation", Object.hasOwn(settings.tokenRotations, tenant.name) ? settings.tokenRotations[tenant.name] : undefined),
      prepareData: (name, parent) => host.prepareTenantData(name, parent, dataOptions(tenant, settings, permissions), [backups.get(tenant.host)!.gate]),
    });
    createDns?.(tenant, host);
    tenants[tenant.name] = { url: gateway.url, host: tenant.host, plan: tenant.planName, healthUrl: `${gateway.url}/healthz` };
    tokens[tenant.name] = gateway.gatewayToken;
  }
  const hostOutputs = Object.fromEntries([...hosts].map(([name, host]) => [name, { ...optional("ipv4", host.ipv4), ...optional("ipv6", host.ipv6), ...optional("sshHostKey", host.sshHostKey) }]));
  return { target: settings.target, tenants, hosts: hostOutputs, gatewayTokens: pulumi.secret(pulumi.all(tokens)) };
}

/** One backup job per host, all writing to the fleet's repository with the fleet key. */
function buildBackups(settings: StackSettings, hosts: Map<string, DockerHost>, permissions: RunPermissions): Map<string, HostBackup> {
  const credentials = backupCredentials(settings);
  // Protected like the data volumes: `agentpod destroy` keeps it, so the fleet's backups stay readable and a new `up`
  // opens the same repository (a new key could not).
  const password = secretSetting("backupPassword") ?? new BackupKey("backup-key", { protect: true }).value;
  const fleetName = settings.target === "local" ? settings.fleet : DEFAULT_FLEET;
  // In the order of the host names, each gate after the previous one: the repository is created once (HostBackupArgs.after).
  let previous: HostBackup | undefined;
  return new Map(
    [...hosts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, host]) => {
      const backup = new HostBackup(`${name}-backup`, {
        host: name,
        ...(previous ? { after: previous.gate } : {}),
        provider: host.provider,
        dockerHost: host.dockerHost,
        ...optional("hostKey", host.sshHostKey),
        serverId: host.serverId,
        fleet: fleetName,
        stack: settings.stack,
        settings: settings.backup,
        ...credentials,
        password,
        ...(permissions.rebuiltHosts?.[name] ? { rebuilt: permissions.rebuiltHosts[name] } : {}),
      });
      previous = backup;
      return [name, backup] as const;
    }),
  );
}

function dataOptions(tenant: TenantPlan, settings: StackSettings, permissions: RunPermissions): TenantDataOptions {
  const movedFrom = permissions.moves?.[tenant.name];
  const container = dockerNames(tenant.name, settings.target === "local" ? settings.fleet : DEFAULT_FLEET).container;
  return {
    diskBytes: tenant.plan.diskBytes,
    container,
    ...(permissions.adopt?.includes(tenant.name) ? { adopt: true } : {}),
    ...(movedFrom ? { movedFrom } : {}),
    ...(permissions.withoutHostAccess ? { withoutHostAccess: true } : {}),
  };
}

type ModelKeys = ReadonlyMap<string, { env: string; value: pulumi.Output<string> }>;

const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
