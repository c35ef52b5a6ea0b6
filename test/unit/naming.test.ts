/**
 * One naming of Docker objects (fleet/naming.ts) for the components and the policies: the names the components
 * give their objects, for any fleet prefix and any tenant and host names, are recognised by the policy pack's and
 * the engine-view check's predicate exactly when they are a tenant's data volume. Checked on the names themselves
 * (property tests) and on what the program registers under mocks.
 */
import * as docker from "@pulumi/docker";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { HostProxy } from "../../components/hostProxy";
import {
  DEFAULT_FLEET,
  FLEET_PATTERN,
  TENANT_LABEL,
  dockerNames,
  edgeNetworkName,
  isTenantDataVolume as isTenantDataVolumeByNaming,
  localServerObjectNames,
  parseTenantDataVolumeName,
  traefikContainerName,
} from "../../fleet/naming";
import { engineViewPolicies } from "../../policy/engineView";
import { VOLUME, isTenantDataVolume } from "../../policy/policies";
import { LOCAL_CONFIG, runFleet, runMocked, type FleetRun, type Registered } from "../support/mockFleet";

/** Fleet prefixes as the stack setting allows them, the default and the end-to-end tests' among them. */
const fleetPrefix = fc.oneof(fc.constant(DEFAULT_FLEET), fc.constant("e2e"), fc.stringMatching(FLEET_PATTERN));
/** Tenant and host names as tenants.yaml allows them (fleet/schema.ts, DNS_LABEL). */
const dnsLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/);

/** The engine-view check's verdict on one volume: would deleting it unretained be reported as a tenant's data loss? */
function engineViewSeesTenantVolume(inputs: Record<string, any>): boolean {
  const check = engineViewPolicies();
  const urn = "urn:pulumi:prod::agentpod::docker:index/volume:Volume::v";
  check.onEvent({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op: "delete", urn, type: VOLUME, provider: "", old: { inputs, retainOnDelete: false } } } } as unknown as EngineEvent);
  return check.violations.length === 1;
}

/** All three predicates (the naming module's, the pack's, the engine view's) on one volume's inputs. */
const verdicts = (inputs: Record<string, any>) => [isTenantDataVolumeByNaming(inputs), isTenantDataVolume(VOLUME, inputs), engineViewSeesTenantVolume(inputs)];

describe("tenant data volumes are recognised by the components' own naming", () => {
  test("dockerNames(tenant, fleet).volume, for any fleet prefix, labelled or not", () => {
    fc.assert(
      fc.property(fleetPrefix, dnsLabel, (fleet, tenant) => {
        const name = dockerNames(tenant, fleet).volume;
        expect(parseTenantDataVolumeName(name)).toEqual({ fleet, tenant });
        expect(verdicts({ name, labels: [{ label: TENANT_LABEL, value: tenant }] })).toEqual([true, true, true]);
        // A volume recorded before it had labels (ignoreChanges keeps it so): by name alone.
        expect(verdicts({ name })).toEqual([true, true, true]);
      }),
    );
  });

  test("no other name the fleet gives an object is taken for a tenant's data volume", () => {
    fc.assert(
      fc.property(fleetPrefix, dnsLabel, dnsLabel, (fleet, tenant, host) => {
        const names = dockerNames(tenant, fleet);
        const server = localServerObjectNames(fleet, host);
        for (const name of [traefikContainerName(fleet), edgeNetworkName(fleet), names.container, names.network, server.container, server.disk]) {
          expect(parseTenantDataVolumeName(name), name).toBeUndefined();
          expect(verdicts({ name }), name).toEqual([false, false, false]);
        }
      }),
    );
  });

  test("a volume with an AgentPod role is not a tenant's, whatever its name", () => {
    fc.assert(
      fc.property(fleetPrefix, dnsLabel, (fleet, host) => {
        // A local server's data volume: by name alone it could be the data of a tenant called host-<host>.
        const name = localServerObjectNames(fleet, host).data;
        expect(name).toBe(dockerNames(`host-${host}`, fleet).volume);
        const labels = [{ label: "agentpod.role", value: "host-data" }, { label: "agentpod.host", value: host }];
        expect(verdicts({ name, labels })).toEqual([false, false, false]);
      }),
    );
  });
});

/** The predicates against what each volume is, in a run: a tenant's data volume is the `<tenant>-data` child of a tenant. */
function checkVolumes(run: FleetRun, tenants: readonly string[]) {
  const volumes = run.ofType("docker:index/volume:Volume");
  const isTenants = (v: Registered) => tenants.includes(v.options.parent ?? "") && v.name === `${v.options.parent}-data`;
  expect(volumes.filter(isTenants).map((v) => v.name).sort()).toEqual(tenants.map((t) => `${t}-data`).sort());
  for (const volume of volumes) {
    const expected = isTenants(volume);
    expect(verdicts(volume.inputs), `${volume.name} (${volume.inputs.name})`).toEqual([expected, expected, expected]);
    if (expected) {
      // The same volume as recorded before it had labels.
      const { labels: _labels, ...unlabelled } = volume.inputs;
      expect(verdicts(unlabelled), `${volume.name} without labels`).toEqual([true, true, true]);
    }
  }
  return volumes;
}

describe("the volumes the program registers", () => {
  test("local target, any fleet prefix and names: exactly the tenants' data volumes are tenant data volumes", async () => {
    const hostName = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
    await fc.assert(
      fc.asyncProperty(fleetPrefix, fc.uniqueArray(hostName, { minLength: 1, maxLength: 2 }), fc.uniqueArray(dnsLabel, { minLength: 1, maxLength: 3 }), async (fleet, hosts, names) => {
        // Among the tenants, one named host-<host>: its data volume has the name of its host's own data volume.
        const tenants = [...new Set([...names, `host-${hosts[0]}`])].filter((t) => !hosts.includes(t));
        const yaml =
          `hosts:\n${hosts.map((h) => `  - { name: "${h}", location: fsn1, serverType: ccx33 }\n`).join("")}` +
          `tenants:\n${tenants.map((t, i) => `  - { name: "${t}", host: "${hosts[i % hosts.length]}", image: "agentpod/openclaw:2026.9.6" }\n`).join("")}`;
        const run = await runFleet({ tenantsYaml: yaml, stack: "local", config: { ...LOCAL_CONFIG, "agentpod:fleet": fleet } });
        if (run.error) throw run.error;
        const volumes = checkVolumes(run, tenants);
        for (const t of tenants) expect(run.named(`${t}-data`).inputs.name).toBe(dockerNames(t, fleet).volume);
        for (const h of hosts) expect(run.named(`${h}-data`).inputs.name).toBe(localServerObjectNames(fleet, h).data);
        expect(volumes.some((v) => v.inputs.name === dockerNames(`host-${hosts[0]}`, fleet).volume && v.name === `${hosts[0]}-data`)).toBe(true);
      }),
      { numRuns: 12 },
    );
  });

  test("Hetzner target: the only Docker volumes are the tenants' (a tenant may even be named like the proxy's old certificate volume)", async () => {
    const yaml = `hosts:\n  - { name: fsn1-a, location: fsn1, serverType: cx42 }\ntenants:\n  - { name: acme, host: fsn1-a }\n  - { name: traefik-certificates, host: fsn1-a }\n`;
    const run = await runFleet({ tenantsYaml: yaml });
    if (run.error) throw run.error;
    const volumes = checkVolumes(run, ["acme", "traefik-certificates"]);
    expect(volumes.map((v) => v.inputs.name).sort()).toEqual(["agentpod-acme-data", "agentpod-traefik-certificates-data"]);
  });
});

describe("the proxy's certificate store", () => {
  const proxyRun = (fleet: string | undefined) =>
    runMocked(() => {
      const provider = new docker.Provider("engine", { host: "unix:///var/run/docker.sock" });
      const proxy = new HostProxy("h-proxy", { provider, ...(fleet ? { fleet } : {}), image: "traefik:v3.7.15", tls: { kind: "http-01", email: "ops@example.com" } });
      return { container: proxy.container.name };
    });

  test("is a directory on the host's data volume, for every fleet: no Docker volume that a new server would lack", async () => {
    for (const fleet of [undefined, "agentpod", "e2e"]) {
      const run = await proxyRun(fleet);
      if (run.error) throw run.error;
      expect(run.ofType("docker:index/volume:Volume")).toEqual([]);
      expect(run.named("h-proxy-traefik").inputs.volumes).toContainEqual({ hostPath: "/mnt/agentpod/proxy", containerPath: "/letsencrypt" });
      expect(run.named("h-proxy-traefik").inputs.command).toContain("--certificatesresolvers.letsencrypt.acme.storage=/letsencrypt/acme.json");
      expect(run.named("h-proxy-traefik").inputs.name).toBe(`${fleet ?? "agentpod"}-traefik`);
    }
  });
});

