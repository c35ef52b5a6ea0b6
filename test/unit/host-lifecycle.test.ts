/**
 * Losing and replacing a host: which resources of the state died with the server (planHostReplacement, tenant
 * moves), how the checkpoint is cleaned of them (withoutResources), the host shell's transports, the host scripts
 * run for real on a temporary tenant data root, and what a replacement run registers under mocks.
 */
import { removeHost } from "../../fleet/edit";
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { ReplacementError, planHostReplacement, tenantEngineResources, withoutResources, type StateResource } from "../../cli/replacementPlan";
import { HOST_DATA_MOUNT, MIN_DOCKER_API, TENANT_DATA_ROOT, dockerApiCheckCommands, renderReadinessScript } from "../../fleet/cloudInit";
import {
  DISK_SHRINK_EXIT,
  DISK_TOO_SMALL_EXIT,
  FOREIGN_DATA_EXIT,
  digestTenantDataScript,
  ensureTenantDataScript,
  exportTenantDataScript,
  importTenantDataScript,
  listTenantDataScript,
  probeTenantDataScript,
  purgeTenantDataScript,
} from "../../fleet/hostScripts";
import { installTenantDiskCommands, renderTenantDisksScript } from "../../fleet/tenantDisks";
import { hostShellArgv, shellQuote } from "../../providers/hostShell";
import { runFleet } from "../support/mockFleet";

// ---------------------------------------------------------------------------------------------------------------
// Hand-written checkpoints
// ---------------------------------------------------------------------------------------------------------------

const DYN = "pulumi-nodejs:dynamic/agentpod";

/** A checkpoint resource list being written, with lookup by logical name. */
class StateBuilder {
  readonly resources: StateResource[] = [];
  constructor(readonly stack: string) {}

  urn(type: string, name: string) {
    return `urn:pulumi:${this.stack}::agentpod::${type}::${name}`;
  }

  add(type: string, name: string, fields: Partial<StateResource> = {}): StateResource {
    const resource: StateResource = { urn: this.urn(type, name), type, custom: !type.startsWith("agentpod:index:") && type !== "pulumi:pulumi:Stack", ...fields };
    this.resources.push(resource);
    return resource;
  }

  /** A provider, and the reference custom resources hold to it ("<urn>::<id>"). */
  provider(pkg: string, name: string, inputs: Record<string, unknown> = {}): string {
    const id = `0000-${name}-id`;
    const provider = this.add(`pulumi:providers:${pkg}`, name, { id, inputs, outputs: inputs });
    return `${provider.urn}::${id}`;
  }

  named(name: string): StateResource {
    const found = this.resources.filter((r) => r.urn.endsWith(`::${name}`));
    if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
    return found[0]!;
  }

  urnOf(...names: string[]): string[] {
    return names.map((n) => this.named(n).urn);
  }
}

/** A pinned host key (a real P-256 public key in OpenSSH form). */
const PINNED = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEk1bdHjtjHq1fVvGNz2Wre9lg54kvjVFSqbgB5d5tC6z6J34J4TSr1TbNPXvPLaAWmTuXUsd3ARaQZwAOsywgs=";
const localEndpoint = (host: string) => `unix:///run/agentpod/servers/e2e-${host}/docker.sock`;
const TENANT_ENGINE_PARTS = ["network", "data", "gateway", "proxy-attachment", "pids", "route", "config"] as const;
const tenantEngineNames = (tenant: string) => TENANT_ENGINE_PARTS.map((p) => `${tenant}-${p}`);

/** A tenant's resources as TenantGateway registers them, children of the component. */
function addTenant(state: StateBuilder, tenant: string, provider: string, endpoint: string) {
  const component = state.add("agentpod:index:TenantGateway", tenant, { parent: state.named("agentpod-local").urn });
  const parent = component.urn;
  const token = state.add(`${DYN}:GatewayToken`, `${tenant}-token`, { parent, inputs: { length: 48 } });
  const dataDir = state.add(`${DYN}:TenantDataDirectory`, `${tenant}-data-dir`, { parent, inputs: { tenant, shell: { kind: "docker-exec" } } });
  const network = state.add("docker:index/network:Network", `${tenant}-network`, { parent, provider, inputs: { name: `e2e-${tenant}` } });
  const data = state.add("docker:index/volume:Volume", `${tenant}-data`, {
    parent,
    provider,
    inputs: { name: `e2e-${tenant}-data` },
    dependencies: [dataDir.urn],
    propertyDependencies: { name: [] },
  });
  const attachment = state.add(`${DYN}:ProxyAttachment`, `${tenant}-proxy-attachment`, {
    parent,
    inputs: { network: `e2e-${tenant}`, container: "e2e-traefik", dockerHost: endpoint },
    dependencies: [network.urn],
  });
  const gateway = state.add("docker:index/container:Container", `${tenant}-gateway`, {
    parent,
    provider,
    inputs: { name: `e2e-${tenant}` },
    dependencies: [network.urn, data.urn, attachment.urn, token.urn],
    propertyDependencies: { envs: [token.urn], volumes: [data.urn], networksAdvanced: [network.urn] },
  });
  state.add(`${DYN}:ContainerPidsLimit`, `${tenant}-pids`, { parent, inputs: { container: `e2e-${tenant}`, limit: 512, dockerHost: endpoint }, dependencies: [gateway.urn] });
  state.add(`${DYN}:TenantRoute`, `${tenant}-route`, { parent, inputs: { tenant, dockerHost: endpoint, shell: { kind: "docker-exec" } }, dependencies: [gateway.urn] });
  state.add(`${DYN}:GatewayConfigFile`, `${tenant}-config`, { parent, inputs: { tenant, dockerHost: endpoint, shell: { kind: "docker-exec" } } });
}

/** A local stack with two local servers: alpha on local-a, charlie on local-b. */
function localState(): StateBuilder {
  const state = new StateBuilder("local");
  // Distinct name from the stack's project so `named` finds it; the stack resource's name is its project-stack.
  state.add("pulumi:pulumi:Stack", "agentpod-local");
  const engine = state.provider("docker", "local-engine", { host: "unix:///var/run/docker.sock" });
  for (const host of ["local-a", "local-b"]) {
    const component = state.add("agentpod:index:LocalServerHost", host, { parent: state.named("agentpod-local").urn });
    const parent = component.urn;
    const disk = state.add("docker:index/volume:Volume", `${host}-disk`, { parent, provider: engine, inputs: { name: `e2e-host-${host}-disk` } });
    const data = state.add("docker:index/volume:Volume", `${host}-data`, { parent, provider: engine, protect: true, inputs: { name: `e2e-host-${host}-data` } });
    const server = state.add("docker:index/container:Container", `${host}-server`, {
      parent,
      provider: engine,
      inputs: { name: `e2e-host-${host}` },
      dependencies: [disk.urn, data.urn],
    });
    const ready = state.add(`${DYN}:HostReadiness`, `${host}-ready`, { parent, inputs: { endpoint: localEndpoint(host), serverId: `${host}-server-id` }, dependencies: [server.urn] });
    state.add("pulumi:providers:docker", `${host}-docker`, {
      id: `0000-${host}-docker-id`,
      parent,
      inputs: { host: localEndpoint(host) },
      outputs: { host: localEndpoint(host) },
      dependencies: [ready.urn],
    });
  }
  const providerRef = (host: string) => `${state.named(`${host}-docker`).urn}::${state.named(`${host}-docker`).id}`;
  for (const host of ["local-a", "local-b"]) {
    const proxy = state.add("agentpod:index:HostProxy", `${host}-proxy`, { parent: state.named("agentpod-local").urn });
    const edge = state.add("docker:index/network:Network", `${host}-proxy-edge`, { parent: proxy.urn, provider: providerRef(host), inputs: { name: "e2e--edge" } });
    state.add("docker:index/container:Container", `${host}-proxy-traefik`, { parent: proxy.urn, provider: providerRef(host), inputs: { name: "e2e-traefik" }, dependencies: [edge.urn] });
  }
  addTenant(state, "alpha", providerRef("local-a"), localEndpoint("local-a"));
  addTenant(state, "charlie", providerRef("local-b"), localEndpoint("local-b"));
  return state;
}

const HETZNER_ADDRESS: Record<string, string> = { "fsn1-a": "203.0.113.10", "fsn1-b": "203.0.113.11" };

/** A production stack with two Hetzner servers: acme on fsn1-a, umbrella on fsn1-b. */
function hetznerState(): StateBuilder {
  const state = new StateBuilder("prod");
  state.add("pulumi:pulumi:Stack", "agentpod-prod");
  const hcloudDefault = state.provider("hcloud", "default_1_41_0");
  const cloudflareDefault = state.provider("cloudflare", "default_6_22_1");
  const commandDefault = state.provider("command", "default_1_2_1");
  for (const host of ["fsn1-a", "fsn1-b"]) {
    const component = state.add("agentpod:index:HetznerHost", host, { parent: state.named("agentpod-prod").urn });
    const parent = component.urn;
    const firewall = state.add("hcloud:index/firewall:Firewall", `${host}-firewall`, { parent, provider: hcloudDefault });
    const server = state.add("hcloud:index/server:Server", `${host}-server`, {
      parent,
      provider: hcloudDefault,
      protect: true,
      inputs: { name: `agentpod-${host}`, deleteProtection: true },
      outputs: { ipv4Address: HETZNER_ADDRESS[host] },
      dependencies: [firewall.urn],
    });
    const volume = state.add("hcloud:index/volume:Volume", `${host}-data`, { parent, provider: hcloudDefault, protect: true, inputs: { name: `agentpod-${host}-data` } });
    const attachment = state.add("hcloud:index/volumeAttachment:VolumeAttachment", `${host}-data-attachment`, {
      parent,
      provider: hcloudDefault,
      dependencies: [server.urn, volume.urn],
    });
    const ready = state.add("command:remote:Command", `${host}-ready`, { parent, provider: commandDefault, dependencies: [attachment.urn, server.urn] });
    state.add("pulumi:providers:docker", `${host}-docker`, {
      id: `0000-${host}-docker-id`,
      parent,
      inputs: { host: `ssh://root@${HETZNER_ADDRESS[host]}` },
      outputs: { host: `ssh://root@${HETZNER_ADDRESS[host]}` },
      dependencies: [ready.urn],
    });
  }
  const providerRef = (host: string) => `${state.named(`${host}-docker`).urn}::${state.named(`${host}-docker`).id}`;
  for (const host of ["fsn1-a", "fsn1-b"]) {
    const proxy = state.add("agentpod:index:HostProxy", `${host}-proxy`, { parent: state.named("agentpod-prod").urn });
    const edge = state.add("docker:index/network:Network", `${host}-proxy-edge`, { parent: proxy.urn, provider: providerRef(host) });
    state.add("docker:index/container:Container", `${host}-proxy-traefik`, { parent: proxy.urn, provider: providerRef(host), dependencies: [edge.urn] });
  }
  for (const [tenant, host] of [["acme", "fsn1-a"], ["umbrella", "fsn1-b"]] as const) {
    const provider = providerRef(host);
    const endpoint = `ssh://root@${HETZNER_ADDRESS[host]}`;
    const component = state.add("agentpod:index:TenantGateway", tenant, { parent: state.named("agentpod-prod").urn });
    const parent = component.urn;
    state.add(`${DYN}:GatewayToken`, `${tenant}-token`, { parent });
    const dataDir = state.add(`${DYN}:TenantDataDirectory`, `${tenant}-data-dir`, { parent, inputs: { tenant, host, shell: { kind: "ssh", address: HETZNER_ADDRESS[host], user: "root" } } });
    const network = state.add("docker:index/network:Network", `${tenant}-network`, { parent, provider });
    const data = state.add("docker:index/volume:Volume", `${tenant}-data`, { parent, provider, dependencies: [dataDir.urn] });
    const attachment = state.add(`${DYN}:ProxyAttachment`, `${tenant}-proxy-attachment`, { parent, inputs: { dockerHost: endpoint }, dependencies: [network.urn] });
    const gateway = state.add("docker:index/container:Container", `${tenant}-gateway`, { parent, provider, dependencies: [network.urn, data.urn, attachment.urn] });
    state.add(`${DYN}:ContainerPidsLimit`, `${tenant}-pids`, { parent, inputs: { dockerHost: endpoint }, dependencies: [gateway.urn] });
    state.add(`${DYN}:TenantRoute`, `${tenant}-route`, { parent, inputs: { tenant, dockerHost: endpoint }, dependencies: [gateway.urn] });
    state.add(`${DYN}:GatewayConfigFile`, `${tenant}-config`, { parent, inputs: { tenant, dockerHost: endpoint } });
    const dns = state.add("agentpod:index:TenantDns", `${tenant}-dns`, { parent: state.named("agentpod-prod").urn });
    state.add("cloudflare:index/dnsRecord:DnsRecord", `${tenant}-dns-a`, { parent: dns.urn, provider: cloudflareDefault });
  }
  return state;
}

const sorted = (list: readonly string[]) => [...list].sort();
const typeOf = (resources: readonly StateResource[], urn: string) => resources.find((r) => r.urn === urn)?.type;

// ---------------------------------------------------------------------------------------------------------------

describe("planHostReplacement: a lost local server", () => {
  const state = localState();
  const plan = planHostReplacement(state.resources, "local-b");

  test("forgets exactly what lived on local-b's engine: charlie's objects and local-b's proxy, nothing of local-a", () => {
    expect(sorted(plan.forget)).toEqual(sorted(state.urnOf(...tenantEngineNames("charlie"), "local-b-proxy-traefik", "local-b-proxy-edge")));
    for (const urn of plan.forget) expect(urn, urn).not.toMatch(/::(local-a|alpha)[-:]|::alpha$/);
  });

  test("never forgets host data, tenant data directories or gateway tokens", () => {
    const forgotten = new Set(plan.forget);
    for (const name of ["local-a-data", "local-b-data", "charlie-data-dir", "charlie-token", "alpha-data-dir", "alpha-token", "local-b-ready", "local-b-docker"]) {
      expect(forgotten.has(state.named(name).urn), name).toBe(false);
    }
    const types = plan.forget.map((urn) => typeOf(state.resources, urn));
    expect(types).not.toContain(`${DYN}:TenantDataDirectory`);
    expect(types).not.toContain(`${DYN}:GatewayToken`);
    expect(types).not.toContain("hcloud:index/volume:Volume");
  });

  test("replaces the server and its disk, releases nothing, and knows the endpoint", () => {
    expect(plan.replace).toEqual(state.urnOf("local-b-server", "local-b-disk"));
    expect(plan.releaseServer).toBe(false);
    expect(plan.endpoint).toBe(localEndpoint("local-b"));
  });

  test("the other host's plan is its mirror image", () => {
    const other = planHostReplacement(state.resources, "local-a");
    expect(sorted(other.forget)).toEqual(sorted(state.urnOf(...tenantEngineNames("alpha"), "local-a-proxy-traefik", "local-a-proxy-edge")));
    expect(other.replace).toEqual(state.urnOf("local-a-server", "local-a-disk"));
    expect(other.endpoint).toBe(localEndpoint("local-a"));
  });

  test("the cleaned state is consistent: no remaining resource refers to a forgotten one", () => {
    const kept = withoutResources(state.resources, plan.forget);
    expect(kept).toHaveLength(state.resources.length - plan.forget.length);
    const gone = new Set(plan.forget);
    for (const r of kept) {
      expect(gone.has(r.urn)).toBe(false);
      expect((r.dependencies ?? []).filter((d) => gone.has(d)), r.urn).toEqual([]);
      expect(Object.values(r.propertyDependencies ?? {}).flat().filter((d) => gone.has(d)), r.urn).toEqual([]);
    }
    // The claim on charlie's data survives, with its owner (the tenant component).
    expect(kept.find((r) => r.urn === state.named("charlie-data-dir").urn)).toEqual(state.named("charlie-data-dir"));
  });
});

describe("planHostReplacement: a lost Hetzner server", () => {
  const state = hetznerState();
  const plan = planHostReplacement(state.resources, "fsn1-a");

  test("replaces the server only, lifting its protection for the run", () => {
    expect(plan.replace).toEqual(state.urnOf("fsn1-a-server"));
    expect(plan.releaseServer).toBe(true);
    expect(plan.endpoint).toBe("ssh://root@203.0.113.10");
  });

  test("forgets the engine's objects, never the hcloud volume, the claims or anything of fsn1-b", () => {
    expect(sorted(plan.forget)).toEqual(sorted(state.urnOf(...tenantEngineNames("acme"), "fsn1-a-proxy-traefik", "fsn1-a-proxy-edge")));
    const forgotten = new Set(plan.forget);
    for (const name of ["fsn1-a-data", "fsn1-a-data-attachment", "fsn1-a-server", "fsn1-a-ready", "fsn1-a-firewall", "acme-data-dir", "acme-token", "acme-dns-a", "umbrella-gateway"]) {
      expect(forgotten.has(state.named(name).urn), name).toBe(false);
    }
    expect(plan.forget.map((urn) => typeOf(state.resources, urn))).not.toContain("hcloud:index/volume:Volume");
  });

  test("an unprotected server (already released) is not released again", () => {
    const resources = state.resources.map((r) => (r.urn === state.named("fsn1-b-server").urn ? { ...r, protect: false } : r));
    expect(planHostReplacement(resources, "fsn1-b").releaseServer).toBe(false);
  });
});

describe("planHostReplacement refuses", () => {
  test("to forget anything that holds data, whatever put it on the engine", () => {
    for (const make of [localState, hetznerState]) {
      const state = make();
      const host = state.stack === "local" ? "local-b" : "fsn1-a";
      const dockerProvider = `${state.named(`${host}-docker`).urn}::${state.named(`${host}-docker`).id}`;
      const keepers = state.resources.filter((r) => [`${DYN}:TenantDataDirectory`, `${DYN}:GatewayToken`, "hcloud:index/volume:Volume"].includes(r.type));
      expect(keepers.length).toBeGreaterThan(0);
      for (const keeper of keepers) {
        const resources = state.resources.map((r) => (r.urn === keeper.urn ? { ...r, provider: dockerProvider } : r));
        expect(() => planHostReplacement(resources, host), keeper.urn).toThrow(ReplacementError);
        expect(() => planHostReplacement(resources, host), keeper.urn).toThrow(keeper.urn);
      }
    }
  });

  test("a claim whose inputs name the endpoint is still not taken for an object on the engine", () => {
    const state = localState();
    // A claim whose inputs carry the endpoint is still not a Docker CLI resource: not selected, no error.
    const resources = state.resources.map((r) => (r.urn === state.named("charlie-data-dir").urn ? { ...r, inputs: { ...r.inputs, dockerHost: localEndpoint("local-b") } } : r));
    expect(planHostReplacement(resources, "local-b").forget).not.toContain(state.named("charlie-data-dir").urn);
  });

  test("an unknown host, naming it", () => {
    const state = localState();
    expect(() => planHostReplacement(state.resources, "local-z")).toThrow(ReplacementError);
    expect(() => planHostReplacement(state.resources, "local-z")).toThrow(/local-z/);
  });

  test("a host with a Docker provider but no server, naming it", () => {
    const state = localState();
    const resources = state.resources.filter((r) => r.urn !== state.named("local-b-server").urn);
    expect(() => planHostReplacement(resources, "local-b")).toThrow(ReplacementError);
    expect(() => planHostReplacement(resources, "local-b")).toThrow(/local-b/);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("withoutResources", () => {
  const u = (name: string) => `urn:pulumi:s::p::t::${name}`;

  test("removes the forgotten resources and every reference to them, and nothing else", () => {
    const resources: StateResource[] = [
      { urn: u("stack"), type: "pulumi:pulumi:Stack" },
      { urn: u("a"), type: "t", parent: u("stack"), inputs: { x: 1 } },
      { urn: u("b"), type: "t", parent: u("stack"), dependencies: [u("a"), u("c")], propertyDependencies: { p: [u("a"), u("c")], q: [u("c")] }, deletedWith: u("a"), outputs: { y: "z" } },
      { urn: u("c"), type: "t", parent: u("stack"), deletedWith: u("stack"), protect: true, extra: { kept: true } },
      { urn: u("d"), type: "t", parent: u("stack"), dependencies: [u("c")] },
    ];
    const snapshot = structuredClone(resources);
    const kept = withoutResources(resources, [u("a")]);
    expect(kept.map((r) => r.urn)).toEqual([u("stack"), u("b"), u("c"), u("d")]);
    expect(kept[1]).toEqual({ urn: u("b"), type: "t", parent: u("stack"), dependencies: [u("c")], propertyDependencies: { p: [u("c")], q: [u("c")] }, outputs: { y: "z" } });
    expect(kept[1]).not.toHaveProperty("deletedWith");
    // Untouched resources are unchanged, with no field added or dropped.
    expect(kept[0]).toEqual(snapshot[0]);
    expect(kept[2]).toEqual(snapshot[3]);
    expect(kept[3]).toEqual(snapshot[4]);
    expect(Object.keys(kept[2]!)).toEqual(Object.keys(snapshot[3]!));
    // The input list is not modified.
    expect(resources).toEqual(snapshot);
  });

  test("an empty list of forgotten resources is the identity", () => {
    const state = localState();
    expect(withoutResources(state.resources, [])).toEqual(state.resources);
  });

  test("refuses to forget a parent whose child stays", () => {
    const state = localState();
    const component = state.named("charlie").urn;
    expect(() => withoutResources(state.resources, [component])).toThrow(ReplacementError);
    expect(() => withoutResources(state.resources, [component])).toThrow(component);
    // Forgetting the parent together with all its children is fine.
    const family = state.resources.filter((r) => r.urn === component || r.parent === component).map((r) => r.urn);
    expect(withoutResources(state.resources, family).some((r) => family.includes(r.urn))).toBe(false);
  });

  test("property: the remaining resources are the complement, in order, and refer to no forgotten resource", () => {
    const arbitraryState = fc.integer({ min: 1, max: 14 }).chain((n) => {
      const urns = [u("stack"), ...Array.from({ length: n }, (_, i) => u(`r${i}`))];
      const reference = fc.constantFrom(...urns);
      const resource = (urn: string) =>
        fc.record(
          {
            dependencies: fc.uniqueArray(reference, { maxLength: 5 }),
            propertyDependencies: fc.dictionary(fc.constantFrom("a", "b", "c"), fc.uniqueArray(reference, { maxLength: 4 })),
            deletedWith: reference,
            protect: fc.boolean(),
          },
          { requiredKeys: [] },
        ).map((fields): StateResource => ({ urn, type: "t", ...(urn === urns[0] ? {} : { parent: urns[0] }), ...fields }));
      return fc.tuple(fc.tuple(...urns.map(resource)), fc.subarray(urns.slice(1)));
    });
    fc.assert(
      fc.property(arbitraryState, ([resources, forget]) => {
        const gone = new Set(forget);
        const kept = withoutResources(resources, forget);
        expect(kept.map((r) => r.urn)).toEqual(resources.map((r) => r.urn).filter((urn) => !gone.has(urn)));
        for (const r of kept) {
          const original = resources.find((o) => o.urn === r.urn)!;
          expect((r.dependencies ?? []).some((d) => gone.has(d))).toBe(false);
          expect(Object.values(r.propertyDependencies ?? {}).flat().some((d) => gone.has(d))).toBe(false);
          expect(r.deletedWith !== undefined && gone.has(r.deletedWith)).toBe(false);
          // References to kept resources survive, in order.
          expect(r.dependencies).toEqual(original.dependencies?.filter((d) => !gone.has(d)));
          expect(r.deletedWith).toEqual(original.deletedWith && !gone.has(original.deletedWith) ? original.deletedWith : undefined);
          expect(r.protect).toEqual(original.protect);
        }
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("tenantEngineResources", () => {
  test("is exactly the tenant's objects on that host's engine", () => {
    const state = localState();
    expect(sorted(tenantEngineResources(state.resources, "charlie", "local-b"))).toEqual(sorted(state.urnOf(...tenantEngineNames("charlie"))));
    expect(sorted(tenantEngineResources(state.resources, "alpha", "local-a"))).toEqual(sorted(state.urnOf(...tenantEngineNames("alpha"))));
  });

  test("is nothing when the tenant has no objects on that host", () => {
    const state = localState();
    expect(tenantEngineResources(state.resources, "alpha", "local-b")).toEqual([]);
  });

  test("refuses an unknown tenant or host", () => {
    const state = localState();
    expect(() => tenantEngineResources(state.resources, "nobody", "local-b")).toThrow(ReplacementError);
    expect(() => tenantEngineResources(state.resources, "charlie", "local-z")).toThrow(/local-z/);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("host shell transports", () => {
  test("a local server is reached with docker exec on this machine's engine, the script as one argument", () => {
    const script = "echo 'it''s' $HOME\nexit 3";
    expect(hostShellArgv({ kind: "docker-exec", engine: "unix:///var/run/docker.sock", container: "e2e-host-local-b" }, script)).toEqual({
      file: "docker",
      args: ["--host", "unix:///var/run/docker.sock", "exec", "-i", "e2e-host-local-b", "sh", "-c", script],
    });
  });

  test("a Hetzner server is reached as root over SSH, non-interactively, the script quoted for the remote shell", () => {
    const { file, args } = hostShellArgv({ kind: "ssh", address: "203.0.113.10", user: "root", hostKey: PINNED }, "echo it's $HOME");
    expect(file).toBe("ssh");
    const options = args.flatMap((arg, i) => (args[i - 1] === "-o" ? [arg] : []));
    expect(options).toContain("BatchMode=yes");
    expect(options).toContain("StrictHostKeyChecking=yes");
    expect(options).toContain(`KnownHostsCommand=/bin/echo %H ${PINNED}`);
    expect(args[args.length - 2]).toBe("root@203.0.113.10");
    expect(args[args.length - 1]).toBe(`sh -c 'echo it'\\''s $HOME'`);
    // Everything before the destination is an option with its value.
    expect(args.slice(0, -2).filter((_, i) => i % 2 === 0).every((a) => a === "-o")).toBe(true);
  });

  const awkward = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.array(fc.constantFrom("'", '"', "\\", "$", "`", "\n", " ", "\t", "*", "!", ";", "&", "|", "$(id)", "'\\''", "a", "é"), { maxLength: 20 }).map((parts) => parts.join("")),
  );
  const noNul = awkward.filter((s) => !s.includes("\0"));

  test("property: shellQuote yields exactly the string to a POSIX shell", () => {
    fc.assert(
      fc.property(noNul, (s) => {
        expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(s)}`], { encoding: "utf8" })).toBe(s);
      }),
      { numRuns: 150 },
    );
  });

  test("property: the remote command line runs the script unchanged", () => {
    fc.assert(
      fc.property(noNul, (s) => {
        const remote = hostShellArgv({ kind: "ssh", address: "203.0.113.10", user: "root", hostKey: PINNED }, `printf %s ${shellQuote(s)}`).args.at(-1)!;
        // What sshd does with the remote command: hands it to the user's shell as one string.
        expect(execFileSync("sh", ["-c", remote], { encoding: "utf8" })).toBe(s);
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("host scripts, run for real on a temporary data volume", () => {
  // Tenant disks are real: sparse images, mkfs.ext4, loop mounts on this machine (as root), unmounted in afterAll.
  const scratch = mkdtempSync(path.join(tmpdir(), "agentpod-host-scripts-"));
  chmodSync(scratch, 0o755); // the gateway's UID reaches its data through it, as through /mnt/agentpod
  afterAll(() => {
    const mounts = execFileSync("findmnt", ["-rn", "-o", "TARGET"], { encoding: "utf8" }).split("\n").filter((m) => m.startsWith(scratch));
    for (const mount of mounts.reverse()) spawnSync("umount", [mount]);
    rmSync(scratch, { recursive: true, force: true });
  });
  let roots = 0;
  /** A stand-in for the host's data volume (HOST_DATA_MOUNT), with its tenants directory. */
  const newRoot = () => {
    const root = path.join(scratch, `root-${++roots}`);
    mkdirSync(path.join(root, "tenants"), { recursive: true });
    return root;
  };
  const tenantsOf = (root: string) => path.join(root, "tenants");
  const MiB = 1024 ** 2;
  const disk = (bytes: number) => ({ bytes, container: "agentpod-unit-no-such-container" });

  /** Runs a production script with the data volume moved to `root`. */
  const run = (root: string, script: string, input?: Buffer | string) => {
    expect(script).toContain(HOST_DATA_MOUNT);
    const result = spawnSync("sh", ["-c", script.replaceAll(HOST_DATA_MOUNT, root)], { input: input ?? "", maxBuffer: 64 * 1024 * 1024 });
    return { code: result.status, stdout: result.stdout, out: result.stdout.toString("utf8"), err: result.stderr.toString("utf8") };
  };
  /** Runs a command as the gateway's UID 1000, as the gateway would. */
  const asGateway = (command: string) => spawnSync("setpriv", ["--reuid=1000", "--regid=1000", "--clear-groups", "sh", "-c", command], { encoding: "utf8" });
  const mountedAt = (dir: string) => spawnSync("mountpoint", ["-q", dir]).status === 0;
  /** Size and free bytes of the filesystem holding `dir`. */
  const df = (dir: string) => {
    const [size, avail] = execFileSync("df", ["-B1", "--output=size,avail", dir], { encoding: "utf8" }).trim().split("\n")[1]!.trim().split(/\s+/).map(Number);
    return { size: size!, avail: avail! };
  };

  test("runs as root (the scripts chown to the gateway's UID and mount disks)", () => {
    expect(process.getuid?.()).toBe(0);
  });

  test("ensure makes the tenant's data its own filesystem for UID 1000, refuses existing data, adopts it when told", () => {
    const root = newRoot();
    const dir = path.join(tenantsOf(root), "acme");
    const first = run(root, ensureTenantDataScript("acme", "refuse", disk(512 * MiB)));
    expect(first.code, first.err).toBe(0);
    expect(readlinkSync(dir)).toBe("../volumes/acme/data");
    expect([lstatSync(dir).uid, lstatSync(dir).gid]).toEqual([1000, 1000]);
    expect(mountedAt(path.join(root, "volumes", "acme"))).toBe(true);
    // The image is twice the disk (the headroom it grows in) and sparse: it takes what is written.
    expect(statSync(path.join(root, "disks", "acme.ext4")).size).toBe(1024 * MiB);
    expect(statSync(path.join(root, "disks", "acme.ext4")).blocks * 512).toBeLessThan(32 * MiB);
    const stat = statSync(dir);
    expect(stat.isDirectory()).toBe(true);
    expect([stat.uid, stat.gid]).toEqual([1000, 1000]);
    expect(stat.mode & 0o777).toBe(0o700);
    // Its own filesystem: the gateway's room is about the disk's size, not the room of the volume it lives on.
    expect(df(dir).avail).toBeLessThanOrEqual(512 * MiB);
    expect(df(dir).avail).toBeGreaterThan(400 * MiB);
    expect(df(root).avail).toBeGreaterThan(2 * 1024 * MiB);

    writeFileSync(path.join(dir, "memory.json"), "{}");
    const again = run(root, ensureTenantDataScript("acme", "refuse", disk(512 * MiB)));
    expect(again.code).toBe(FOREIGN_DATA_EXIT);
    expect(FOREIGN_DATA_EXIT).toBe(17);
    expect(again.err).toContain(dir);
    expect(readFileSync(path.join(dir, "memory.json"), "utf8")).toBe("{}");

    const adopted = run(root, ensureTenantDataScript("acme", "adopt", disk(512 * MiB)));
    expect(adopted.code, adopted.err).toBe(0);
    expect(readFileSync(path.join(dir, "memory.json"), "utf8")).toBe("{}");
    // Retained data whose disk is not mounted (a dangling link) still counts as existing data.
    expect(run(root, purgeTenantDataScript("acme")).code).toBe(0);
    mkdirSync(path.join(root, "volumes"), { recursive: true });
    symlinkSync("../volumes/ghost/data", path.join(tenantsOf(root), "ghost"));
    expect(run(root, ensureTenantDataScript("ghost", "refuse", disk(512 * MiB))).code).toBe(FOREIGN_DATA_EXIT);
  });

  test("writing past the disk fails with 'No space left on device' for that tenant only; below it, and beside it, writes succeed", () => {
    const root = newRoot();
    for (const tenant of ["acme", "globex"]) expect(run(root, ensureTenantDataScript(tenant, "refuse", disk(512 * MiB))).code).toBe(0);
    const acme = path.join(tenantsOf(root), "acme");
    const below = asGateway(`head -c ${300 * MiB} /dev/zero > ${acme}/below && sync`);
    expect(below.status, below.stderr).toBe(0); // positive control: within the quota
    const past = asGateway(`head -c ${400 * MiB} /dev/zero > ${acme}/past`);
    expect(past.status).not.toBe(0);
    expect(past.stderr).toMatch(/No space left on device/);
    // The other tenant and the volume itself keep their room.
    const other = asGateway(`head -c ${100 * MiB} /dev/zero > ${path.join(tenantsOf(root), "globex")}/work && sync`);
    expect(other.status, other.stderr).toBe(0);
    writeFileSync(path.join(root, "host-file"), Buffer.alloc(MiB, 1));
    expect(statSync(path.join(root, "host-file")).size).toBe(MiB);
  });

  test("a larger disk grows in place (same mount, same files, more room); a smaller one is refused and nothing changes", () => {
    const root = newRoot();
    const dir = path.join(tenantsOf(root), "acme");
    expect(run(root, ensureTenantDataScript("acme", "refuse", disk(512 * MiB))).code).toBe(0);
    writeFileSync(path.join(dir, "keep"), "kept");
    const before = df(dir);
    const device = execFileSync("findmnt", ["-n", "-o", "SOURCE", path.join(root, "volumes", "acme")], { encoding: "utf8" }).trim();
    const grown = run(root, ensureTenantDataScript("acme", "adopt", disk(1024 * MiB)));
    expect(grown.code, grown.err).toBe(0);
    expect(execFileSync("findmnt", ["-n", "-o", "SOURCE", path.join(root, "volumes", "acme")], { encoding: "utf8" }).trim()).toBe(device);
    expect(df(dir).avail).toBeGreaterThan(before.avail + 400 * MiB);
    expect(readFileSync(path.join(dir, "keep"), "utf8")).toBe("kept");
    // Within the image's headroom: the same image, a smaller reservation.
    expect(statSync(path.join(root, "disks", "acme.ext4")).size).toBe(1024 * MiB);

    const shrunk = run(root, ensureTenantDataScript("acme", "adopt", disk(512 * MiB)));
    expect(shrunk.code).toBe(DISK_SHRINK_EXIT);
    expect(shrunk.err).toContain("never shrinks");
    expect(statSync(path.join(root, "disks", "acme.ext4")).size).toBe(1024 * MiB);
    expect(readFileSync(path.join(dir, "keep"), "utf8")).toBe("kept");
  });

  test("a plain data directory (from before disks) is converted into a disk with owners, modes and contents; one too large stays as it was", () => {
    const root = newRoot();
    const dir = path.join(tenantsOf(root), "acme");
    mkdirSync(path.join(dir, "sessions"), { recursive: true });
    writeFileSync(path.join(dir, "sessions", "one.jsonl"), '{"turn":1}\n');
    writeFileSync(path.join(dir, "odd owner"), Buffer.from([0, 1, 2, 255]));
    chownSync(dir, 1000, 1000);
    chmodSync(dir, 0o700);
    chownSync(path.join(dir, "sessions"), 1000, 1000);
    chownSync(path.join(dir, "odd owner"), 1234, 5678);
    chmodSync(path.join(dir, "odd owner"), 0o640);
    const digestBefore = run(root, digestTenantDataScript("acme")).out;

    const converted = run(root, ensureTenantDataScript("acme", "adopt", disk(512 * MiB)));
    expect(converted.code, converted.err).toBe(0);
    expect(lstatSync(dir).isSymbolicLink()).toBe(true);
    expect(mountedAt(path.join(root, "volumes", "acme"))).toBe(true);
    expect(run(root, digestTenantDataScript("acme")).out).toBe(digestBefore);
    expect([statSync(path.join(dir, "odd owner")).uid, statSync(path.join(dir, "odd owner")).mode & 0o777]).toEqual([1234, 0o640]);
    expect(existsSync(path.join(tenantsOf(root), ".converted-acme"))).toBe(false);

    // Data larger than the disk: refused, the plain directory untouched.
    const big = path.join(tenantsOf(root), "globex");
    mkdirSync(big);
    writeFileSync(path.join(big, "large"), Buffer.alloc(600 * MiB, 7));
    const refused = run(root, ensureTenantDataScript("globex", "adopt", disk(512 * MiB)));
    expect(refused.code).toBe(DISK_TOO_SMALL_EXIT);
    expect(refused.err).toContain("does not fit");
    expect(lstatSync(big).isDirectory()).toBe(true);
    expect(statSync(path.join(big, "large")).size).toBe(600 * MiB);
  });

  test("an unmounted disk leaves the data path dangling (no directory to start a gateway on) until the boot script mounts it again", () => {
    const root = newRoot();
    const dir = path.join(tenantsOf(root), "acme");
    expect(run(root, ensureTenantDataScript("acme", "refuse", disk(512 * MiB))).code).toBe(0);
    writeFileSync(path.join(dir, "state"), "live");
    execFileSync("umount", [path.join(root, "volumes", "acme")]);
    expect(existsSync(dir)).toBe(false); // the symlink dangles: Docker cannot bind it
    expect(existsSync(path.join(root, "volumes", "acme"))).toBe(true);
    const boot = run(root, renderTenantDisksScript());
    expect(boot.code, boot.err).toBe(0);
    expect(readFileSync(path.join(dir, "state"), "utf8")).toBe("live");
  });

  test("probe prints a byte count only when the tenant has data", () => {
    const root = newRoot();
    const missing = run(root, probeTenantDataScript("acme"));
    expect(missing.code).toBe(0);
    expect(missing.out).toBe("");
    expect(run(root, ensureTenantDataScript("acme", "refuse", disk(512 * MiB))).code).toBe(0);
    writeFileSync(path.join(tenantsOf(root), "acme", "blob"), Buffer.alloc(20_000, 1));
    const present = run(root, probeTenantDataScript("acme"));
    expect(present.code).toBe(0);
    expect(present.out).toMatch(/^\d+\n$/);
    expect(Number(present.out)).toBeGreaterThanOrEqual(20_000);
  });

  test("list prints one '<bytes>\\t<name>' line per tenant's data, nothing for files or an empty root", () => {
    const root = newRoot();
    const empty = run(root, listTenantDataScript());
    expect(empty.code, empty.err).toBe(0);
    expect(empty.out).toBe("");
    expect(run(root, ensureTenantDataScript("acme", "refuse", disk(512 * MiB))).code).toBe(0);
    mkdirSync(path.join(tenantsOf(root), "globex"));
    writeFileSync(path.join(tenantsOf(root), "acme", "blob"), Buffer.alloc(5000, 1));
    writeFileSync(path.join(tenantsOf(root), "stray-file"), "not a tenant");
    const listed = run(root, listTenantDataScript());
    expect(listed.code, listed.err).toBe(0);
    const lines = listed.out.trimEnd().split("\n").map((line) => line.split("\t"));
    expect(lines.map(([, name]) => name)).toEqual(["acme", "globex"]);
    for (const line of lines) {
      expect(line).toHaveLength(2);
      expect(line[0]).toMatch(/^\d+$/);
    }
    expect(Number(lines[0]![0])).toBeGreaterThanOrEqual(5000);
  });

  test("list creates a missing root and lists nothing", () => {
    const root = path.join(scratch, `root-${++roots}`);
    const listed = run(root, listTenantDataScript());
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toBe("");
    expect(existsSync(tenantsOf(root))).toBe(true);
  });

  test("export | import copies a disk's data with owners and modes; the digests agree, and differ after one byte changes", () => {
    const source = newRoot();
    const target = newRoot();
    expect(run(source, ensureTenantDataScript("acme", "refuse", disk(512 * MiB))).code).toBe(0);
    const dir = path.join(tenantsOf(source), "acme");
    mkdirSync(path.join(dir, "sessions"));
    writeFileSync(path.join(dir, "sessions", "one.jsonl"), '{"turn":1}\n');
    writeFileSync(path.join(dir, "config.json"), JSON.stringify({ tenant: "acme" }));
    writeFileSync(path.join(dir, "odd owner"), Buffer.from([0, 1, 2, 255]));
    chownSync(path.join(dir, "sessions"), 1000, 1000);
    chownSync(path.join(dir, "sessions", "one.jsonl"), 1000, 1000);
    chownSync(path.join(dir, "config.json"), 1000, 1000);
    chownSync(path.join(dir, "odd owner"), 1234, 5678);
    chmodSync(path.join(dir, "odd owner"), 0o640);

    const exported = run(source, exportTenantDataScript("acme"));
    expect(exported.code, exported.err).toBe(0);
    const imported = run(target, importTenantDataScript("acme"), exported.stdout);
    expect(imported.code, imported.err).toBe(0);

    // A plain directory on the target: the tenant-data resource converts it into the tenant's disk there.
    const copy = path.join(tenantsOf(target), "acme");
    expect(lstatSync(copy).isDirectory()).toBe(true);
    for (const [file, uid, gid, mode] of [
      ["", 1000, 1000, 0o700],
      ["sessions", 1000, 1000, undefined],
      ["sessions/one.jsonl", 1000, 1000, undefined],
      ["config.json", 1000, 1000, undefined],
      ["odd owner", 1234, 5678, 0o640],
    ] as const) {
      const stat = statSync(path.join(copy, file));
      expect([stat.uid, stat.gid], file).toEqual([uid, gid]);
      expect(stat.mode & 0o7777, file).toBe(mode ?? statSync(path.join(dir, file)).mode & 0o7777);
    }
    expect(readFileSync(path.join(copy, "odd owner"))).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(readFileSync(path.join(copy, "sessions", "one.jsonl"), "utf8")).toBe('{"turn":1}\n');

    const digestOf = (root: string) => {
      const result = run(root, digestTenantDataScript("acme"));
      expect(result.code, result.err).toBe(0);
      return result.out;
    };
    const original = digestOf(source);
    expect(original).toMatch(/^[0-9a-f]{64}\n[0-9a-f]{64}\n$/);
    expect(digestOf(target)).toBe(original);

    // One byte of one file.
    writeFileSync(path.join(copy, "sessions", "one.jsonl"), '{"turn":2}\n');
    expect(digestOf(target)).not.toBe(original);
    writeFileSync(path.join(copy, "sessions", "one.jsonl"), '{"turn":1}\n');
    expect(digestOf(target)).toBe(original);
    // An owner.
    chownSync(path.join(copy, "config.json"), 1001, 1000);
    expect(digestOf(target)).not.toBe(original);
  });

  test("import refuses to overwrite existing data, and leaves it alone", () => {
    const source = newRoot();
    const target = newRoot();
    mkdirSync(path.join(tenantsOf(source), "acme"));
    writeFileSync(path.join(tenantsOf(source), "acme", "data"), "new");
    expect(run(target, ensureTenantDataScript("acme", "refuse", disk(512 * MiB))).code).toBe(0);
    writeFileSync(path.join(tenantsOf(target), "acme", "data"), "old");
    const exported = run(source, exportTenantDataScript("acme"));
    expect(exported.code).toBe(0);
    const refused = run(target, importTenantDataScript("acme"), exported.stdout);
    expect(refused.code).toBe(FOREIGN_DATA_EXIT);
    expect(refused.err).toContain(path.join(tenantsOf(target), "acme"));
    expect(readFileSync(path.join(tenantsOf(target), "acme", "data"), "utf8")).toBe("old");
  });

  test("purge unmounts and removes the tenant's disk and data, and only that tenant's", () => {
    const root = newRoot();
    expect(run(root, ensureTenantDataScript("acme", "refuse", disk(512 * MiB))).code).toBe(0);
    mkdirSync(path.join(tenantsOf(root), "globex", "deep"), { recursive: true });
    writeFileSync(path.join(tenantsOf(root), "globex", "deep", "file"), "globex");
    expect(run(root, purgeTenantDataScript("acme")).code).toBe(0);
    for (const gone of ["tenants/acme", "volumes/acme", "disks/acme.ext4"]) expect(existsSync(path.join(root, gone)), gone).toBe(false);
    expect(readFileSync(path.join(tenantsOf(root), "globex", "deep", "file"), "utf8")).toBe("globex");
    // Purging what is not there is not an error.
    expect(run(root, purgeTenantDataScript("acme")).code).toBe(0);
  });
});

describe("readiness script", () => {
  const commandWords = (script: string) => script.split("\n").flatMap((line) => line.split(/\|\||&&|;|\{|\}/).map((part) => part.trim().split(/\s+/)[0] ?? ""));

  test("a local server only checks that its data volume is mounted, and says so when it is not", () => {
    // (The tenant disks' boot script it installs mounts disk images, not the volume: left out here.)
    const script = renderReadinessScript().replace(installTenantDiskCommands().join("\n"), "");
    expect(HOST_DATA_MOUNT).toBe("/mnt/agentpod");
    expect(script).toContain("grep -q ' /mnt/agentpod ' /proc/mounts || {");
    expect(script).toMatch(/echo '[^']*not mounted[^']*\/mnt\/agentpod' >&2; exit 1/);
    expect(commandWords(script)).not.toContain("mount");
    expect(script).not.toContain("/etc/fstab");
    expect(script).toContain(`mkdir -p ${TENANT_DATA_ROOT}`);
    // The mount check comes before the tenant data root is created on it.
    expect(script.indexOf("/proc/mounts")).toBeLessThan(script.indexOf(`mkdir -p ${TENANT_DATA_ROOT}`));
  });

  test("a Hetzner server mounts its volume by device id, once, and records it in fstab", () => {
    const script = renderReadinessScript("/dev/disk/by-id/x");
    expect(script).toContain("grep -q ' /mnt/agentpod ' /proc/mounts || mount -o discard,defaults /dev/disk/by-id/x /mnt/agentpod");
    expect(commandWords(script)).toContain("mount");
    expect(script).toContain("/dev/disk/by-id/x /mnt/agentpod ext4");
    expect(script).toContain(">> /etc/fstab");
    expect(script).not.toContain("not mounted");
    expect(script.indexOf("mount -o")).toBeLessThan(script.indexOf(`mkdir -p ${TENANT_DATA_ROOT}`));
  });

  test("refuses a Docker engine older than API 1.44 and says so; 1.44 and later pass", () => {
    const bin = mkdtempSync(path.join(tmpdir(), "agentpod-docker-api-"));
    const check = dockerApiCheckCommands().join("\n");
    const withEngine = (api: string) => {
      // A stand-in docker CLI that answers `docker version --format ...` as an engine of that API version.
      writeFileSync(path.join(bin, "docker"), `#!/bin/sh\necho ${api}\n`, { mode: 0o755 });
      return spawnSync("sh", ["-c", check], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
    };
    try {
      for (const api of ["1.41", "1.43", "1.9"]) {
        const result = withEngine(api);
        expect(result.status, api).toBe(1);
        expect(result.stderr).toContain(`the Docker engine speaks API ${api}; AgentPod needs ${MIN_DOCKER_API} or later (Docker 25)`);
      }
      for (const api of ["1.44", "1.45", "1.51", "2.0"]) expect(withEngine(api).status, api).toBe(0);
      // After Docker answers, before the fence is installed.
      const script = renderReadinessScript();
      expect(script).toContain(check);
      expect(script.indexOf(check)).toBeGreaterThan(script.indexOf("docker info"));
      expect(script.indexOf(check)).toBeLessThan(script.indexOf("agentpod-fence"));
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

const ONE_HOST = `
hosts:
  - { name: fsn1-a, location: fsn1, serverType: cx42 }
tenants:
  - { name: acme, host: fsn1-a, image: "ghcr.io/openclaw/openclaw:2026.9.6" }
`;

describe("a replacement run under mocks", () => {
  test("releasing the server lifts its protection for the run, never the data volume's", async () => {
    const run = await runFleet({ tenantsYaml: ONE_HOST, stack: "prod", operation: { releaseServers: ["fsn1-a"] } });
    if (run.error) throw run.error;
    const server = run.named("fsn1-a-server");
    expect(server.type).toBe("hcloud:index/server:Server");
    expect(server.options.protect).toBe(false);
    expect(server.options.deleteBeforeReplace).toBe(true);
    expect(server.inputs.deleteProtection).toBe(false);
    expect(server.inputs.rebuildProtection).toBe(false);
    const volume = run.named("fsn1-a-data");
    expect(volume.type).toBe("hcloud:index/volume:Volume");
    expect(volume.options).toMatchObject({ protect: true, retainOnDelete: true });
    expect(volume.inputs.deleteProtection).toBe(true);
  });

  test("a plain run keeps the server protected", async () => {
    const run = await runFleet({ tenantsYaml: ONE_HOST, stack: "prod" });
    if (run.error) throw run.error;
    const server = run.named("fsn1-a-server");
    expect(server.options.protect).toBe(true);
    expect(server.inputs.deleteProtection).toBe(true);
    expect(server.inputs.rebuildProtection).toBe(true);
    expect(run.named("fsn1-a-data").options).toMatchObject({ protect: true, retainOnDelete: true });
  });

  test("releasing another host's server changes nothing here", async () => {
    const run = await runFleet({ tenantsYaml: ONE_HOST, stack: "prod", operation: { releaseServers: ["fsn1-z"] } });
    if (run.error) throw run.error;
    expect(run.named("fsn1-a-server").options.protect).toBe(true);
    expect(run.named("fsn1-a-server").inputs.deleteProtection).toBe(true);
  });

  test("a tenant's data claim reaches its host as root over SSH", async () => {
    const run = await runFleet({ tenantsYaml: ONE_HOST, stack: "prod" });
    if (run.error) throw run.error;
    const claim = run.named("acme-data-dir");
    expect(claim.type).toBe(`${DYN}:TenantDataDirectory`);
    expect(claim.inputs.shell).toEqual({ kind: "ssh", address: "203.0.113.10", user: "root", hostKey: `ecdsa-sha2-nistp256 ${Buffer.from("public-of-fsn1-a-host-key").toString("base64")}` });
    expect(claim.inputs.host).toBe("fsn1-a");
    expect(claim.inputs.tenant).toBe("acme");
  });
});

describe("retiring a host", () => {
  test("under mocks, a retire run unprotects that host's server and data volume; the volume stays retained", async () => {
    const run = await runFleet({ tenantsYaml: ONE_HOST, stack: "prod", operation: { retireHosts: ["fsn1-a"] } });
    if (run.error) throw run.error;
    expect(run.named("fsn1-a-server").options.protect).toBe(false);
    expect(run.named("fsn1-a-server").inputs.deleteProtection).toBe(false);
    // Forgotten, never deleted: Pulumi skips the delete (retainOnDelete) and Hetzner's own protection stays on.
    expect(run.named("fsn1-a-data").options).toMatchObject({ protect: false, retainOnDelete: true });
    expect(run.named("fsn1-a-data").inputs.deleteProtection).toBe(true);
    const local = await runFleet({ tenantsYaml: ONE_HOST.replace(/ghcr\.io\/openclaw\/openclaw/, "agentpod/openclaw"), stack: "local", operation: { retireHosts: ["fsn1-a"] } });
    if (local.error) throw local.error;
    expect(local.named("fsn1-a-data").options).toMatchObject({ protect: false, retainOnDelete: true });
    const plain = await runFleet({ tenantsYaml: ONE_HOST.replace(/ghcr\.io\/openclaw\/openclaw/, "agentpod/openclaw"), stack: "local" });
    expect(plain.named("fsn1-a-data").options).toMatchObject({ protect: true, retainOnDelete: true });
  });

  test("removeHost takes out one host entry, keeps the rest of the text, and is refused while tenants are placed on it", () => {
    const text = "hosts:\n  - { name: a, location: fsn1, serverType: ccx33 }   # first\n  - name: b\n    location: fsn1\n    serverType: ccx33\ntenants:\n  - { name: x, host: a }\n";
    const options = { file: "t.yaml", domainSuffix: "localhost" };
    const removed = removeHost(text, "b", options);
    expect(removed.ok && removed.text).toBe("hosts:\n  - { name: a, location: fsn1, serverType: ccx33 }   # first\ntenants:\n  - { name: x, host: a }\n");
    const refused = removeHost(text, "a", options);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.issues.map((i) => i.message)).toEqual(['unknown host "a". Did you mean "b"? Hosts: b.']);
    const unknown = removeHost(text, "c", options);
    expect(!unknown.ok && unknown.message).toBe('no host "c" in t.yaml');
  });
});
