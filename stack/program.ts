/**
 * The AgentPod program: settings and tenants.yaml are read and validated first (nothing is registered if either
 * has a problem), then the fleet is built from the plan model, target by target.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { HetznerHost } from "../components/hetznerHost";
import { HostBackup } from "../components/hostBackup";
import { HostProxy } from "../components/hostProxy";
import type { DockerHost, TenantDataOptions } from "../components/dockerHost";
import { LocalServerHost } from "../components/localServerHost";
import * as docker from "@pulumi/docker";
import { TenantDns } from "../components/tenantDns";
import { TenantGateway } from "../components/tenantGateway";
import { MODEL_PROVIDERS } from "../fleet/catalog";
import { TenantsFileError } from "../fleet/issues";
import type { FleetPlan, TenantPlan } from "../fleet/plan";
import { SettingsError, type HetznerSettings, type LocalSettings, type StackSettings } from "../fleet/settings";
import type { TlsMode } from "../fleet/traefik";
import { hostAddresses } from "../fleet/localServers";
import { loadFleet } from "../fleet/validate";
import { DEFAULT_FLEET } from "../fleet/naming";
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
  hosts: Record<string, { ipv4?: pulumi.Output<string>; ipv6?: pulumi.Output<string> }>;
  /** Per-tenant gateway tokens, as one secret. */
  gatewayTokens: pulumi.Output<Record<string, string>>;
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
}

export async function agentpodProgram(options: ProgramOptions = {}): Promise<FleetOutputs> {
  const projectDir = options.projectDir ?? process.cwd();
  const { settings, fleet } = loadInputs(projectDir);
  const permissions = options.operation ?? {};
  return withoutPromiseStackTraces(() => (settings.target === "local" ? buildLocal(fleet, settings, permissions) : buildHetzner(fleet, settings, permissions)));
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
export function loadInputs(projectDir: string): { settings: StackSettings; fleet: FleetPlan } {
  try {
    const settings = readStackSettings(projectDir);
    const file = settings.tenantsFile;
    const text = readFileSync(path.resolve(projectDir, file), "utf8");
    const fleet = loadFleet(text, {
      file,
      domainSuffix: settings.target === "local" ? "localhost" : settings.zone,
      ...(settings.target === "hetzner" ? { zone: settings.zone } : {}),
    });
    if (settings.target === "hetzner") requireModelKeys(fleet);
    if (settings.target === "local") requireDistinctAddresses(fleet, settings);
    backupCredentials(settings);
    return { settings, fleet };
  } catch (error) {
    // A RunError is reported without a stack trace: the message is the whole story.
    if (error instanceof TenantsFileError || error instanceof SettingsError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

function requireModelKeys(fleet: FleetPlan): void {
  const missing = [...new Set(fleet.tenants.map((t) => t.modelProvider))].filter((p) => !secretSetting(MODEL_PROVIDERS[p].configKey));
  if (missing.length > 0) {
    const lines = missing.map((p) => `  pulumi config set --secret agentpod:${MODEL_PROVIDERS[p].configKey}   # used by: ${fleet.tenants.filter((t) => t.modelProvider === p).map((t) => t.name).join(", ")}`);
    throw new SettingsError(missing.map((p) => ({ file: `Pulumi.${pulumi.getStack()}.yaml`, key: `agentpod:${MODEL_PROVIDERS[p].configKey}`, message: `is required by tenants on ${p}:\n${lines.join("\n")}` })));
  }
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

/** Where scripts/setup/s3.sh keeps the local object store's credentials (mode 600, outside the repository). */
export const LOCAL_S3_CREDENTIALS = () => path.join(process.env.AGENTPOD_CACHE ?? path.join(homedir(), ".cache", "agentpod"), "s3", "credentials");

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

function modelKeyFor(tenant: TenantPlan) {
  const value = secretSetting(MODEL_PROVIDERS[tenant.modelProvider].configKey);
  return value ? { env: tenant.modelKeyEnv, value } : undefined;
}

function buildLocal(fleet: FleetPlan, settings: LocalSettings, permissions: RunPermissions): FleetOutputs {
  const tls: TlsMode = { kind: "none" };
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
        ports: [settings.httpPort],
        image: settings.serverImage,
        stack: settings.stack,
        releaseVolume: permissions.retireHosts?.includes(h.name) ?? false,
      }),
    ]),
  );
  return buildTenants(fleet, settings, hosts, permissions, (host) =>
    new HostProxy(`${host.hostName}-proxy`, { provider: host.provider, fleet: settings.fleet, image: settings.traefikImage, tls, publish: { httpPort: settings.httpPort } }),
  );
}

function buildHetzner(fleet: FleetPlan, settings: HetznerSettings, permissions: RunPermissions): FleetOutputs {
  const tls: TlsMode = settings.dnsProxied ? { kind: "dns-01", email: settings.acmeEmail } : { kind: "http-01", email: settings.acmeEmail };
  // Named by a digest of the key, not its position: reordering the list changes nothing.
  const sshKeys = settings.adminSshKeys.map((publicKey) => {
    const id = createHash("sha256").update(publicKey).digest("hex").slice(0, 10);
    return new hcloud.SshKey(`admin-key-${id}`, { name: `agentpod-admin-${id}`, publicKey });
  });
  const deployPrivateKey = secretSetting("deployPrivateKey")!;
  const hosts = new Map<string, DockerHost>(
    fleet.hosts.map((h) => [
      h.name,
      new HetznerHost(h.name, {
        location: h.location,
        serverType: h.serverType,
        image: settings.serverImage,
        sshKeyIds: sshKeys.map((k) => k.id),
        adminCidrs: settings.adminCidrs,
        dataVolumeGb: h.dataVolumeGb,
        deployPrivateKey,
        stack: settings.stack,
        releaseServer: (permissions.releaseServers?.includes(h.name) || permissions.retireHosts?.includes(h.name)) ?? false,
        releaseVolume: permissions.retireHosts?.includes(h.name) ?? false,
      }),
    ]),
  );
  const cloudflareDnsToken = secretSetting("cloudflareDnsToken");
  return buildTenants(
    fleet,
    settings,
    hosts,
    permissions,
    (host) => new HostProxy(`${host.hostName}-proxy`, { provider: host.provider, image: settings.traefikImage, tls, ...(cloudflareDnsToken ? { cloudflareDnsToken } : {}) }),
    (tenant, host) =>
      new TenantDns(`${tenant.name}-dns`, { zoneId: settings.cloudflareZoneId, domain: tenant.domain, ipv4: host.ipv4!, ipv6: host.ipv6, proxied: settings.dnsProxied }),
  );
}

function buildTenants(
  fleet: FleetPlan,
  settings: StackSettings,
  hosts: Map<string, DockerHost>,
  permissions: RunPermissions,
  createProxy: (host: DockerHost) => HostProxy,
  createDns?: (tenant: TenantPlan, host: DockerHost) => void,
): FleetOutputs {
  const proxies = new Map([...hosts].map(([name, host]) => [name, createProxy(host)]));
  const backups = buildBackups(settings, hosts, permissions);
  const tenants: Record<string, TenantOutput> = {};
  const tokens: Record<string, pulumi.Output<string>> = {};
  for (const tenant of fleet.tenants) {
    const host = hosts.get(tenant.host)!;
    const gateway = new TenantGateway(tenant.name, {
      name: tenant.name,
      host: tenant.host,
      domain: tenant.domain,
      image: tenant.image,
      plan: tenant.plan,
      provider: host.provider,
      dockerHost: host.dockerHost,
      ...(settings.target === "local" ? { fleet: settings.fleet } : {}),
      proxy: proxies.get(tenant.host)!.tenantProxy,
      ...optional("modelKey", modelKeyFor(tenant)),
      prepareData: (name, parent) => host.prepareTenantData(name, parent, dataOptions(tenant.name, permissions), [backups.get(tenant.host)!.gate]),
    });
    createDns?.(tenant, host);
    tenants[tenant.name] = { url: gateway.url, host: tenant.host, plan: tenant.planName, healthUrl: `${gateway.url}/healthz` };
    tokens[tenant.name] = gateway.gatewayToken;
  }
  const hostOutputs = Object.fromEntries([...hosts].map(([name, host]) => [name, { ...optional("ipv4", host.ipv4), ...optional("ipv6", host.ipv6) }]));
  return { target: settings.target, tenants, hosts: hostOutputs, gatewayTokens: pulumi.secret(pulumi.all(tokens)) };
}

/** One backup job per host, all writing to the fleet's repository with the fleet key. */
function buildBackups(settings: StackSettings, hosts: Map<string, DockerHost>, permissions: RunPermissions): Map<string, HostBackup> {
  const credentials = backupCredentials(settings);
  const password = secretSetting("backupPassword") ?? new BackupKey("backup-key").value;
  const fleetName = settings.target === "local" ? settings.fleet : DEFAULT_FLEET;
  return new Map(
    [...hosts].map(([name, host]) => [
      name,
      new HostBackup(`${name}-backup`, {
        host: name,
        provider: host.provider,
        dockerHost: host.dockerHost,
        serverId: host.serverId,
        fleet: fleetName,
        stack: settings.stack,
        settings: settings.backup,
        ...credentials,
        password,
        ...(permissions.rebuiltHosts?.[name] ? { rebuilt: permissions.rebuiltHosts[name] } : {}),
      }),
    ]),
  );
}

function dataOptions(tenant: string, permissions: RunPermissions): TenantDataOptions {
  const movedFrom = permissions.moves?.[tenant];
  return { ...(permissions.adopt?.includes(tenant) ? { adopt: true } : {}), ...(movedFrom ? { movedFrom } : {}) };
}

const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
