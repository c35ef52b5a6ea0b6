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
import { HostProxy } from "../components/hostProxy";
import type { DockerHost } from "../components/dockerHost";
import { LocalDockerHost } from "../components/localDockerHost";
import { TenantDns } from "../components/tenantDns";
import { TenantGateway } from "../components/tenantGateway";
import { MODEL_PROVIDERS } from "../fleet/catalog";
import { TenantsFileError } from "../fleet/issues";
import type { FleetPlan, TenantPlan } from "../fleet/plan";
import { SettingsError, type HetznerSettings, type LocalSettings, type StackSettings } from "../fleet/settings";
import type { TlsMode } from "../fleet/traefik";
import { loadFleet } from "../fleet/validate";
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
}

export async function agentpodProgram(options: ProgramOptions = {}): Promise<FleetOutputs> {
  const projectDir = options.projectDir ?? process.cwd();
  const { settings, fleet } = loadInputs(projectDir);
  return withoutPromiseStackTraces(() => (settings.target === "local" ? buildLocal(fleet, settings) : buildHetzner(fleet, settings)));
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

function modelKeyFor(tenant: TenantPlan) {
  const value = secretSetting(MODEL_PROVIDERS[tenant.modelProvider].configKey);
  return value ? { env: tenant.modelKeyEnv, value } : undefined;
}

function buildLocal(fleet: FleetPlan, settings: LocalSettings): FleetOutputs {
  const tls: TlsMode = { kind: "none" };
  const hosts = new Map<string, DockerHost>(
    fleet.hosts.map((h) => [h.name, new LocalDockerHost(h.name, { endpoint: settings.dockerHosts[h.name] ?? settings.dockerHost })]),
  );
  return buildTenants(fleet, settings, hosts, (host) =>
    new HostProxy(`${host.hostName}-proxy`, { provider: host.provider, fleet: settings.fleet, image: settings.traefikImage, tls, publish: { httpPort: settings.httpPort, address: "127.0.0.1" } }),
  );
}

function buildHetzner(fleet: FleetPlan, settings: HetznerSettings): FleetOutputs {
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
      }),
    ]),
  );
  const cloudflareDnsToken = secretSetting("cloudflareDnsToken");
  return buildTenants(
    fleet,
    settings,
    hosts,
    (host) => new HostProxy(`${host.hostName}-proxy`, { provider: host.provider, image: settings.traefikImage, tls, ...(cloudflareDnsToken ? { cloudflareDnsToken } : {}) }),
    (tenant, host) =>
      new TenantDns(`${tenant.name}-dns`, { zoneId: settings.cloudflareZoneId, domain: tenant.domain, ipv4: host.ipv4!, ipv6: host.ipv6, proxied: settings.dnsProxied }),
  );
}

function buildTenants(
  fleet: FleetPlan,
  settings: StackSettings,
  hosts: Map<string, DockerHost>,
  createProxy: (host: DockerHost) => HostProxy,
  createDns?: (tenant: TenantPlan, host: DockerHost) => void,
): FleetOutputs {
  const proxies = new Map([...hosts].map(([name, host]) => [name, createProxy(host)]));
  const tenants: Record<string, TenantOutput> = {};
  const tokens: Record<string, pulumi.Output<string>> = {};
  for (const tenant of fleet.tenants) {
    const host = hosts.get(tenant.host)!;
    const gateway = new TenantGateway(tenant.name, {
      name: tenant.name,
      domain: tenant.domain,
      image: tenant.image,
      plan: tenant.plan,
      provider: host.provider,
      dockerHost: host.dockerHost,
      ...(settings.target === "local" ? { fleet: settings.fleet } : {}),
      proxy: proxies.get(tenant.host)!.tenantProxy,
      ...optional("modelKey", modelKeyFor(tenant)),
      ...(host.prepareTenantData ? { prepareData: host.prepareTenantData.bind(host) } : {}),
    });
    createDns?.(tenant, host);
    tenants[tenant.name] = { url: gateway.url, host: tenant.host, plan: tenant.planName, healthUrl: `${gateway.url}/healthz` };
    tokens[tenant.name] = gateway.gatewayToken;
  }
  const hostOutputs = Object.fromEntries([...hosts].map(([name, host]) => [name, { ...optional("ipv4", host.ipv4), ...optional("ipv6", host.ipv6) }]));
  return { target: settings.target, tenants, hosts: hostOutputs, gatewayTokens: pulumi.secret(pulumi.all(tokens)) };
}

const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
