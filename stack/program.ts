/**
 * The AgentPod program: settings and tenants.yaml are read and validated first (nothing is registered if either
 * has a problem), then the fleet is built from the plan model, target by target.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { unknown } from "@pulumi/pulumi/output";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { deployRunnerFirewall } from "../components/deployRunnerFirewall";
import { HetznerHost } from "../components/hetznerHost";
import { HostBackup } from "../components/hostBackup";
import { HostProxy, tenantProxyOf } from "../components/hostProxy";
import { HostReference, type DockerHost, type HostOutputs, type TenantDataOptions } from "../components/dockerHost";
import { LocalServerHost } from "../components/localServerHost";
import * as docker from "@pulumi/docker";
import { TenantDns } from "../components/tenantDns";
import { TenantGateway, type TenantProxy } from "../components/tenantGateway";
import { MODEL_PROVIDERS, MODEL_PROVIDER_NAMES, type ModelProvider } from "../fleet/catalog";
import { TENANT_KEYS_SETTING, planModelKeys, sharedKeyWarning, unusedKeyWarning, type ModelKeyPlan } from "../fleet/modelKeys";
import { TenantsFileError } from "../fleet/issues";
import { rolloutSettings, type FleetPlan, type HostPlan, type TenantPlan } from "../fleet/plan";
import { effectiveTenant, type HostOutputField } from "./parts";
import { SettingsError, type HetznerSettings, type LocalSettings, type StackSettings } from "../fleet/settings";
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
  const keys = modelKeyInputs(fleet, modelKeys, CONFIG_SECRETS);
  return withoutPromiseStackTraces(() => buildWholeFleet(fleet, settings, CONFIG_SECRETS, permissions, keys));
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
    return validateInputs(projectDir, readStackSettings(projectDir), CONFIG_SECRETS);
  } catch (error) {
    // A RunError is reported without a stack trace: the message is the whole story.
    if (error instanceof TenantsFileError || error instanceof SettingsError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/**
 * tenants.yaml read against the stack's settings, with every check that needs both. Throws TenantsFileError or
 * SettingsError listing every problem; the CLI runs it before any stack of a split fleet (cli/fleetStacks.ts).
 */
export function validateInputs(projectDir: string, settings: StackSettings, secrets: SecretSettings): { settings: StackSettings; fleet: FleetPlan; modelKeys: ModelKeyPlan } {
  const file = settings.tenantsFile;
  // Bytes, not text: the validator refuses a file that is not UTF-8 rather than read it with replacements.
  const fleet = loadFleet(readFileSync(path.resolve(projectDir, file)), {
    file,
    domainSuffix: settings.target === "local" ? LOCAL_ZONE : settings.zone,
    ...(settings.target === "hetzner" ? { zone: settings.zone } : {}),
  });
  const modelKeys = planModelKeys(fleet, { tenantKeys: new Set(settings.tenantModelKeys), sharedKeys: sharedKeysSet(secrets) }, settings.stack);
  if (settings.target === "hetzner") requireModelKeys(modelKeys, settings);
  if (settings.target === "local") requireDistinctAddresses(fleet, settings);
  backupCredentials(settings, secrets);
  return { settings, fleet, modelKeys };
}

/** Production: every tenant has its own model key, or opted in to its provider's fleet-wide key and that is set. */
function requireModelKeys(modelKeys: ModelKeyPlan, settings: HetznerSettings): void {
  if (modelKeys.problems.length > 0) throw new SettingsError(modelKeys.problems.map((p) => ({ file: `Pulumi.${settings.stack}.yaml`, key: p.key, message: p.message })));
}

/** Providers whose fleet-wide key is set (their values stay secret Outputs). */
export function sharedKeysSet(secrets: SecretSettings): Set<ModelProvider> {
  return new Set(MODEL_PROVIDER_NAMES.filter((p) => secrets.get(MODEL_PROVIDERS[p].configKey) !== undefined));
}

/** What preview and up warn about: tenants given the shared key, and keys of tenants tenants.yaml does not declare. */
export function modelKeyWarnings(fleet: FleetPlan, settings: StackSettings, modelKeys: ModelKeyPlan): string[] {
  const shared = fleet.tenants.filter((t) => modelKeys.sources[t.name] === "shared").map((t) => sharedKeyWarning(t, { uses: true, stack: settings.stack }));
  return [...shared, ...modelKeys.unused.map((t) => unusedKeyWarning(t, settings.stack))];
}

/**
 * Each tenant's model key, as a secret Output: its own (one entry of the secret map agentpod:tenantModelKeys, so a
 * change of one tenant's key changes that tenant's container alone), the shared one it opted in to, or none.
 */
function modelKeyInputs(fleet: Pick<FleetPlan, "tenants">, modelKeys: Pick<ModelKeyPlan, "sources">, secrets: SecretSettings): ModelKeys {
  const own = secrets.get(TENANT_KEYS_SETTING)?.apply((text) => JSON.parse(text) as Record<string, string>);
  const keys = new Map<string, { env: string; value: pulumi.Output<string> }>();
  for (const tenant of fleet.tenants) {
    const source = modelKeys.sources[tenant.name];
    const value = source === "own" ? own!.apply((map) => map[tenant.name]!) : source === "shared" ? secrets.get(MODEL_PROVIDERS[tenant.modelProvider].configKey) : undefined;
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
function backupCredentials(settings: StackSettings, secrets: SecretSettings): { accessKeyId: pulumi.Output<string>; secretAccessKey: pulumi.Output<string> } {
  const accessKeyId = secrets.get("backupAccessKeyId");
  const secretAccessKey = secrets.get("backupSecretAccessKey");
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

/** Where a run's secret settings come from: the stack's own config (one stack), or the fleet's, handed over by the CLI. */
export interface SecretSettings {
  get(key: string): pulumi.Output<string> | undefined;
}
const CONFIG_SECRETS: SecretSettings = { get: (key) => secretSetting(key) };
/** The fleet stack's decrypted `agentpod:` values, each handed to the program as a secret. */
export const givenSecrets = (values: Readonly<Record<string, string>>): SecretSettings => ({
  get: (key) => (Object.hasOwn(values, key) ? pulumi.secret(values[key]!) : undefined),
});

// ---------------------------------------------------------------------------------------------------------------
// The fleet's parts. One stack holds them all (buildWholeFleet: index.ts, the unit tests); the CLI runs each in
// its own stack (fleet, host, tenant: cli/fleetStacks.ts). Either way each part is built by the same function.
// ---------------------------------------------------------------------------------------------------------------

/** What the fleet's own stack creates once for all hosts. */
interface FleetShared {
  backupPassword: pulumi.Output<string>;
  /** Hetzner: the admins' SSH keys and the firewall the deploy runner opens SSH through. */
  sshKeyIds?: pulumi.Input<string>[];
  runnerFirewall?: { id: pulumi.Output<string>; name: pulumi.Output<string> };
}

function buildShared(settings: StackSettings, secrets: SecretSettings): FleetShared {
  // Protected like the data volumes: `agentpod destroy` keeps it, so the fleet's backups stay readable and a new `up`
  // opens the same repository (a new key could not).
  const backupPassword = secrets.get("backupPassword") ?? new BackupKey("backup-key", { protect: true }).value;
  if (settings.target !== "hetzner") return { backupPassword };
  // Named by a digest of the key, not its position: reordering the list changes nothing.
  const sshKeys = settings.adminSshKeys.map((publicKey) => {
    const id = createHash("sha256").update(publicKey).digest("hex").slice(0, 10);
    return new hcloud.SshKey(`admin-key-${id}`, { name: `agentpod-admin-${id}`, publicKey });
  });
  const firewall = deployRunnerFirewall(DEFAULT_FLEET);
  return { backupPassword, sshKeyIds: sshKeys.map((k) => k.id), runnerFirewall: { id: firewall.id, name: firewall.name } };
}

/** This machine's engine, which runs the local servers (each server's own engine runs its proxy and tenants). */
const localEngine = (settings: LocalSettings) => new docker.Provider("local-engine", { host: settings.dockerHost });

interface BuiltHost {
  host: DockerHost;
  proxy: TenantProxy;
  backup: HostBackup;
}

function buildHost(
  plan: HostPlan,
  settings: StackSettings,
  secrets: SecretSettings,
  shared: Pick<FleetShared, "backupPassword" | "sshKeyIds"> & { runnerFirewallId?: pulumi.Input<string> },
  permissions: RunPermissions,
  context: { localEngine?: docker.Provider; addresses?: Readonly<Record<string, string>>; backupAfter?: pulumi.Resource },
): BuiltHost {
  const name = plan.name;
  let host: DockerHost;
  let proxy: HostProxy;
  if (settings.target === "local") {
    const addresses = context.addresses ?? hostAddresses([name], settings.hostAddresses).addresses;
    host = new LocalServerHost(name, {
      fleet: settings.fleet,
      engine: context.localEngine ?? localEngine(settings),
      engineEndpoint: settings.dockerHost,
      address: addresses[name]!,
      ports: [settings.httpPort, settings.httpsPort],
      image: settings.serverImage,
      stack: settings.stack,
      releaseVolume: permissions.retireHosts?.includes(name) ?? false,
    });
    const tls = localTls(localAcmeServerCa(settings));
    proxy = new HostProxy(`${name}-proxy`, { provider: host.provider, fleet: settings.fleet, image: settings.traefikImage, tls, ports: { http: settings.httpPort, https: settings.httpsPort } });
  } else {
    host = new HetznerHost(name, {
      location: plan.location,
      serverType: plan.serverType,
      image: settings.serverImage,
      sshKeyIds: shared.sshKeyIds ?? [],
      adminCidrs: settings.adminCidrs,
      deployRunnerFirewallId: pulumi.output(shared.runnerFirewallId ?? "").apply(Number),
      dataVolumeGb: plan.dataVolumeGb,
      stack: settings.stack,
      releaseServer: (permissions.releaseServers?.includes(name) || permissions.retireHosts?.includes(name)) ?? false,
      releaseVolume: permissions.retireHosts?.includes(name) ?? false,
    });
    const cloudflareDnsToken = secrets.get("cloudflareDnsToken");
    proxy = new HostProxy(`${name}-proxy`, { provider: host.provider, image: settings.traefikImage, tls: hetznerTls(settings), ...(cloudflareDnsToken ? { cloudflareDnsToken } : {}) });
  }
  const backup = new HostBackup(`${name}-backup`, {
    host: name,
    ...(context.backupAfter ? { after: context.backupAfter } : {}),
    provider: host.provider,
    dockerHost: host.dockerHost,
    ...optional("hostKey", host.sshHostKey),
    serverId: host.serverId,
    fleet: fleetName(settings),
    stack: settings.stack,
    settings: settings.backup,
    ...backupCredentials(settings, secrets),
    password: shared.backupPassword,
    ...(permissions.rebuiltHosts?.[name] ? { rebuilt: permissions.rebuiltHosts[name] } : {}),
  });
  return { host, proxy: proxy.tenantProxy, backup };
}

const hetznerTls = (settings: HetznerSettings): TlsMode =>
  settings.acmeChallenge === "dns-01" ? { kind: "dns-01", email: settings.acmeEmail, dns: { kind: "cloudflare" } } : { kind: "http-01", email: settings.acmeEmail };

/** The ACME challenge of the fleet's proxies: a tenant's router asks for its certificate accordingly. */
const proxyChallenge = (settings: StackSettings): TlsMode["kind"] => (settings.target === "local" ? "dns-01" : hetznerTls(settings).kind);
const proxyPorts = (settings: StackSettings) => (settings.target === "local" ? { http: settings.httpPort, https: settings.httpsPort } : undefined);
const fleetName = (settings: StackSettings) => (settings.target === "local" ? settings.fleet : DEFAULT_FLEET);

/** One tenant's part, as buildTenant declares it. */
interface TenantBuild {
  /** The tenant as this run deploys it (effectiveTenant: a rollout may hold its image). */
  readonly tenant: TenantPlan;
  readonly settings: StackSettings;
  readonly host: DockerHost;
  readonly proxy: TenantProxy;
  readonly permissions: RunPermissions;
  readonly modelKey?: { env: string; value: pulumi.Output<string> };
  readonly healthTimeoutSeconds: number;
  /** Resources its data must wait for (one stack: the host's backup gate). */
  readonly after?: readonly pulumi.Resource[];
  /** Its container takes the current health check (TenantGatewayArgs.renewHealthCheck). */
  readonly renewHealthCheck?: boolean;
}

function buildTenant({ tenant, settings, host, proxy, permissions, modelKey, healthTimeoutSeconds, after = [], renewHealthCheck = false }: TenantBuild): { output: TenantOutput; token: pulumi.Output<string> } {
  const gateway = new TenantGateway(tenant.name, {
    name: tenant.name,
    host: tenant.host,
    domain: tenant.domain,
    image: tenant.image,
    plan: tenant.plan,
    healthTimeoutSeconds,
    ...(renewHealthCheck ? { renewHealthCheck } : {}),
    provider: host.provider,
    dockerHost: host.dockerHost,
    hostShell: host.shell,
    ...(settings.target === "local" ? { fleet: settings.fleet } : {}),
    proxy,
    ...optional("modelKey", modelKey),
    ...optional("tokenRotation", Object.hasOwn(settings.tokenRotations, tenant.name) ? settings.tokenRotations[tenant.name] : undefined),
    prepareData: (name, parent) => host.prepareTenantData(name, parent, dataOptions(tenant, settings, permissions), after),
  });
  if (settings.target === "hetzner") {
    new TenantDns(`${tenant.name}-dns`, { zoneId: settings.cloudflareZoneId, domain: tenant.domain, ipv4: host.ipv4!, ipv6: host.ipv6, proxied: settings.dnsProxied });
  }
  return { output: { url: gateway.url, host: tenant.host, plan: tenant.planName, healthUrl: `${gateway.url}/healthz` }, token: gateway.gatewayToken };
}

/** The whole fleet in one stack. */
function buildWholeFleet(fleet: FleetPlan, settings: StackSettings, secrets: SecretSettings, permissions: RunPermissions, keys: ModelKeys): FleetOutputs {
  const shared = buildShared(settings, secrets);
  const engine = settings.target === "local" ? localEngine(settings) : undefined;
  const addresses = settings.target === "local" ? hostAddresses(fleet.hosts.map((h) => h.name), settings.hostAddresses).addresses : undefined;
  // In the order of the host names, each backup gate after the previous one: the repository is created once (HostBackupArgs.after).
  const hosts = new Map<string, BuiltHost>();
  let previousGate: pulumi.Resource | undefined;
  for (const plan of [...fleet.hosts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const built = buildHost(plan, settings, secrets, { ...shared, ...optional("runnerFirewallId", shared.runnerFirewall?.id) }, permissions, {
      ...optional("localEngine", engine),
      ...optional("addresses", addresses),
      ...optional("backupAfter", previousGate),
    });
    previousGate = built.backup.gate;
    hosts.set(plan.name, built);
  }
  const tenants: Record<string, TenantOutput> = {};
  const tokens: Record<string, pulumi.Output<string>> = {};
  const { healthTimeoutSeconds } = rolloutSettings(fleet);
  for (const tenant of fleet.tenants) {
    const { host, proxy, backup } = hosts.get(tenant.host)!;
    const built = buildTenant({
      tenant: effectiveTenant(tenant, permissions),
      settings,
      host,
      proxy,
      permissions,
      ...optional("modelKey", keys.get(tenant.name)),
      healthTimeoutSeconds,
      after: [backup.gate],
    });
    tenants[tenant.name] = built.output;
    tokens[tenant.name] = built.token;
  }
  const hostOutputs = Object.fromEntries(
    [...fleet.hosts].map(({ name }) => {
      const { host } = hosts.get(name)!;
      return [name, { ...optional("ipv4", host.ipv4), ...optional("ipv6", host.ipv6), ...optional("sshHostKey", host.sshHostKey) }];
    }),
  );
  return {
    target: settings.target,
    tenants,
    hosts: hostOutputs,
    gatewayTokens: pulumi.secret(pulumi.all(tokens)),
    ...(shared.runnerFirewall ? { deployRunnerFirewall: shared.runnerFirewall } : {}),
  };
}

function dataOptions(tenant: TenantPlan, settings: StackSettings, permissions: RunPermissions): TenantDataOptions {
  const movedFrom = permissions.moves?.[tenant.name];
  const container = dockerNames(tenant.name, fleetName(settings)).container;
  return {
    diskBytes: tenant.plan.diskBytes,
    container,
    ...(permissions.adopt?.includes(tenant.name) ? { adopt: true } : {}),
    ...(movedFrom ? { movedFrom } : {}),
    ...(permissions.withoutHostAccess ? { withoutHostAccess: true } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The programs of a fleet split into stacks (cli/fleetStacks.ts builds their inputs from the fleet's settings,
// tenants.yaml and the outputs of the stacks that ran before).
// ---------------------------------------------------------------------------------------------------------------

/** What the fleet's own stack hands to its host stacks. */
export interface SharedOutputs {
  readonly backupPassword: string;
  readonly sshKeyIds?: readonly string[];
  readonly deployRunnerFirewallId?: string;
}

/** The fleet's record of its stacks, kept in the fleet stack's outputs (cli/fleetStacks.ts reads and writes it). */
export interface FleetRecord {
  /** Fingerprint of the fleet stack's own inputs. */
  readonly shared?: string;
  readonly hosts: Readonly<Record<string, { readonly fingerprint: string; readonly outputs: HostOutputs }>>;
  /** Per tenant: its stack's outputs and the image its gateway runs (an image rollout starts from it). */
  readonly tenants: Readonly<Record<string, { readonly fingerprint: string; readonly output: TenantOutput; readonly token: string; readonly image: string }>>;
}

interface PartCommon {
  readonly settings: StackSettings;
  /** The fleet stack's decrypted `agentpod:` secrets this part reads. */
  readonly secrets: Readonly<Record<string, string>>;
}

export interface FleetPartInput extends PartCommon {
  readonly kind: "fleet";
  readonly record: FleetRecord;
}

export interface HostPartInput extends PartCommon {
  readonly kind: "host";
  readonly host: HostPlan;
  readonly shared: SharedOutputs;
  readonly permissions: RunPermissions;
}

export interface TenantPartInput extends PartCommon {
  readonly kind: "tenant";
  readonly tenant: TenantPlan;
  readonly modelKeySource?: "own" | "shared";
  readonly healthTimeoutSeconds: number;
  /** Its image changes in this run (the record says it runs another): its container takes the current health check. */
  readonly renewHealthCheck?: true;
  /** The outputs of the host's stack; undefined when it has not been created yet (a preview then shows them unknown). */
  readonly host?: HostOutputs;
  /** Preview only: the host outputs that the host's pending changes make new, unknown to this preview. */
  readonly hostChanging?: readonly HostOutputField[];
  readonly permissions: RunPermissions;
}

/** A stack whose host or tenant left the fleet: it declares nothing, so its resources go (retained data stays). */
export interface RemovedPartInput {
  readonly kind: "removed";
}

export type PartInput = FleetPartInput | HostPartInput | TenantPartInput | RemovedPartInput;

/** The program of one stack of a split fleet. */
export async function partProgram(input: PartInput): Promise<Record<string, unknown>> {
  if (input.kind === "removed") return {};
  return withoutPromiseStackTraces(() => {
    const secrets = givenSecrets(input.secrets);
    if (input.kind === "fleet") return fleetPart(input, secrets);
    if (input.kind === "host") return hostPart(input, secrets);
    return tenantPart(input, secrets);
  });
}

function fleetPart(input: FleetPartInput, secrets: SecretSettings): Record<string, unknown> {
  const shared = buildShared(input.settings, secrets);
  const record = input.record;
  const tenants = Object.fromEntries(Object.entries(record.tenants).map(([name, entry]) => [name, entry.output]));
  const hosts = Object.fromEntries(
    Object.entries(record.hosts).map(([name, { outputs }]) => [name, { ...optional("ipv4", outputs.ipv4), ...optional("ipv6", outputs.ipv6), ...optional("sshHostKey", outputs.sshHostKey) }]),
  );
  return {
    target: input.settings.target,
    tenants,
    hosts,
    gatewayTokens: pulumi.secret(Object.fromEntries(Object.entries(record.tenants).map(([name, entry]) => [name, entry.token]))),
    ...(shared.runnerFirewall ? { deployRunnerFirewall: shared.runnerFirewall } : {}),
    shared: pulumi.secret(
      pulumi.all([shared.backupPassword, pulumi.all(shared.sshKeyIds ?? []), shared.runnerFirewall?.id]).apply(([backupPassword, sshKeyIds, firewallId]) => ({
        backupPassword,
        ...(input.settings.target === "hetzner" ? { sshKeyIds, deployRunnerFirewallId: firewallId } : {}),
      })),
    ),
    // Secret: the fingerprints are digests of inputs that include secrets.
    record: pulumi.secret(record),
  };
}

function hostPart(input: HostPartInput, secrets: SecretSettings): Record<string, unknown> {
  const { settings, shared } = input;
  const built = buildHost(
    input.host,
    settings,
    secrets,
    { backupPassword: pulumi.secret(shared.backupPassword), ...optional("sshKeyIds", shared.sshKeyIds ? [...shared.sshKeyIds] : undefined), ...optional("runnerFirewallId", shared.deployRunnerFirewallId) },
    input.permissions,
    {},
  );
  const { host, proxy } = built;
  const outputs = pulumi.all([host.dockerHost, host.shell, host.serverId, host.ipv4, host.ipv6, host.sshHostKey, proxy.containerName, proxy.containerId]).apply(
    ([endpoint, shell, serverId, ipv4, ipv6, sshHostKey, containerName, containerId]): HostOutputs => ({
      endpoint,
      shell,
      serverId,
      ...optional("ipv4", ipv4),
      ...optional("ipv6", ipv6),
      ...optional("sshHostKey", sshHostKey),
      proxy: { containerName, containerId },
    }),
  );
  // Waits for the backup gate: the host's tenants start only after it (the CLI runs their stacks after this one).
  return { host: pulumi.all([outputs, built.backup.gate.id]).apply(([o]) => o) };
}

function tenantPart(input: TenantPartInput, secrets: SecretSettings): Record<string, unknown> {
  const { settings, tenant } = input;
  // Each output on its own: one that is not known yet must not make the others unknown (an unknown endpoint would
  // make the host's provider, and so every resource of the tenant, look changed).
  const changing = new Set(input.hostChanging ?? []);
  const known = <T>(field: HostOutputField, value: T | undefined): pulumi.Output<T> =>
    (input.host === undefined || changing.has(field) ? pulumi.output(unknown) : pulumi.output(value)) as pulumi.Output<T>;
  const outputs = input.host;
  const host = new HostReference(
    tenant.host,
    {
      endpoint: known("endpoint", outputs?.endpoint),
      shell: known("shell", outputs?.shell),
      serverId: known("serverId", outputs?.serverId),
      ipv4: known("ipv4", outputs?.ipv4 ?? ""),
      ipv6: known("ipv6", outputs?.ipv6 ?? ""),
      ...(settings.target === "hetzner" ? { sshHostKey: known("sshHostKey", outputs?.sshHostKey ?? "") } : {}),
    },
    settings.stack,
  );
  // The proxy's name stays when its container is replaced: only its id is new.
  const containerName = (outputs ? pulumi.output(outputs.proxy.containerName) : pulumi.output(unknown)) as pulumi.Output<string>;
  const proxy = tenantProxyOf({ containerName, containerId: known("proxy.containerId", outputs?.proxy.containerId) }, proxyChallenge(settings), proxyPorts(settings));
  const keys = input.modelKeySource ? modelKeyInputs({ tenants: [tenant] }, { sources: { [tenant.name]: input.modelKeySource } }, secrets) : new Map();
  // input.tenant is already as this run deploys it (planTenantParts), and a part's permissions hold no rollout.
  const built = buildTenant({
    tenant,
    settings,
    host,
    proxy,
    permissions: input.permissions,
    ...optional("modelKey", keys.get(tenant.name)),
    healthTimeoutSeconds: input.healthTimeoutSeconds,
    renewHealthCheck: input.renewHealthCheck === true,
  });
  return { tenant: built.output, gatewayToken: pulumi.secret(built.token) };
}

type ModelKeys = ReadonlyMap<string, { env: string; value: pulumi.Output<string> }>;

const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
