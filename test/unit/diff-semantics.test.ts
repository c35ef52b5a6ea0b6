/**
 * The diff semantics of DESIGN.md, proven on what the program registers: run it on two versions of tenants.yaml
 * under mocks and compare resources (by URN) and their inputs.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { compareRuns, runFleet, serverAddresses, stableJson, type FleetRun } from "../support/mockFleet";

const BASE = `
defaults:
  image: ghcr.io/openclaw/openclaw:2026.9.6
plans:
  basic: { cpus: 1, memory: 2Gi }
  pro: { cpus: 2, memory: 4Gi, pids: 1024 }
hosts:
  - { name: fsn1-a, location: fsn1, serverType: cx42 }
  - { name: fsn1-b, location: fsn1, serverType: cx42 }
tenants:
  - name: acme
    host: fsn1-a
    plan: pro
  - name: globex
    host: fsn1-a
  - name: umbrella
    host: fsn1-b
    modelProvider: openai
  - name: stark
    host: fsn1-b
    image: ghcr.io/openclaw/openclaw:2026.9.3
`;

const run = async (yaml: string) => {
  const result = await runFleet({ tenantsYaml: yaml });
  if (result.error) throw result.error;
  return result;
};

/** Logical names of one tenant's resources: the component and its children are all prefixed by the tenant name. */
const ofTenant = (tenant: string) => (name: string) => name === tenant || name.startsWith(`${tenant}-`);

let base: FleetRun;
beforeAll(async () => {
  base = await run(BASE);
});

describe("adding a tenant", () => {
  test("creates that tenant's resources only and changes nothing else", async () => {
    const after = await run(BASE + "  - name: hooli\n    host: fsn1-a\n");
    const diff = compareRuns(base, after);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toEqual({});
    expect(diff.added.length).toBeGreaterThan(0);
    expect(diff.added.every(ofTenant("hooli"))).toBe(true);
    expect(diff.added).toEqual(
      ["hooli", "hooli-config", "hooli-dns-a", "hooli-dns-aaaa", "hooli-data", "hooli-dns", "hooli-data-dir", "hooli-gateway", "hooli-network", "hooli-pids", "hooli-proxy-attachment", "hooli-route", "hooli-token"].sort(),
    );
  });
});

describe("removing a tenant", () => {
  test("removes its resources and nothing else, and its data volume is retained", async () => {
    const after = await run(BASE.replace("  - name: globex\n    host: fsn1-a\n", ""));
    const diff = compareRuns(base, after);
    expect(diff.added).toEqual([]);
    expect(diff.changed).toEqual({});
    expect(diff.removed.every(ofTenant("globex"))).toBe(true);
    expect(diff.removed).toContain("globex-gateway");
    expect(diff.removed).toContain("globex-network");
    expect(diff.removed).toContain("globex-dns-a");
    // Deleting a resource with retainOnDelete only drops it from the state; the engine keeps the volume.
    expect(base.named("globex-data").options.retainOnDelete).toBe(true);
  });
});

describe("changing a tenant's plan", () => {
  test("alters only that tenant's container limits and pids limit, never its volume", async () => {
    const after = await run(BASE.replace("  - name: globex\n    host: fsn1-a\n", "  - name: globex\n    host: fsn1-a\n    plan: pro\n"));
    const diff = compareRuns(base, after);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toEqual({ "globex-gateway": ["cpus", "memory", "memorySwap"], "globex-pids": ["limit"] });
    expect(after.named("globex-gateway").inputs).toMatchObject({ memory: 4096, memorySwap: 4096, cpus: "2.0" });
    expect(after.named("globex-pids").inputs.limit).toBe(1024);
  });

  test("a memory-only change touches only memory, which Docker updates in place", async () => {
    const yaml = BASE.replace("pro: { cpus: 2, memory: 4Gi, pids: 1024 }", "pro: { cpus: 2, memory: 6Gi, pids: 1024 }");
    const diff = compareRuns(base, await run(yaml));
    expect(diff.changed).toEqual({ "acme-gateway": ["memory", "memorySwap"] });
  });
});

describe("changing an image", () => {
  test("the fleet default touches only the containers of tenants without their own image", async () => {
    const diff = compareRuns(base, await run(BASE.replace("image: ghcr.io/openclaw/openclaw:2026.9.6", "image: ghcr.io/openclaw/openclaw:2026.10.1")));
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toEqual({ "acme-gateway": ["image"], "globex-gateway": ["image"], "umbrella-gateway": ["image"] });
  });

  test("one tenant's image touches only its container", async () => {
    const diff = compareRuns(base, await run(BASE.replace("openclaw:2026.9.3", "openclaw:2026.9.6")));
    expect(diff.changed).toEqual({ "stark-gateway": ["image"] });
  });
});

describe("reordering, reformatting and comments", () => {
  test("change nothing at all", async () => {
    const reshaped = `# The fleet, rewritten by hand: other order, flow style, comments everywhere.
tenants:
  - { name: stark, host: fsn1-b, image: "ghcr.io/openclaw/openclaw:2026.9.3" }   # held back
  - name: umbrella
    modelProvider: openai
    host: fsn1-b
  - name: globex      # basic by default
    host: fsn1-a
  - host: fsn1-a
    plan: pro
    name: acme
hosts:
  - name: fsn1-b
    serverType: cx42
    location: fsn1
  - { location: fsn1, name: fsn1-a, serverType: cx42 }
plans:
  pro:
    memory: 4Gi
    cpus: 2
    pids: 1024
  basic: {memory: 2Gi, cpus: 1}
defaults: { image: 'ghcr.io/openclaw/openclaw:2026.9.6' }
`;
    const diff = compareRuns(base, await run(reshaped));
    expect(diff).toEqual({ added: [], removed: [], changed: {} });
  });
});

describe("adding a host", () => {
  test("creates the host and its proxy; no tenant changes", async () => {
    const diff = compareRuns(base, await run(BASE.replace("hosts:\n", "hosts:\n  - { name: nbg1-a, location: nbg1, serverType: cx42 }\n")));
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toEqual({});
    expect(diff.added.every((name) => name.startsWith("nbg1-a"))).toBe(true);
    expect(diff.added).toEqual(expect.arrayContaining(["nbg1-a-server", "nbg1-a-data", "nbg1-a-ready", "nbg1-a-docker", "nbg1-a-proxy-traefik"]));
  });
});

describe("moving a tenant to another host", () => {
  test("recreates the tenant's resources on the new host, claims its data and points its DNS there; other tenants are untouched", async () => {
    const after = await run(BASE.replace("  - name: globex\n    host: fsn1-a\n", "  - name: globex\n    host: fsn1-b\n"));
    const diff = compareRuns(base, after);
    const from = serverAddresses("fsn1-a-server");
    const to = serverAddresses("fsn1-b-server");
    expect(to.ipv4Address).not.toBe(from.ipv4Address);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);

    // Its Docker objects go through the new host's engine (a new provider: Pulumi recreates them there).
    for (const name of ["globex-gateway", "globex-network", "globex-data"]) {
      expect(base.named(name).options.provider, name).toBe("fsn1-a-docker");
      expect(after.named(name).options.provider, name).toBe("fsn1-b-docker");
    }
    // Network and container are labelled with the new host.
    for (const name of ["globex-gateway", "globex-network"]) {
      const hostLabel = (run: FleetRun) => (run.named(name).inputs.labels as Array<{ label: string; value: string }>).find((l) => l.label === "agentpod.host")?.value;
      expect([hostLabel(base), hostLabel(after)], name).toEqual(["fsn1-a", "fsn1-b"]);
    }
    // The proxy attachment and the pids limit act on the new host's engine, the attachment with its proxy.
    expect(base.named("globex-proxy-attachment").inputs).toMatchObject({ dockerHost: `ssh://root@${from.ipv4Address}`, containerId: "fsn1-a-proxy-traefik-id" });
    expect(after.named("globex-proxy-attachment").inputs).toMatchObject({ dockerHost: `ssh://root@${to.ipv4Address}`, containerId: "fsn1-b-proxy-traefik-id" });
    expect(after.named("globex-pids").inputs.dockerHost).toBe(`ssh://root@${to.ipv4Address}`);
    // Its route file is written on the new host (and removed from the old one: another host, another file).
    expect(after.named("globex-route").inputs).toMatchObject({ dockerHost: `ssh://root@${to.ipv4Address}`, shell: { address: to.ipv4Address } });
    // Its data directory is claimed on the new host.
    expect(base.named("globex-data-dir").inputs).toMatchObject({ host: "fsn1-a", shell: { address: from.ipv4Address } });
    expect(after.named("globex-data-dir").inputs).toMatchObject({ host: "fsn1-b", shell: { address: to.ipv4Address } });
    // Its DNS records point at the new host.
    expect(after.named("globex-dns-a").inputs.content).toBe(to.ipv4Address);
    expect(after.named("globex-dns-aaaa").inputs.content).toBe(to.ipv6Address);
    expect(base.named("globex-dns-a").inputs.content).toBe(from.ipv4Address);

    // Exactly these inputs change; the data volume's do not (same name, same directory on the new host's volume).
    expect(diff.changed).toEqual({
      "globex-gateway": ["labels"],
      "globex-network": ["labels"],
      // Another host, another pinned SSH key for the docker CLI operations.
      "globex-proxy-attachment": ["containerId", "dockerHost", "hostKey"],
      "globex-pids": ["dockerHost", "hostKey"],
      "globex-route": ["dockerHost", "shell"],
      // Its gateway config too: same content, written on the new host.
      "globex-config": ["dockerHost", "shell"],
      "globex-data-dir": ["host", "serverId", "shell"],
      "globex-dns-a": ["content"],
      "globex-dns-aaaa": ["content"],
    });
    // Every other resource, the other tenants' and the hosts', keeps its inputs and its provider.
    const others = after.resources.filter((r) => !ofTenant("globex")(r.name));
    expect(others.length).toBeGreaterThan(0);
    for (const resource of others) {
      const before = base.named(resource.name);
      expect(stableJson(resource.inputs), resource.name).toBe(stableJson(before.inputs));
      expect(resource.options.provider, resource.name).toBe(before.options.provider);
    }
    // The old volume is retained on the old host (never deleted by a move).
    expect(base.named("globex-data").options.retainOnDelete).toBe(true);
  });
});
