/**
 * The policy pack (policy/) on the real engine: small inline programs, each violating one policy, are previewed on
 * a throwaway file-backend stack with the pack, and must be rejected with that policy's message; the real AgentPod
 * program (local target) must pass every policy. Preview only: nothing is created.
 *
 * Docker resources go through the real Docker provider plugin (preview needs no daemon round trip for them). The
 * Hetzner firewall needs the hcloud plugin, which this machine does not have: its test starts a pass-through stub
 * provider named `pulumi-resource-hcloud` (its Check returns the inputs as given, as hcloud's would for these
 * fields), so the pack sees exactly the inputs the @pulumi/hcloud SDK registers.
 */
import * as docker from "@pulumi/docker";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand, type EngineEvent, type Stack } from "@pulumi/pulumi/automation";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CACHE_DIR, PROJECT_DIR, engineEnvironment } from "../../cli/engine";
import { engineViewPolicies, policyCollector, resolvePolicyPack, type EngineViolation } from "../../policy/engineView";
import { dashboardFlags, isEveryone, portSpecIncludes, tmpfsBounded } from "../../policy/policies";
import { agentpodProgram } from "../../stack/program";
import { PROD_CONFIG, PROD_SECRETS } from "../support/mockFleet";

const POLICY_PACK = path.join(PROJECT_DIR, "policy");
const PIDS_TYPE = "pulumi-nodejs:dynamic/agentpod:ContainerPidsLimit";
const dirs: string[] = [];
beforeAll(() => void resolvePolicyPack(POLICY_PACK)); // says `npm ci --prefix policy` when the pack is not installed
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface Run {
  ok: boolean;
  violations: EngineViolation[];
  /** Violations as "policy-name: message" lines. */
  lines: string[];
  stdout: string;
}

/** A project directory of its own: Pulumi.yaml, state and, for dynamic providers, this checkout's node_modules. */
function projectDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), "agentpod-policy-"));
  dirs.push(dir);
  symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"));
  writeFileSync(path.join(dir, "Pulumi.yaml"), "name: agentpod\nruntime: nodejs\n");
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Resource plugins that accept any inputs, for packages whose real plugin is not on this machine. */
function stubPlugins(dir: string, names: string[]): string {
  const bin = path.join(dir, "stub-plugins");
  mkdirSync(bin);
  writeFileSync(
    path.join(bin, "stub.js"),
    `const { main } = require(${JSON.stringify(path.join(PROJECT_DIR, "node_modules", "@pulumi", "pulumi", "provider"))});\n` +
      "const [version, ...args] = process.argv.slice(2);\n" +
      "main({ version, check: async (_urn, _olds, news) => ({ inputs: news }), diff: async () => ({ changes: false }) }, args);\n",
  );
  for (const name of names) {
    const version = JSON.parse(readFileSync(path.join(PROJECT_DIR, "node_modules", "@pulumi", name, "package.json"), "utf8")).version;
    const plugin = path.join(bin, `pulumi-resource-${name}`);
    writeFileSync(plugin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(bin, "stub.js"))} ${version} "$@"\n`);
    chmodSync(plugin, 0o755);
  }
  return bin;
}

/** Previews `program` with the policy pack on a fresh stack, the way `agentpod preview --policy-pack` does. */
async function previewWithPolicies(
  program: () => Promise<unknown> | unknown,
  options: {
    dir?: string;
    stack?: string;
    config?: Record<string, { value: string; secret?: boolean }>;
    stubs?: string[];
    /** Runs on the stack before the preview, e.g. to import a prior state. */
    before?: (stack: Stack) => Promise<void>;
  } = {},
): Promise<Run> {
  const dir = options.dir ?? projectDir();
  const stackName = options.stack ?? "local-policy";
  const env = engineEnvironment(stackName, dir);
  const pathEntries = [...(options.stubs ? [stubPlugins(dir, options.stubs)] : []), env.PATH];
  const envVars = {
    ...env,
    PATH: pathEntries.join(path.delimiter),
    PULUMI_BACKEND_URL: `file://${path.join(dir, ".pulumi-state")}`,
    PULUMI_CONFIG_PASSPHRASE: "policy-test",
  };
  mkdirSync(path.join(dir, ".pulumi-state"), { recursive: true });
  process.env.PATH = envVars.PATH;
  const pulumiCommand = await PulumiCommand.get({ root: CACHE_DIR, skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName, projectName: "agentpod", program: async () => (await program()) as Record<string, unknown> | void },
    { workDir: dir, envVars, pulumiCommand },
  );
  if (options.config) await stack.setAllConfig(options.config);
  if (options.before) await options.before(stack);
  const policy = policyCollector();
  let ok = true;
  let stdout = "";
  try {
    const result = await stack.preview({ policyPacks: [POLICY_PACK], onEvent: (e: EngineEvent) => policy.onEvent(e) });
    stdout = result.stdout;
  } catch (error) {
    ok = false;
    stdout = String((error as Error).message);
    if (policy.mandatory().length === 0) throw error; // failed for another reason than a policy
  }
  const violations = policy.all();
  if (policy.mandatory().length > 0) ok = false;
  return { ok, violations, lines: violations.map((v) => `${v.policyName}: ${v.message}`), stdout };
}

const tenantLabels = (tenant: string) => [{ label: "agentpod.tenant", value: tenant }];
const dockerProvider = () => new docker.Provider("local-docker", { host: "unix:///var/run/docker.sock" });
const IMAGE = "agentpod/standin:1";

/**
 * What TenantGateway registers, minus what `omit` names; for programs that break one rule at a time. The tenant's
 * data directory (its disk quota) comes with it unless `omit` names "disk".
 */
function tenantGateway(provider: docker.Provider, tenant: string, overrides: Partial<docker.ContainerArgs> = {}, omit: string[] = []) {
  if (!omit.includes("disk")) new DataDirectory(`${tenant}-data-dir`, { tenant, diskBytes: 5 * 1024 ** 3 });
  const args: Record<string, unknown> = {
    name: `agentpod-${tenant}`,
    image: IMAGE,
    capabilities: { drops: ["ALL"] },
    securityOpts: ["no-new-privileges:true"],
    memory: 2048,
    memorySwap: 2048,
    readOnly: true,
    tmpfs: { "/tmp": "rw,noexec,size=64m" },
    labels: tenantLabels(tenant),
    ...overrides,
  };
  for (const key of omit) delete args[key];
  return new docker.Container(`${tenant}-gateway`, args as unknown as docker.ContainerArgs, { provider });
}

/** A TenantDataDirectory look-alike: same type token and inputs, a provider that does nothing. */
class DataDirectory extends pulumi.dynamic.Resource {
  constructor(name: string, args: { tenant: string; diskBytes: unknown }) {
    const inputs = { host: "local-a", shell: { kind: "docker-exec", engine: "unix:///var/run/docker.sock", container: "none" }, adopt: false, movedFrom: "", stack: "local", container: `agentpod-${args.tenant}`, ...args };
    super({ async create(inputs: any) { return { id: "data", outs: inputs }; } }, name, inputs, {}, "agentpod", "TenantDataDirectory");
  }
}

/** A ContainerPidsLimit look-alike: same type token and inputs, a provider that does nothing. */
class PidsLimit extends pulumi.dynamic.Resource {
  constructor(name: string, args: { container: pulumi.Input<string>; containerId: pulumi.Input<string>; limit: number }) {
    super({ async create(inputs: any) { return { id: "pids", outs: inputs }; } }, name, { dockerHost: "unix:///var/run/docker.sock", ...args }, {}, "agentpod", "ContainerPidsLimit");
  }
}

describe("policy pack on the real engine", () => {
  test("a tenant gateway without limits, capability drop or no-new-privileges is rejected", async () => {
    const run = await previewWithPolicies(() => {
      const provider = dockerProvider();
      const c = tenantGateway(provider, "acme", { capabilities: { drops: ["NET_RAW"] }, securityOpts: ["no-new-privileges:false"], memorySwap: -1 }, ["memory"]);
      new PidsLimit("acme-pids", { container: c.name, containerId: c.id, limit: 512 });
    });
    expect(run.ok).toBe(false);
    const hardened = run.lines.filter((l) => l.startsWith("tenant-gateway-hardened: "));
    expect(hardened).toEqual([
      "tenant-gateway-hardened: Tenant gateway container agentpod-acme: no memory limit: set `memory` (MiB) from the tenant's plan, so one tenant cannot exhaust the host's memory. Change it in components/tenantGateway.ts (TenantGateway.createContainer).",
      "tenant-gateway-hardened: Tenant gateway container agentpod-acme: `memorySwap` is -1 (unlimited swap): set it equal to `memory` (no swap). Change it in components/tenantGateway.ts (TenantGateway.createContainer).",
      'tenant-gateway-hardened: Tenant gateway container agentpod-acme: capabilities are not dropped: set `capabilities: { drops: ["ALL"] }` (the gateway needs none). Change it in components/tenantGateway.ts (TenantGateway.createContainer).',
      'tenant-gateway-hardened: Tenant gateway container agentpod-acme: no-new-privileges is not set: add "no-new-privileges:true" to `securityOpts`. Change it in components/tenantGateway.ts (TenantGateway.createContainer).',
    ]);
    expect(run.violations.every((v) => v.policyName === "tenant-gateway-hardened" && v.enforcementLevel === "mandatory")).toBe(true);
  });

  test("a tenant gateway with a writable root, or an unbounded tmpfs, is rejected; read-only with bounded tmpfs passes", async () => {
    const run = await previewWithPolicies(() => {
      const provider = dockerProvider();
      const gateways = [
        tenantGateway(provider, "acme", {}, ["readOnly"]),
        tenantGateway(provider, "globex", { readOnly: false, tmpfs: { "/tmp": "rw,noexec", "/home/node/.cache": "size=64m" } }),
        tenantGateway(provider, "initech"), // positive control: read-only root, bounded tmpfs
      ];
      gateways.forEach((c, i) => new PidsLimit(`pids-${i}`, { container: c.name, containerId: c.id, limit: 512 }));
      // Not a tenant's container: the rule does not apply to it.
      new docker.Container("proxy", { name: "agentpod-traefik", image: IMAGE, labels: [{ label: "agentpod.role", value: "proxy" }] }, { provider });
    });
    expect(run.ok).toBe(false);
    expect(run.lines.sort()).toEqual([
      "tenant-gateway-read-only-root: Tenant gateway container agentpod-acme has a writable root filesystem: set `readOnly: true` (OpenClaw writes only its state directory and the tmpfs of fleet/gateway.ts GATEWAY_TMPFS). Change it in components/tenantGateway.ts (TenantGateway.createContainer).",
      'tenant-gateway-read-only-root: Tenant gateway container agentpod-globex has a writable root filesystem: set `readOnly: true` (OpenClaw writes only its state directory and the tmpfs of fleet/gateway.ts GATEWAY_TMPFS). Change it in components/tenantGateway.ts (TenantGateway.createContainer).',
      'tenant-gateway-read-only-root: Tenant gateway container agentpod-globex mounts a tmpfs at /tmp without a size limit ("rw,noexec"): add "size=..." (see GATEWAY_TMPFS in fleet/gateway.ts).',
    ]);
  });

  test("a tenant gateway without a pids limit, or with a limit of 0, is rejected", async () => {
    const run = await previewWithPolicies(() => {
      const provider = dockerProvider();
      tenantGateway(provider, "acme");
      const globex = tenantGateway(provider, "globex");
      new PidsLimit("globex-pids", { container: globex.name, containerId: globex.id, limit: 0 });
      const initech = tenantGateway(provider, "initech"); // limited by name: passes
      new PidsLimit("initech-pids", { container: "agentpod-initech", containerId: initech.id, limit: 256 });
    });
    expect(run.ok).toBe(false);
    expect(run.lines.sort()).toEqual([
      "tenant-gateway-pids-limit: Tenant gateway container agentpod-acme has no pids limit. Add a ContainerPidsLimit (providers/pidsLimit.ts) with `container: <the container>.name` and `limit: plan.pids` next to it in components/tenantGateway.ts (TenantGateway.createContainer).",
      "tenant-gateway-pids-limit: Tenant gateway container agentpod-globex has a pids limit of 0: set `limit` to a positive whole number (the plan's `pids`, see fleet/catalog.ts).",
    ]);
  });

  test("a tenant gateway without a disk quota, or with a quota of 0, is rejected; one with its data directory passes", async () => {
    const run = await previewWithPolicies(() => {
      const provider = dockerProvider();
      for (const tenant of ["acme", "globex", "initech"]) {
        const gateway = tenantGateway(provider, tenant, {}, tenant === "initech" ? [] : ["disk"]);
        new PidsLimit(`${tenant}-pids`, { container: gateway.name, containerId: gateway.id, limit: 512 });
      }
      new DataDirectory("globex-data-dir", { tenant: "globex", diskBytes: 0 });
      // Another tenant's data directory does not count for acme.
      new DataDirectory("stray-data-dir", { tenant: "stray", diskBytes: 1024 ** 3 });
    });
    expect(run.ok).toBe(false);
    expect(run.lines.sort()).toEqual([
      "tenant-gateway-disk-quota: Tenant gateway container agentpod-acme has no disk quota: no TenantDataDirectory for tenant acme. Its data must live on a disk of its own (providers/tenantData.ts, through the host's prepareTenantData with `diskBytes: plan.diskBytes`), or it can fill the host's data volume.",
      "tenant-gateway-disk-quota: Tenant gateway container agentpod-globex has a disk quota of 0 bytes: set `diskBytes` of its TenantDataDirectory to the plan's disk, a positive whole number of bytes (fleet/catalog.ts).",
    ]);
  });

  test("a tenant data volume that can be replaced or is not retained is rejected", async () => {
    const run = await previewWithPolicies(() => {
      const provider = dockerProvider();
      // Replaceable (labels not ignored) but retained.
      new docker.Volume("acme-data", { name: "agentpod-acme-data", labels: tenantLabels("acme") }, { provider, retainOnDelete: true });
      // Not replaceable, but removing the tenant would delete it.
      new docker.Volume("globex-data", { name: "agentpod-globex-data", labels: tenantLabels("globex") }, { provider, ignoreChanges: ["labels", "driver", "driverOpts"] });
      // Not a tenant's: no rule applies.
      new docker.Volume("scratch", { name: "scratch" }, { provider });
      // Another fleet's tenant volume, recorded before it had labels: recognised by its name (fleet/naming.ts).
      new docker.Volume("initech-data", { name: "e2e-initech-data" }, { provider });
      // That fleet's certificates and a local server's data volume (named like the data of a tenant "host-local-a",
      // but labelled with its role) are not tenant data.
      new docker.Volume("certificates", { name: "e2e-traefik-certificates" }, { provider });
      new docker.Volume("local-a-data", { name: "e2e-host-local-a-data", labels: [{ label: "agentpod.role", value: "host-data" }, { label: "agentpod.host", value: "local-a" }] }, { provider });
    });
    expect(run.ok).toBe(false);
    expect(run.lines.sort()).toEqual([
      'tenant-data-volume-kept: Tenant data volume agentpod-acme-data does not ignore changes to labels, driver, driverOpts: any such change replaces the volume, and replacing a fixed-name Docker volume deletes the tenant\'s data. Keep `ignoreChanges: ["labels","driver","driverOpts"]` (and `retainOnDelete: true`) on it in components/tenantGateway.ts (createDataVolume).',
      'tenant-data-volume-kept: Tenant data volume e2e-initech-data does not ignore changes to labels, driver, driverOpts: any such change replaces the volume, and replacing a fixed-name Docker volume deletes the tenant\'s data. Keep `ignoreChanges: ["labels","driver","driverOpts"]` (and `retainOnDelete: true`) on it in components/tenantGateway.ts (createDataVolume).',
      "tenant-data-volume-retained: Tenant data volume agentpod-globex-data has no retainOnDelete: removing the tenant from tenants.yaml would delete its data. Keep `retainOnDelete: true` on it in components/tenantGateway.ts (createDataVolume).",
      "tenant-data-volume-retained: Tenant data volume e2e-initech-data has no retainOnDelete: removing the tenant from tenants.yaml would delete its data. Keep `retainOnDelete: true` on it in components/tenantGateway.ts (createDataVolume).",
    ]);
  });

  test("removing a tenant whose data volume was recorded without retainOnDelete is rejected", async () => {
    // A prior state (imported: nothing exists on the engine) with two tenant volumes, one retained and one not; the
    // program no longer declares either, so the engine plans to delete both. Only the unretained one is a loss.
    const stackName = "local-policy";
    const root = `urn:pulumi:${stackName}::agentpod::pulumi:pulumi:Stack::agentpod-${stackName}`;
    const provider = `urn:pulumi:${stackName}::agentpod::pulumi:providers:docker::local-docker`;
    const volume = (tenant: string, retainOnDelete: boolean) => {
      const props = { name: `agentpod-${tenant}-data`, driver: "local", labels: tenantLabels(tenant) };
      return {
        urn: `urn:pulumi:${stackName}::agentpod::docker:index/volume:Volume::${tenant}-data`,
        custom: true,
        id: props.name,
        type: "docker:index/volume:Volume",
        inputs: props,
        outputs: props,
        parent: root,
        provider: `${provider}::provider-id`,
        ...(retainOnDelete ? { retainOnDelete } : {}),
      };
    };
    const host = { host: "unix:///var/run/docker.sock" };
    const run = await previewWithPolicies(() => void dockerProvider(), {
      stack: stackName,
      before: (stack) =>
        stack.importStack({
          version: 3,
          deployment: {
            manifest: { time: new Date().toISOString(), magic: "", version: "" },
            resources: [
              { urn: root, custom: false, type: "pulumi:pulumi:Stack" },
              { urn: provider, custom: true, id: "provider-id", type: "pulumi:providers:docker", inputs: host, outputs: host, parent: root },
              volume("acme", false),
              volume("globex", true),
            ],
          },
        }),
    });
    expect(run.ok).toBe(false);
    expect(run.lines).toEqual([
      "tenant-data-volume-retained: This delete would DELETE tenant data volume agentpod-acme-data and the tenant's data on the host: its state has no retainOnDelete. Set `retainOnDelete: true` on the volume (components/tenantGateway.ts, createDataVolume) and run `up` once without removing the tenant, so the state records it; then remove the tenant.",
    ]);
  });

  test("a firewall rule that opens SSH to the world is rejected", async () => {
    const dir = projectDir();
    const run = await previewWithPolicies(
      () => {
        const rule = (port: string, sourceIps: string[], description: string) => ({ direction: "in", protocol: "tcp", port, sourceIps, description });
        new hcloud.Firewall("fsn1-a-firewall", {
          name: "agentpod-fsn1-a",
          rules: [
            rule("22", ["203.0.113.0/24"], "SSH from admin networks only"), // fine
            rule("443", ["0.0.0.0/0", "::/0"], "HTTPS"), // fine
            rule("20-30", ["::/0"], "a range with 22"),
          ],
        });
        new hcloud.Firewall("fsn1-b-firewall", { name: "agentpod-fsn1-b", rules: [rule("22", ["0.0.0.0/0"], "SSH")] });
      },
      { dir, stubs: ["hcloud"], config: { "hcloud:token": { value: "x".repeat(64), secret: true } } },
    );
    expect(run.ok).toBe(false);
    expect(run.lines.sort()).toEqual([
      "no-public-ssh: Firewall agentpod-fsn1-a rule 3 (tcp port 20-30, \"a range with 22\") opens SSH to ::/0. Allow port 22 only from admin networks: list them in agentpod:adminCidrs (e.g. `pulumi config set --path 'agentpod:adminCidrs[0]' 203.0.113.0/24`) and remove ::/0 from the rule's sourceIps.",
      "no-public-ssh: Firewall agentpod-fsn1-b rule 1 (tcp port 22, \"SSH\") opens SSH to 0.0.0.0/0. Allow port 22 only from admin networks: list them in agentpod:adminCidrs (e.g. `pulumi config set --path 'agentpod:adminCidrs[0]' 203.0.113.0/24`) and remove 0.0.0.0/0 from the rule's sourceIps.",
    ]);
  });

  test("a Traefik with its dashboard or API exposed is rejected", async () => {
    const run = await previewWithPolicies(() => {
      const provider = dockerProvider();
      const traefik = (name: string, args: Partial<docker.ContainerArgs>) =>
        new docker.Container(name, { name, image: "agentpod/traefik:v3.7.15", labels: [{ label: "agentpod.role", value: "proxy" }], ...args }, { provider });
      traefik("insecure", { command: ["--providers.docker=true", "--api.insecure=true"] });
      traefik("dashboard", { command: ["--api.dashboard=true"] });
      traefik("routed", {
        command: ["--api.dashboard=false"], // fine on its own: what fleet/traefik.ts sets
        labels: [{ label: "traefik.http.routers.dash.service", value: "api@internal" }],
      });
    });
    expect(run.ok).toBe(false);
    expect(run.lines.sort()).toEqual([
      "traefik-dashboard-not-exposed: Container dashboard runs Traefik with `--api.dashboard=true` (command), which serves the dashboard. Remove it from fleet/traefik.ts (traefikFlags), which keeps `--api.dashboard=false`; the fleet needs no dashboard.",
      "traefik-dashboard-not-exposed: Container insecure runs Traefik with `--api.insecure=true` (command), which serves the API and dashboard without authentication on entrypoint `traefik` (:8080). Remove it from fleet/traefik.ts (traefikFlags), which keeps `--api.dashboard=false`; the fleet needs no dashboard.",
      "traefik-dashboard-not-exposed: Container routed has the label traefik.http.routers.dash.service=api@internal, which publishes Traefik's API and dashboard through a router. Remove the label: tenant routers point at their own gateway service only (fleet/routes.ts).",
    ]);
  });

  test("a container given the Docker API is rejected, read-only or not; other host paths are fine", async () => {
    const run = await previewWithPolicies(() => {
      const provider = dockerProvider();
      const container = (name: string, args: Partial<docker.ContainerArgs>) => new docker.Container(name, { name, image: "agentpod/traefik:v3.7.15", ...args }, { provider });
      container("socket-ro", { volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true }] });
      container("run-dir", { mounts: [{ type: "bind", source: "/run/docker", target: "/host-docker" }] });
      // Positive control: the proxy's route directory, as HostProxy mounts it.
      container("routes", { volumes: [{ hostPath: "/etc/agentpod/traefik/routes", containerPath: "/etc/traefik/routes", readOnly: true }] });
    });
    expect(run.ok).toBe(false);
    expect(run.lines.filter((l) => l.startsWith("no-docker-api-in-containers")).sort()).toEqual([
      "no-docker-api-in-containers: Container run-dir mounts /run/docker, which gives it the host's Docker API (root on the host). Remove the mount: nothing in a container needs the engine.",
      "no-docker-api-in-containers: Container socket-ro mounts /var/run/docker.sock, which gives it the host's Docker API (root on the host). Remove the mount: nothing in a container needs the engine.",
    ]);
  });

  test("the AgentPod program (local target) passes every policy", async () => {
    const stack = "local-policy";
    // Its own fleet prefix: the servers of a developer's own local stack may be running on this machine.
    const stackFile = readFileSync(path.join(PROJECT_DIR, "Pulumi.local.yaml"), "utf8").replace(/^encryptionsalt:.*$/m, "").replace("config:\n", "config:\n  agentpod:fleet: policytest\n");
    const dir = projectDir({ [`Pulumi.${stack}.yaml`]: stackFile, "tenants.local.yaml": readFileSync(path.join(PROJECT_DIR, "tenants.local.yaml"), "utf8") });
    const run = await previewWithPolicies(() => agentpodProgram({ projectDir: dir }), { dir, stack });
    expect(run.lines).toEqual([]); // no violation, and no advisory "can't run during preview" either
    expect(run.ok).toBe(true);
    // The pack did run, on the resources it is about.
    expect(run.stdout).toMatch(/Policies:\s*\n\s*✅ agentpod@v0\.1\.0 \(local: .*policy\)/);
    expect(run.stdout).toMatch(/docker:index:Container\s+alpha-gateway\s+create/);
    expect(run.stdout).toContain(`${PIDS_TYPE} alpha-pids create`);
  });

  test("the AgentPod program (Hetzner target, tenants.yaml) passes every policy", async () => {
    // Hetzner, Cloudflare and remote commands through pass-through stubs; the Docker resources through the real
    // plugin (their hosts' addresses are unknown in a first preview, so nothing connects anywhere).
    const stack = "prod-policy";
    const dir = projectDir({ "tenants.yaml": readFileSync(path.join(PROJECT_DIR, "tenants.yaml"), "utf8") });
    const config = Object.fromEntries(Object.entries(PROD_CONFIG).map(([key, value]) => [key, { value, secret: PROD_SECRETS.includes(key) }]));
    const run = await previewWithPolicies(() => agentpodProgram({ projectDir: dir }), { dir, stack, config, stubs: ["hcloud", "cloudflare", "command"] });
    expect(run.lines).toEqual([]);
    expect(run.ok).toBe(true);
    expect(run.stdout).toMatch(/hcloud:index:Firewall\s+\S+-firewall\s+create/);
    expect(run.stdout).toMatch(/docker:index:Container\s+acme-gateway\s+create/);
  });
});

describe("policy helpers", () => {
  test("a tmpfs is bounded by a size option only", () => {
    expect(["rw,noexec,size=64m", "size=10%", " size=1048576 ,mode=0700", "size=1.5g"].map(tmpfsBounded)).toEqual([true, true, true, true]);
    expect(["rw,noexec", "", "nr_inodes=100", "size=", "size=lots", undefined, 64].map(tmpfsBounded)).toEqual([false, false, false, false, false, false, false]);
  });

  test("port specs and open sources", () => {
    expect(["22", "1-1024", "20-30", "any", "", undefined].map((p) => portSpecIncludes(p, 22))).toEqual([true, true, true, true, true, true]);
    expect(["2222", "23-80", "80", "443"].map((p) => portSpecIncludes(p, 22))).toEqual([false, false, false, false]);
    expect(["0.0.0.0/0", "::/0", "0::0/0", "10.0.0.0/8", "203.0.113.0/24", "2001:db8::/48"].map(isEveryone)).toEqual([true, true, true, false, false, false]);
  });

  test("Traefik flags that expose the API or dashboard", () => {
    expect(dashboardFlags(["--api.insecure=true", "--api.dashboard=false", "--api.insecure", "false", "--api", "--api.dashboard", "TRUE", "traefik --api=true"])).toEqual([
      "--api.insecure=true",
      "--api",
      "--api.dashboard TRUE",
      "--api=true",
    ]);
    expect(dashboardFlags(["--api.dashboard=false", "--ping=true", "--providers.docker=true"])).toEqual([]);
  });

  test("the engine-view check flags a delete of a tenant volume that is not retained, and nothing else", () => {
    const check = engineViewPolicies();
    const volume = "docker:index/volume:Volume";
    const event = (op: string, urn: string, state: Record<string, any>) =>
      ({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op, urn, type: volume, provider: "", old: state, new: op === "delete" ? undefined : state } } }) as unknown as EngineEvent;
    const inputs = (name: string) => ({ name, labels: [{ label: "agentpod.tenant", value: name }] });
    check.onEvent(event("delete", "urn:pulumi:prod::agentpod::docker:index/volume:Volume::acme-data", { inputs: inputs("agentpod-acme-data"), retainOnDelete: false }));
    check.onEvent(event("delete", "urn:pulumi:prod::agentpod::docker:index/volume:Volume::globex-data", { inputs: inputs("agentpod-globex-data"), retainOnDelete: true }));
    check.onEvent(event("same", "urn:pulumi:prod::agentpod::docker:index/volume:Volume::certs", { inputs: { name: "agentpod-traefik-certificates" } }));
    expect(check.violations.map((v) => v.message)).toEqual([
      "This delete would DELETE tenant data volume agentpod-acme-data and the tenant's data on the host: its state has no retainOnDelete. Set `retainOnDelete: true` on the volume (components/tenantGateway.ts, createDataVolume) and run `up` once without removing the tenant, so the state records it; then remove the tenant.",
    ]);
  });
});
