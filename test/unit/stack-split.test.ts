/**
 * Splitting a single fleet stack's state into the fleet stack, the host stacks and the tenant stacks
 * (fleet/stackSplit.ts): examples on checkpoints shaped like the program's own (local and Hetzner targets, with the
 * type chains, providers and dependencies the engine records), and properties over random fleets.
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { StackSplitError, splitDeployment, stackNameOf, type DeploymentResource, type DeploymentV3Like, type SplitOptions } from "../../fleet/stackSplit";
import { SINGLE_STACK_FIXTURE, trimmedState } from "../support/stateFixture";

// ---------------------------------------------------------------------------------------------------------------
// Checkpoints as the engine writes them for stack/program.ts
// ---------------------------------------------------------------------------------------------------------------

const DYN = "pulumi-nodejs:dynamic/agentpod";
/** What a secret looks like in an exported checkpoint: ciphertext only. */
const secret = (label: string) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: `v1:${Buffer.from(label).toString("base64")}` });

interface FleetShape {
  stack: string;
  target: "local" | "hetzner";
  hosts: string[];
  tenants: Record<string, string>;
}

/** Writes the resource list in registration order, URNs with their type chains, as the engine does. */
class Checkpoint {
  readonly resources: DeploymentResource[] = [];
  readonly root: string;
  private ids = 0;

  constructor(readonly stack: string) {
    this.root = `urn:pulumi:${stack}::agentpod::pulumi:pulumi:Stack::agentpod-${stack}`;
    this.resources.push({ urn: this.root, custom: false, type: "pulumi:pulumi:Stack", outputs: { target: "local", tenants: {} } });
  }

  private chainOf(parent: string | undefined): string {
    if (!parent || parent === this.root) return "";
    return `${parent.split("::")[2]}$`;
  }

  component(type: string, name: string, parent = this.root): string {
    const urn = `urn:pulumi:${this.stack}::agentpod::${this.chainOf(parent)}${type}::${name}`;
    this.resources.push({ urn, custom: false, type, parent });
    return urn;
  }

  /** A custom resource; returns its URN. `provider` is the provider's URN (the reference gets its id). */
  custom(type: string, name: string, fields: { parent?: string; provider?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown>; dependencies?: string[]; protect?: boolean; retainOnDelete?: boolean; deletedWith?: string } = {}): string {
    const parent = fields.parent ?? this.root;
    const urn = `urn:pulumi:${this.stack}::agentpod::${this.chainOf(parent)}${type}::${name}`;
    const id = type.startsWith("pulumi:providers:") ? `${String(++this.ids).padStart(8, "0")}-0000-4000-8000-000000000000` : `${name}-id-${++this.ids}`;
    const inputs = fields.inputs ?? { name };
    const dependencies = fields.dependencies ?? [];
    const resource: DeploymentResource = {
      urn,
      custom: true,
      id,
      type,
      inputs,
      outputs: fields.outputs ?? { ...inputs, id },
      parent,
      dependencies,
      propertyDependencies: Object.fromEntries(Object.keys(inputs).map((key, i) => [key, i === 0 ? dependencies : []])),
      created: "2026-01-01T00:00:00.000Z",
      modified: "2026-01-01T00:00:00.000Z",
    };
    if (fields.provider) resource.provider = `${fields.provider}::${this.idOf(fields.provider)}`;
    if (fields.protect) resource.protect = true;
    if (fields.retainOnDelete) resource.retainOnDelete = true;
    if (fields.deletedWith) resource.deletedWith = fields.deletedWith;
    this.resources.push(resource);
    return urn;
  }

  /** Default providers have no parent, and come before their first user. */
  defaultProvider(pkg: string, version: string): string {
    const existing = this.resources.find((r) => r.type === `pulumi:providers:${pkg}`);
    if (existing) return existing.urn;
    const urn = `urn:pulumi:${this.stack}::agentpod::pulumi:providers:${pkg}::default${version ? `_${version.replaceAll(".", "_")}` : ""}`;
    this.resources.push({ urn, custom: true, id: `${String(++this.ids).padStart(8, "0")}-0000-4000-8000-00000000def0`, type: `pulumi:providers:${pkg}`, inputs: { version }, outputs: { version } });
    return urn;
  }

  idOf(urn: string): string {
    return String(this.resources.find((r) => r.urn === urn)!.id);
  }

  deployment(): DeploymentV3Like {
    return {
      manifest: { time: "2026-01-01T00:00:00.000Z", magic: "0123abcd", version: "v3.259.0" },
      secrets_providers: { type: "passphrase", state: { salt: "v1:c2FsdHNhbHQ=:v1:AAAA:BBBB" } },
      resources: this.resources,
    };
  }
}

/** The state `agentpod up` leaves for this fleet (stack/program.ts, in its registration order). */
function singleStack(fleet: FleetShape): DeploymentV3Like {
  const c = new Checkpoint(fleet.stack);
  const nodejs = () => c.defaultProvider("pulumi-nodejs", "");
  const hostOf = new Map<string, { component: string; provider: string; ready: string; endpoint: string }>();
  let sshKey: string | undefined;
  let runnerFirewall: string | undefined;

  if (fleet.target === "local") {
    const engine = c.custom("pulumi:providers:docker", "local-engine", { inputs: { host: "unix:///var/run/docker.sock" } });
    for (const h of fleet.hosts) {
      const component = c.component("agentpod:index:LocalServerHost", h);
      const disk = c.custom("docker:index/volume:Volume", `${h}-disk`, { parent: component, provider: engine });
      const data = c.custom("docker:index/volume:Volume", `${h}-data`, { parent: component, provider: engine, protect: true, retainOnDelete: true });
      const server = c.custom("docker:index/container:Container", `${h}-server`, { parent: component, provider: engine, dependencies: [disk, data] });
      nodejs();
      const endpoint = `tcp://agentpod-${h}:2375`;
      const ready = c.custom(`${DYN}:HostReadiness`, `${h}-ready`, { parent: component, provider: nodejs(), dependencies: [server], inputs: { serverId: "x", endpoint } });
      const provider = c.custom("pulumi:providers:docker", `${h}-docker`, { parent: component, dependencies: [ready], inputs: { host: endpoint } });
      hostOf.set(h, { component, provider, ready, endpoint });
    }
  } else {
    const hcloud = c.defaultProvider("hcloud", "1.41.0");
    sshKey = c.custom("hcloud:index/sshKey:SshKey", "admin-key-0a1b2c3d4e", { provider: hcloud, inputs: { name: "agentpod-admin-0a1b2c3d4e", publicKey: "ssh-ed25519 AAAA ops" } });
    runnerFirewall = c.custom("hcloud:index/firewall:Firewall", "deploy-runner-firewall", { provider: hcloud, inputs: { name: "agentpod--deploy-runner", rules: [] } });
    for (const h of fleet.hosts) {
      const component = c.component("agentpod:index:HetznerHost", h);
      nodejs();
      const hostKey = c.custom(`${DYN}:HostSshKey`, `${h}-host-key`, { parent: component, provider: nodejs(), outputs: { privateKeyPem: secret(`${h} host key`), publicKey: "ssh-ed25519 AAAA host" } });
      const firewall = c.custom("hcloud:index/firewall:Firewall", `${h}-firewall`, { parent: component, provider: hcloud });
      const server = c.custom("hcloud:index/server:Server", `${h}-server`, { parent: component, provider: hcloud, protect: true, dependencies: [sshKey, firewall, runnerFirewall, hostKey] });
      const volume = c.custom("hcloud:index/volume:Volume", `${h}-data`, { parent: component, provider: hcloud, protect: true, retainOnDelete: true });
      const attachment = c.custom("hcloud:index/volumeAttachment:VolumeAttachment", `${h}-data-attachment`, { parent: component, provider: hcloud, dependencies: [server, volume], deletedWith: server });
      const endpoint = `ssh://root@203.0.113.${fleet.hosts.indexOf(h) + 10}`;
      const ready = c.custom(`${DYN}:HostReadiness`, `${h}-ready`, { parent: component, provider: nodejs(), dependencies: [attachment], inputs: { endpoint } });
      const provider = c.custom("pulumi:providers:docker", `${h}-docker`, { parent: component, dependencies: [ready, hostKey], inputs: { host: endpoint, sshOpts: '["-o","StrictHostKeyChecking=yes"]' } });
      hostOf.set(h, { component, provider, ready, endpoint });
    }
  }

  const proxies = new Map<string, string>();
  for (const h of fleet.hosts) {
    const { provider } = hostOf.get(h)!;
    const proxy = c.component("agentpod:index:HostProxy", `${h}-proxy`);
    const edge = c.custom("docker:index/network:Network", `${h}-proxy-edge`, { parent: proxy, provider });
    proxies.set(h, c.custom("docker:index/container:Container", `${h}-proxy-traefik`, { parent: proxy, provider, dependencies: [edge] }));
  }

  const backupKey = c.custom(`${DYN}:BackupKey`, "backup-key", { provider: nodejs(), protect: true, inputs: { rotation: "" }, outputs: { rotation: "", value: secret("backup key") } });
  const gates = new Map<string, string>();
  let previous: string | undefined;
  for (const h of [...fleet.hosts].sort()) {
    const { provider, endpoint } = hostOf.get(h)!;
    const backup = c.component("agentpod:index:HostBackup", `${h}-backup`);
    const job = c.custom("docker:index/container:Container", `${h}-backup`, { parent: backup, provider, dependencies: [backupKey], inputs: { envs: secret(`${h} backup env`) } });
    c.custom(`${DYN}:ContainerPidsLimit`, `${h}-backup-pids`, { parent: backup, provider: nodejs(), dependencies: [job], inputs: { dockerHost: endpoint, limit: 256 } });
    previous = c.custom(`${DYN}:HostBackupGate`, `${h}-backup-gate`, { parent: backup, provider: nodejs(), dependencies: [job, ...(previous ? [previous] : [])] });
    gates.set(h, previous);
  }

  for (const [t, h] of Object.entries(fleet.tenants)) {
    const host = hostOf.get(h)!;
    const gateway = c.component("agentpod:index:TenantGateway", t);
    const dataDir = c.custom(`${DYN}:TenantDataDirectory`, `${t}-data-dir`, { parent: gateway, provider: nodejs(), dependencies: [host.ready, gates.get(h)!], inputs: { tenant: t, host: h } });
    const network = c.custom("docker:index/network:Network", `${t}-network`, { parent: gateway, provider: host.provider, dependencies: [dataDir] });
    const volume = c.custom("docker:index/volume:Volume", `${t}-data`, { parent: gateway, provider: host.provider, dependencies: [dataDir] });
    const token = c.custom(`${DYN}:GatewayToken`, `${t}-token`, { parent: gateway, provider: nodejs(), inputs: { rotation: "" }, outputs: { rotation: "", value: secret(`${t} token`) } });
    const attachment = c.custom(`${DYN}:ProxyAttachment`, `${t}-proxy-attachment`, { parent: gateway, provider: nodejs(), dependencies: [network, proxies.get(h)!], inputs: { dockerHost: host.endpoint } });
    const config = c.custom(`${DYN}:GatewayConfigFile`, `${t}-config`, { parent: gateway, provider: nodejs(), inputs: { content: secret(`${t} config`) } });
    const container = c.custom("docker:index/container:Container", `${t}-gateway`, { parent: gateway, provider: host.provider, dependencies: [network, volume, token, attachment, config] });
    c.custom(`${DYN}:ContainerPidsLimit`, `${t}-pids`, { parent: gateway, provider: nodejs(), dependencies: [container] });
    c.custom(`${DYN}:TenantRoute`, `${t}-route`, { parent: gateway, provider: nodejs(), dependencies: [container] });
    if (fleet.target === "hetzner") {
      const cloudflare = c.defaultProvider("cloudflare", "6.22.1");
      const dns = c.component("agentpod:index:TenantDns", `${t}-dns`);
      c.custom("cloudflare:index/dnsRecord:DnsRecord", `${t}-dns-a`, { parent: dns, provider: cloudflare, dependencies: [host.component] });
      c.custom("cloudflare:index/dnsRecord:DnsRecord", `${t}-dns-aaaa`, { parent: dns, provider: cloudflare });
    }
  }
  return c.deployment();
}

const optionsOf = (fleet: FleetShape): SplitOptions => ({ fleetStack: fleet.stack, hosts: fleet.hosts, tenants: fleet.tenants });
const LOCAL: FleetShape = { stack: "local", target: "local", hosts: ["local-a", "local-b"], tenants: { alpha: "local-a", bravo: "local-b", charlie: "local-a" } };
const PROD: FleetShape = { stack: "prod", target: "hetzner", hosts: ["fsn1-a", "hel1-b"], tenants: { acme: "fsn1-a", globex: "hel1-b" } };

// ---------------------------------------------------------------------------------------------------------------
// What every split must hold
// ---------------------------------------------------------------------------------------------------------------

const withStack = (urn: string, stack: string) => urn.replace(/^urn:pulumi:.*?::/, `urn:pulumi:${stack}::`);
const providerUrnOf = (reference: string) => reference.slice(0, reference.lastIndexOf("::"));
const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
/** Resources copied into several stacks (or into none when unused) rather than moved. */
const isCopied = (r: DeploymentResource) => r.type === "pulumi:pulumi:Stack" || (r.type.startsWith("pulumi:providers:") && (nameOf(r.urn).startsWith("default") || nameOf(r.urn) === "local-engine"));

function expectSound(old: DeploymentV3Like, options: SplitOptions) {
  const split = splitDeployment(old, options);
  const placedIn = new Map<string, string[]>();
  for (const [stack, { scope, deployment }] of split.stacks) {
    expect(stackNameOf(options.fleetStack, scope)).toBe(stack);
    expect(deployment.manifest).toEqual(old.manifest);
    expect(deployment.secrets_providers).toEqual(old.secrets_providers);
    const resources = deployment.resources!;
    expect(resources[0]!.urn).toBe(`urn:pulumi:${stack}::agentpod::pulumi:pulumi:Stack::agentpod-${stack}`);
    expect(resources[0]!.outputs).toEqual({});

    // No URN of another stack, and everything a resource refers to is written before it (the engine's integrity check).
    const earlier = new Set<string>();
    const ownUrn = (urn: string) => expect(urn.startsWith(`urn:pulumi:${stack}::agentpod::`), `${urn} in ${stack}`).toBe(true);
    const before = (urn: string) => expect(earlier.has(urn), `${urn} before its user in ${stack}`).toBe(true);
    for (const r of resources) {
      ownUrn(r.urn);
      expect(earlier.has(r.urn), `${r.urn} twice`).toBe(false);
      if (r.parent) before(r.parent);
      if (r.provider) before(providerUrnOf(r.provider));
      for (const d of r.dependencies ?? []) before(d);
      for (const ds of Object.values(r.propertyDependencies ?? {})) for (const d of ds) before(d);
      if (r.deletedWith) before(r.deletedWith);
      for (const a of r.aliases ?? []) ownUrn(a);
      earlier.add(r.urn);
      placedIn.set(withStack(r.urn, "*"), [...(placedIn.get(withStack(r.urn, "*")) ?? []), stack]);

      // Moved as they are: same id, inputs and outputs as in the old stack.
      const original = old.resources!.find((o) => withStack(o.urn, stack) === r.urn);
      if (original && r.type !== "pulumi:pulumi:Stack") {
        expect(r.id).toBe(original.id);
        expect(r.inputs).toEqual(original.inputs);
        expect(r.outputs).toEqual(original.outputs);
        expect(r.protect).toBe(original.protect);
        expect(r.retainOnDelete).toBe(original.retainOnDelete);
      }
    }

    // A tenant's resources reach Docker only through the root copy of its host's provider.
    if (scope.kind === "tenant") {
      const host = options.tenants[scope.tenant]!;
      const copyUrn = `urn:pulumi:${stack}::agentpod::pulumi:providers:docker::${host}-docker`;
      for (const r of resources) {
        if (r.type === "pulumi:providers:docker") expect(r.urn).toBe(copyUrn);
        if (r.provider?.includes("pulumi:providers:docker")) expect(providerUrnOf(r.provider)).toBe(copyUrn);
      }
      const copy = resources.find((r) => r.urn === copyUrn);
      if (copy) {
        const hostProvider = old.resources!.find((o) => o.type === "pulumi:providers:docker" && nameOf(o.urn) === `${host}-docker`)!;
        expect(copy).toMatchObject({ custom: true, type: "pulumi:providers:docker", parent: resources[0]!.urn, id: hostProvider.id, inputs: hostProvider.inputs, outputs: hostProvider.outputs });
      }
    }
  }

  // Every old resource is moved into exactly one stack, or reported.
  for (const r of old.resources!) {
    if (isCopied(r)) continue;
    const stacks = placedIn.get(withStack(r.urn, "*")) ?? [];
    expect(stacks.length, `${r.urn} placed in ${stacks.join(", ")}`).toBe(split.unassigned.includes(r.urn) ? 0 : 1);
  }
  return split;
}

function resourcesOf(split: ReturnType<typeof splitDeployment>, stack: string): DeploymentResource[] {
  return split.stacks.get(stack)!.deployment.resources!;
}

// ---------------------------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------------------------

describe("splitting a local fleet's stack", () => {
  const old = singleStack(LOCAL);
  const split = expectSound(old, optionsOf(LOCAL));

  test("one stack for the fleet, one per host and one per tenant, named after the fleet", () => {
    expect([...split.stacks.keys()]).toEqual(["local", "local.host.local-a", "local.host.local-b", "local.tenant.alpha", "local.tenant.bravo", "local.tenant.charlie"]);
    expect(split.stacks.get("local.host.local-b")!.scope).toEqual({ kind: "host", host: "local-b" });
    expect(split.stacks.get("local.tenant.alpha")!.scope).toEqual({ kind: "tenant", tenant: "alpha" });
    expect(split.unassigned).toEqual([]);
  });

  test("the fleet stack keeps the backup key and the dynamic provider it needs", () => {
    expect(resourcesOf(split, "local").map((r) => r.urn)).toEqual([
      "urn:pulumi:local::agentpod::pulumi:pulumi:Stack::agentpod-local",
      "urn:pulumi:local::agentpod::pulumi:providers:pulumi-nodejs::default",
      "urn:pulumi:local::agentpod::pulumi-nodejs:dynamic/agentpod:BackupKey::backup-key",
    ]);
  });

  test("a host stack holds the server, its proxy, its backup job and a copy of the local engine's provider", () => {
    const urns = resourcesOf(split, "local.host.local-b").map((r) => r.urn.replace("urn:pulumi:local.host.local-b::agentpod::", ""));
    expect(urns).toEqual([
      "pulumi:pulumi:Stack::agentpod-local.host.local-b",
      "pulumi:providers:docker::local-engine",
      // Registered with local-a's readiness, before local-b: the old order is kept.
      "pulumi:providers:pulumi-nodejs::default",
      "agentpod:index:LocalServerHost::local-b",
      "agentpod:index:LocalServerHost$docker:index/volume:Volume::local-b-disk",
      "agentpod:index:LocalServerHost$docker:index/volume:Volume::local-b-data",
      "agentpod:index:LocalServerHost$docker:index/container:Container::local-b-server",
      "agentpod:index:LocalServerHost$pulumi-nodejs:dynamic/agentpod:HostReadiness::local-b-ready",
      "agentpod:index:LocalServerHost$pulumi:providers:docker::local-b-docker",
      "agentpod:index:HostProxy::local-b-proxy",
      "agentpod:index:HostProxy$docker:index/network:Network::local-b-proxy-edge",
      "agentpod:index:HostProxy$docker:index/container:Container::local-b-proxy-traefik",
      "agentpod:index:HostBackup::local-b-backup",
      "agentpod:index:HostBackup$docker:index/container:Container::local-b-backup",
      "agentpod:index:HostBackup$pulumi-nodejs:dynamic/agentpod:ContainerPidsLimit::local-b-backup-pids",
      "agentpod:index:HostBackup$pulumi-nodejs:dynamic/agentpod:HostBackupGate::local-b-backup-gate",
    ]);
    const resources = resourcesOf(split, "local.host.local-b");
    // The backup job's dependency on the fleet's key and the gate's on local-a's gate cross stacks: dropped.
    expect(resources.find((r) => nameOf(r.urn) === "local-b-backup" && r.custom)!.dependencies).toEqual([]);
    expect(resources.find((r) => nameOf(r.urn) === "local-b-backup-gate")!.dependencies).toEqual([
      "urn:pulumi:local.host.local-b::agentpod::agentpod:index:HostBackup$docker:index/container:Container::local-b-backup",
    ]);
    const engine = resources.find((r) => nameOf(r.urn) === "local-engine")!;
    expect(resources.find((r) => nameOf(r.urn) === "local-b-disk")!.provider).toBe(`${engine.urn}::${engine.id}`);
  });

  test("a tenant stack holds its gateway, with its host's Docker provider at the root", () => {
    const resources = resourcesOf(split, "local.tenant.charlie");
    const prefix = "urn:pulumi:local.tenant.charlie::agentpod::";
    expect(resources.map((r) => r.urn.replace(prefix, ""))).toEqual([
      "pulumi:pulumi:Stack::agentpod-local.tenant.charlie",
      "pulumi:providers:docker::local-a-docker",
      "pulumi:providers:pulumi-nodejs::default",
      "agentpod:index:TenantGateway::charlie",
      "agentpod:index:TenantGateway$pulumi-nodejs:dynamic/agentpod:TenantDataDirectory::charlie-data-dir",
      "agentpod:index:TenantGateway$docker:index/network:Network::charlie-network",
      "agentpod:index:TenantGateway$docker:index/volume:Volume::charlie-data",
      "agentpod:index:TenantGateway$pulumi-nodejs:dynamic/agentpod:GatewayToken::charlie-token",
      "agentpod:index:TenantGateway$pulumi-nodejs:dynamic/agentpod:ProxyAttachment::charlie-proxy-attachment",
      "agentpod:index:TenantGateway$pulumi-nodejs:dynamic/agentpod:GatewayConfigFile::charlie-config",
      "agentpod:index:TenantGateway$docker:index/container:Container::charlie-gateway",
      "agentpod:index:TenantGateway$pulumi-nodejs:dynamic/agentpod:ContainerPidsLimit::charlie-pids",
      "agentpod:index:TenantGateway$pulumi-nodejs:dynamic/agentpod:TenantRoute::charlie-route",
    ]);
    const hostProvider = old.resources!.find((r) => r.urn.endsWith("$pulumi:providers:docker::local-a-docker"))!;
    const copy = resources[1]!;
    expect(copy).toMatchObject({ parent: `${prefix}pulumi:pulumi:Stack::agentpod-local.tenant.charlie`, id: hostProvider.id, inputs: { host: "tcp://agentpod-local-a:2375" } });
    expect(copy.dependencies).toBeUndefined();
    const gateway = resources.find((r) => nameOf(r.urn) === "charlie-gateway")!;
    expect(gateway.provider).toBe(`${prefix}pulumi:providers:docker::local-a-docker::${hostProvider.id}`);
    // The data directory waited for the host and its backup gate: other stacks now, ordered by the CLI.
    expect(resources.find((r) => nameOf(r.urn) === "charlie-data-dir")!.dependencies).toEqual([]);
    expect(resources.find((r) => nameOf(r.urn) === "charlie-proxy-attachment")!.dependencies).toEqual([`${prefix}agentpod:index:TenantGateway$docker:index/network:Network::charlie-network`]);
    expect(gateway.propertyDependencies!.name).toHaveLength(5);
  });

  test("nothing else of the deployment changes", () => {
    const withExtra = { ...old, metadata: { integrityErrorMetadata: null }, pending_operations: [] };
    const again = splitDeployment(withExtra, optionsOf(LOCAL));
    for (const { deployment } of again.stacks.values()) expect(deployment).toMatchObject({ metadata: { integrityErrorMetadata: null }, pending_operations: [] });
  });
});

describe("splitting a Hetzner fleet's stack", () => {
  const split = expectSound(singleStack(PROD), optionsOf(PROD));

  test("the fleet stack keeps the admin keys, the deploy-runner firewall and the backup key", () => {
    expect(split.unassigned).toEqual([]);
    expect(resourcesOf(split, "prod").map((r) => nameOf(r.urn))).toEqual(["agentpod-prod", "default_1_41_0", "admin-key-0a1b2c3d4e", "deploy-runner-firewall", "default", "backup-key"]);
  });

  test("a host's server loses its dependencies on the fleet's keys and firewall, not on its own", () => {
    const server = resourcesOf(split, "prod.host.hel1-b").find((r) => r.type === "hcloud:index/server:Server")!;
    expect(server.dependencies!.map(nameOf)).toEqual(["hel1-b-firewall", "hel1-b-host-key"]);
    const attachment = resourcesOf(split, "prod.host.hel1-b").find((r) => r.type === "hcloud:index/volumeAttachment:VolumeAttachment")!;
    expect(attachment.deletedWith).toBe(server.urn);
  });

  test("a tenant stack gets its DNS records, the Cloudflare provider, and its host's SSH-reached provider", () => {
    const resources = resourcesOf(split, "prod.tenant.globex");
    expect(resources.map((r) => nameOf(r.urn))).toEqual([
      "agentpod-prod.tenant.globex",
      "hel1-b-docker",
      "default",
      "default_6_22_1",
      "globex",
      "globex-data-dir",
      "globex-network",
      "globex-data",
      "globex-token",
      "globex-proxy-attachment",
      "globex-config",
      "globex-gateway",
      "globex-pids",
      "globex-route",
      "globex-dns",
      "globex-dns-a",
      "globex-dns-aaaa",
    ]);
    expect(resources[1]!.inputs).toEqual({ host: "ssh://root@203.0.113.11", sshOpts: '["-o","StrictHostKeyChecking=yes"]' });
    // The record's dependency on the host component crosses stacks.
    expect(resources.find((r) => nameOf(r.urn) === "globex-dns-a")!.dependencies).toEqual([]);
    expect(resourcesOf(split, "prod.tenant.acme").some((r) => nameOf(r.urn) === "default_1_41_0")).toBe(false);
  });
});

describe("what the split refuses or cannot place", () => {
  test("a stack with pending operations", () => {
    const old = singleStack(LOCAL);
    expect(() => splitDeployment({ ...old, pending_operations: [{ type: "creating", resource: old.resources![3] }] }, optionsOf(LOCAL))).toThrow(
      /pending operations.*pulumi refresh.*pulumi cancel/,
    );
    const pendingDelete = old.resources!.map((r, i) => (i === 5 ? { ...r, delete: true } : r));
    expect(() => splitDeployment({ ...old, resources: pendingDelete }, optionsOf(LOCAL))).toThrow(StackSplitError);
    const pendingReplacement = old.resources!.map((r, i) => (i === 5 ? { ...r, pendingReplacement: true } : r));
    expect(() => splitDeployment({ ...old, resources: pendingReplacement }, optionsOf(LOCAL))).toThrow(/pending replacement/);
  });

  test("a tenant or a host the state has and tenants.yaml does not: all its resources are reported", () => {
    const { bravo: _, ...tenants } = LOCAL.tenants;
    const split = expectSound(singleStack(LOCAL), { fleetStack: "local", hosts: LOCAL.hosts, tenants });
    expect(split.unassigned).toHaveLength(10);
    expect(split.unassigned.every((urn) => nameOf(urn).startsWith("bravo"))).toBe(true);
    expect(split.stacks.has("local.tenant.bravo")).toBe(false);

    const withoutHost = expectSound(singleStack({ ...LOCAL, tenants: { alpha: "local-a" } }), { fleetStack: "local", hosts: ["local-a"], tenants: { alpha: "local-a" } });
    expect(withoutHost.unassigned.map(nameOf)).toEqual(expect.arrayContaining(["local-b", "local-b-docker", "local-b-proxy-traefik", "local-b-backup-gate"]));
    expect(withoutHost.unassigned.some((urn) => nameOf(urn).startsWith("local-a"))).toBe(false);
  });

  test("a tenant whose resources use another host's provider than tenants.yaml says (a half-done move)", () => {
    const split = expectSound(singleStack(LOCAL), { ...optionsOf(LOCAL), tenants: { ...LOCAL.tenants, alpha: "local-b" } });
    expect(split.unassigned.map(nameOf)).toEqual(["alpha-network", "alpha-data", "alpha-gateway"]);
  });

  test("a resource no rule names, and the children of a resource that cannot be placed", () => {
    const c = new Checkpoint("local");
    c.custom("random:index/randomPet:RandomPet", "stray");
    const odd = c.component("example:index:Thing", "thing");
    c.custom("random:index/randomPet:RandomPet", "stray-child", { parent: odd });
    const split = expectSound(c.deployment(), { fleetStack: "local", hosts: [], tenants: {} });
    expect(split.unassigned.map(nameOf)).toEqual(["stray", "thing", "stray-child"]);
  });

  test("an empty stack splits into empty stacks with their roots", () => {
    const split = expectSound({ resources: [] }, { fleetStack: "s", hosts: ["h"], tenants: { t: "h" } });
    expect([...split.stacks.values()].map((s) => s.deployment.resources!.map((r) => r.urn))).toEqual([
      ["urn:pulumi:s::agentpod::pulumi:pulumi:Stack::agentpod-s"],
      ["urn:pulumi:s.host.h::agentpod::pulumi:pulumi:Stack::agentpod-s.host.h"],
      ["urn:pulumi:s.tenant.t::agentpod::pulumi:pulumi:Stack::agentpod-s.tenant.t"],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties over random fleets
// ---------------------------------------------------------------------------------------------------------------

const hostName = fc.constantFrom("h1", "h2", "fsn1-a", "local-a", "hel1-b");
const tenantName = fc.constantFrom("acme", "globex", "hooli", "t-1", "alpha", "data", "proxy");
const fleetShape: fc.Arbitrary<FleetShape> = fc
  .record({
    stack: fc.constantFrom("local", "prod", "local-e2e"),
    target: fc.constantFrom("local" as const, "hetzner" as const),
    hosts: fc.uniqueArray(hostName, { minLength: 1, maxLength: 3 }),
    tenants: fc.uniqueArray(tenantName, { maxLength: 5 }),
    seeds: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
  })
  .map(({ stack, target, hosts, tenants, seeds }) => ({ stack, target, hosts, tenants: Object.fromEntries(tenants.map((t, i) => [t, hosts[(seeds[i] ?? 0) % hosts.length]!])) }));

/** Extra dependencies on earlier resources, anywhere in the state (dependsOn across components). */
function withExtraDependencies(deployment: DeploymentV3Like, picks: readonly [number, number][]): DeploymentV3Like {
  const resources = deployment.resources!.map((r) => ({ ...r, dependencies: [...(r.dependencies ?? [])] }));
  for (const [user, target] of picks) {
    const u = 1 + (user % (resources.length - 1));
    const t = 1 + (target % u);
    if (t < u) resources[u]!.dependencies.push(resources[t]!.urn);
  }
  return { ...deployment, resources };
}

describe("properties", () => {
  test("every resource lands in one stack, referring only to what is written before it in that stack", () => {
    fc.assert(
      fc.property(fleetShape, fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }), (fleet, picks) => {
        const split = expectSound(withExtraDependencies(singleStack(fleet), picks), optionsOf(fleet));
        expect(split.unassigned).toEqual([]);
        expect(split.stacks.size).toBe(1 + fleet.hosts.length + Object.keys(fleet.tenants).length);
      }),
      { numRuns: 150 },
    );
  });

  test("resources of tenants and hosts that tenants.yaml no longer has are reported, never placed", () => {
    fc.assert(
      fc.property(fleetShape, fc.nat(), (fleet, seed) => {
        const dropped = fleet.hosts[seed % fleet.hosts.length]!;
        const hosts = fleet.hosts.filter((h) => h !== dropped);
        const tenants = Object.fromEntries(Object.entries(fleet.tenants).filter(([, h]) => h !== dropped));
        const split = expectSound(singleStack(fleet), { fleetStack: fleet.stack, hosts, tenants });
        const droppedTenants = Object.keys(fleet.tenants).filter((t) => fleet.tenants[t] === dropped);
        // With no host left, the local engine's provider has no host stack to be copied into.
        const ownedByDropped = (name: string) => (hosts.length === 0 && name === "local-engine") || name === dropped || name.startsWith(`${dropped}-`) || droppedTenants.some((t) => name === t || name.startsWith(`${t}-`));
        for (const urn of split.unassigned) expect(ownedByDropped(nameOf(urn)), urn).toBe(true);
        for (const r of singleStack(fleet).resources!) if (!isCopied(r) && ownedByDropped(nameOf(r.urn))) expect(split.unassigned, r.urn).toContain(r.urn);
        expect(split.unassigned.length).toBeGreaterThan(0);
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The state the real engine wrote
// ---------------------------------------------------------------------------------------------------------------

describe("splitting the state the engine wrote for a local fleet in one stack (test/fixtures/engine/single-stack-local.json)", () => {
  // Exported from the old layout built by test/e2e/migrate.test.ts (`pulumi stack export`, secrets as ciphertext),
  // trimmed by test/support/stateFixture.ts; `UPDATE_ENGINE_FIXTURES=1 npx vitest run --project e2e migrate` renews it.
  const fixtureText = readFileSync(SINGLE_STACK_FIXTURE, "utf8");
  const fixture = JSON.parse(fixtureText) as { deployment: DeploymentV3Like };
  const resources = fixture.deployment.resources!;
  const root = resources.find((r) => r.type === "pulumi:pulumi:Stack")!;
  const stack = /^urn:pulumi:(.*?)::/.exec(root.urn)![1]!;
  // Who runs where, as `agentpod migrate` reads it: from the stack's outputs.
  const outputs = root.outputs as { hosts: Record<string, unknown>; tenants: Record<string, { host: string }> };
  const options: SplitOptions = {
    fleetStack: stack,
    hosts: Object.keys(outputs.hosts).sort(),
    tenants: Object.fromEntries(Object.entries(outputs.tenants).map(([tenant, t]) => [tenant, t.host])),
  };

  test("every resource is placed: none is left over, each stack refers only to its own resources", () => {
    expect(options.hosts.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(options.tenants).length).toBeGreaterThanOrEqual(2);
    const split = expectSound(fixture.deployment, options);
    expect(split.unassigned).toEqual([]);
    expect([...split.stacks.keys()].sort()).toEqual(
      [stack, ...options.hosts.map((h) => `${stack}.host.${h}`), ...Object.keys(options.tenants).map((t) => `${stack}.tenant.${t}`)].sort(),
    );
  });

  test("each tenant's resources go to its stack, each host's to its own, the backup key to the fleet's", () => {
    const split = splitDeployment(fixture.deployment, options);
    const typesIn = (name: string) => resourcesOf(split, name).map((r) => `${r.type}::${nameOf(r.urn)}`);
    expect(typesIn(stack).filter((t) => !t.startsWith("pulumi:"))).toEqual(["pulumi-nodejs:dynamic/agentpod:BackupKey::backup-key"]);
    for (const host of options.hosts) {
      const types = typesIn(`${stack}.host.${host}`);
      expect(types).toEqual(expect.arrayContaining([`agentpod:index:LocalServerHost::${host}`, `agentpod:index:HostProxy::${host}-proxy`, `agentpod:index:HostBackup::${host}-backup`, "pulumi:providers:docker::local-engine"]));
      expect(types.some((t) => t.startsWith("agentpod:index:TenantGateway"))).toBe(false);
    }
    for (const [tenant, host] of Object.entries(options.tenants)) {
      const tenantResources = resourcesOf(split, `${stack}.tenant.${tenant}`);
      // Everything under the tenant's gateway in the old state, and nothing of anyone else.
      const gatewayOf = (r: DeploymentResource) => /::agentpod::agentpod:index:TenantGateway(\$|::)/.test(r.urn);
      const underGateway = resources.filter((r) => gatewayOf(r) && (nameOf(r.urn) === tenant || nameOf(r.urn).startsWith(`${tenant}-`)));
      expect(underGateway.length).toBeGreaterThan(5);
      expect(tenantResources.filter(gatewayOf).map((r) => nameOf(r.urn))).toEqual(underGateway.map((r) => nameOf(r.urn)));
      expect(tenantResources.filter((r) => r.type === "agentpod:index:TenantGateway").map((r) => nameOf(r.urn))).toEqual([tenant]);
      // The host's Docker provider at the root, with the very inputs the host's own provider has.
      const copy = tenantResources.find((r) => r.type === "pulumi:providers:docker")!;
      const own = resources.find((r) => r.type === "pulumi:providers:docker" && nameOf(r.urn) === `${host}-docker`)!;
      expect(copy.urn).toBe(`urn:pulumi:${stack}.tenant.${tenant}::agentpod::pulumi:providers:docker::${host}-docker`);
      expect(copy.inputs).toEqual(own.inputs);
    }
  });

  test("the fixture holds no secret and nothing of the machine it came from", () => {
    expect(fixtureText).not.toMatch(/"ciphertext": "v1:|"plaintext"/);
    expect(fixtureText).not.toMatch(/\/tmp\/agentpod-|\/root\//);
    // Control: the trimming removes a secret that is kept (a provider's inputs), and the project's path.
    const sealed = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:c2VjcmV0" };
    const trimmed = JSON.stringify(
      trimmedState({ version: 3, deployment: { resources: [{ urn: "urn:pulumi:s::agentpod::pulumi:providers:docker::p", type: "pulumi:providers:docker", inputs: { host: "unix:///tmp/agentpod-x/s.sock", sshOpts: sealed } }] } }, { projectDir: "/tmp/agentpod-x" }),
    );
    expect(trimmed).toContain('"ciphertext":"(removed)"');
    expect(trimmed).toContain("unix://<project>/s.sock");
    expect(trimmed).not.toMatch(/v1:c2VjcmV0|\/tmp\/agentpod-x/);
  });
});
