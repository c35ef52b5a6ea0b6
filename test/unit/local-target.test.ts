/** The local target under mocks: each host a local server on this machine's engine, the production components on its own engine. */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { LOCAL_ACME_SERVER_CA } from "../../stack/program";
import { dockerNames } from "../../fleet/gateway";
import { defaultHostAddress, hostAddresses, localServerEndpoint } from "../../fleet/localServers";
import { edgeNetworkName } from "../../fleet/traefik";
import { LOCAL_CONFIG, runFleet } from "../support/mockFleet";

const TWO_HOSTS = `
hosts:
  - { name: local-a, location: fsn1, serverType: ccx33 }
  - { name: local-b, location: fsn1, serverType: ccx33 }
tenants:
  - { name: alpha, host: local-a, image: "agentpod/openclaw:2026.9.6" }
  - { name: bravo, host: local-b, image: "agentpod/openclaw:2026.9.6" }
`;

describe("local target", () => {
  test("each host is a server on this machine's engine: its own engine, disk, loopback address and a retained data volume", async () => {
    const run = await runFleet({ tenantsYaml: TWO_HOSTS, stack: "local", config: { ...LOCAL_CONFIG, "agentpod:fleet": "demo", "agentpod:httpPort": "18999" } });
    if (run.error) throw run.error;
    expect(run.named("local-engine").inputs.host).toBe("unix:///var/run/docker.sock");
    const server = run.named("local-b-server");
    expect(server.options.provider).toBe("local-engine");
    expect(server.inputs.name).toBe("demo-host-local-b");
    expect(server.inputs.ports).toEqual([
      { internal: 18999, external: 18999, ip: defaultHostAddress("local-b") },
      { internal: 8443, external: 8443, ip: defaultHostAddress("local-b") },
    ]);
    expect(server.inputs.volumes).toEqual(
      expect.arrayContaining([
        { volumeName: "demo-host-local-b-disk", containerPath: "/var/lib/docker" },
        { volumeName: "demo-host-local-b-data", containerPath: "/mnt/agentpod" },
      ]),
    );
    expect(server.options.deleteBeforeReplace).toBe(true);
    // The data volume outlives the server: never deleted, never replaced.
    expect(run.named("local-b-data").options).toMatchObject({ protect: true, retainOnDelete: true, ignoreChanges: ["labels", "driver", "driverOpts"] });
    expect(run.named("local-b-disk").options.protect).toBeUndefined();
    // The host's own engine is reached only once its readiness gate has passed.
    expect(run.named("local-b-ready").inputs.endpoint).toBe(localServerEndpoint("demo", "local-b"));
    expect(run.named("local-b-docker").inputs.host).toBe(localServerEndpoint("demo", "local-b"));
    expect(run.named("bravo-gateway").options.provider).toBe("local-b-docker");
    expect(run.named("bravo-proxy-attachment").inputs.dockerHost).toBe(localServerEndpoint("demo", "local-b"));
    expect(run.outputs.hosts["local-b"].ipv4).toBe(defaultHostAddress("local-b"));
    expect(run.ofType("cloudflare:index/dnsRecord:DnsRecord")).toEqual([]);
    expect(run.ofType("hcloud:index/server:Server")).toEqual([]);
  });

  test("tenant data is a directory on the host's data volume, claimed by the stack, exactly as on Hetzner", async () => {
    const run = await runFleet({ tenantsYaml: TWO_HOSTS, stack: "local", config: { ...LOCAL_CONFIG, "agentpod:fleet": "demo" } });
    if (run.error) throw run.error;
    expect(run.named("alpha-data").inputs).toMatchObject({ name: "demo-alpha-data", driver: "local", driverOpts: { type: "none", o: "bind", device: "/mnt/agentpod/tenants/alpha" } });
    const claim = run.named("alpha-data-dir");
    expect(claim.inputs).toMatchObject({ tenant: "alpha", host: "local-a", adopt: false, movedFrom: "", shell: { kind: "docker-exec", container: "demo-host-local-a" } });
    // Its own filesystem of its plan's disk (basic: 5Gi); a conversion stops and starts this container.
    expect(claim.inputs).toMatchObject({ diskBytes: 5 * 1024 ** 3, container: "demo-alpha" });
    expect(run.named("alpha-data").options.dependsOn).toContain("alpha-data-dir");
  });

  test("HTTPS on every address of the server with the local ACME server's wildcard, routed by host name from route files on the server", async () => {
    const run = await runFleet({
      tenantsYaml: TWO_HOSTS,
      stack: "local",
      config: { ...LOCAL_CONFIG, "agentpod:fleet": "demo", "agentpod:httpPort": "18999", "agentpod:httpsPort": "19443" },
    });
    if (run.error) throw run.error;
    const traefik = run.named("local-a-proxy-traefik").inputs;
    expect(traefik.name).toBe("demo-traefik");
    expect(traefik.ports).toEqual([
      { internal: 80, external: 18999 },
      { internal: 443, external: 19443 },
    ]);
    expect(traefik.command).toContain("--providers.file.directory=/etc/traefik/routes");
    expect(traefik.command).toContain("--certificatesresolvers.letsencrypt.acme.caserver=https://agentpod-acme:14000/dir");
    expect(traefik.command).toContain("--certificatesresolvers.letsencrypt.acme.dnschallenge.provider=httpreq");
    expect(traefik.command).toContain("--entrypoints.web.http.redirections.entrypoint.to=:19443");
    // The CA that signs the ACME server's HTTPS (set-up's), uploaded for lego; a certificate, nothing secret.
    expect(traefik.uploads).toEqual([{ file: "/etc/ssl/certs/agentpod-acme-server-ca.pem", content: readFileSync(LOCAL_ACME_SERVER_CA(), "utf8") }]);
    expect(traefik.envs).toContain("LEGO_CA_CERTIFICATES=/etc/ssl/certs/agentpod-acme-server-ca.pem");
    // The ACME server's fixed addresses (no DNS inside a server knows them), on a network every server joins.
    expect(traefik.hosts).toEqual([
      { host: "agentpod-acme", ip: "203.0.113.2" },
      { host: "agentpod-acme-api", ip: "203.0.113.4" },
    ]);
    expect(run.named("local-a-server").inputs.networksAdvanced).toEqual([{ name: "agentpod-registry" }, { name: "agentpod-tls" }]);
    expect(run.named("local-a-proxy-edge").inputs.name).toBe("demo--edge");
    const alpha = run.named("alpha-gateway").inputs;
    expect(alpha.name).toBe("demo-alpha");
    expect(alpha.labels.map((l: { label: string }) => l.label).sort()).toEqual(["agentpod.config-digest", "agentpod.fleet", "agentpod.host", "agentpod.tenant"]);
    const route = parse(run.named("alpha-route").inputs.content);
    expect(route.http.routers.alpha).toMatchObject({ rule: "Host(`alpha.agents.localhost`)", entryPoints: ["websecure"] });
    expect(route.http.routers.alpha.tls).toEqual({ certResolver: "letsencrypt", domains: [{ main: "*.agents.localhost" }] });
    expect(route.http.services.alpha.loadBalancer.servers).toEqual([{ url: "http://demo-alpha:18789" }]);
    expect(run.named("alpha-route").inputs.shell).toMatchObject({ kind: "docker-exec", container: "demo-host-local-a" });
    const config = run.named("alpha-config").inputs;
    expect(config.shell).toMatchObject({ kind: "docker-exec", container: "demo-host-local-a" });
    expect(JSON.parse(config.content.value).gateway.controlUi.allowedOrigins).toEqual(["https://alpha.agents.localhost:19443"]);
    expect(run.outputs.tenants.alpha.url).toBe("https://alpha.agents.localhost:19443");
  });

  test("one run's permissions reach only the tenants they name", async () => {
    const run = await runFleet({ tenantsYaml: TWO_HOSTS, stack: "local", operation: { adopt: ["bravo"], moves: { alpha: "local-b" } } });
    if (run.error) throw run.error;
    expect(run.named("bravo-data-dir").inputs).toMatchObject({ adopt: true, movedFrom: "" });
    expect(run.named("alpha-data-dir").inputs).toMatchObject({ adopt: false, movedFrom: "local-b" });
  });

  test("a rollout's held images: a tenant it has not reached keeps its image, the others follow tenants.yaml", async () => {
    const held = { bravo: "agentpod/openclaw:2026.8.1" };
    const run = await runFleet({ tenantsYaml: TWO_HOSTS, stack: "local", operation: { heldImages: held } });
    if (run.error) throw run.error;
    expect(run.named("bravo-gateway").inputs.image).toBe(held.bravo);
    expect(run.named("alpha-gateway").inputs.image).toBe("agentpod/openclaw:2026.9.6");
  });

  test("host addresses: derived from the name alone, loopback, overridable; a collision is refused before anything is registered", async () => {
    fc.assert(fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), (host) => /^127\.77\.\d{1,3}\.\d{1,3}$/.test(defaultHostAddress(host)) && defaultHostAddress(host) === defaultHostAddress(host)));
    expect(hostAddresses(["a", "b"], { b: "127.77.0.9" }).addresses).toEqual({ a: defaultHostAddress("a"), b: "127.77.0.9" });
    expect(hostAddresses(["a", "b"], { b: defaultHostAddress("a") }).collisions).toEqual([{ address: defaultHostAddress("a"), hosts: ["a", "b"] }]);
    const run = await runFleet({ tenantsYaml: TWO_HOSTS, stack: "local", config: { ...LOCAL_CONFIG, "agentpod:hostAddresses": JSON.stringify({ "local-b": defaultHostAddress("local-a") }) } });
    expect(run.error?.message).toMatch(/Pulumi\.local\.yaml agentpod:hostAddresses: hosts local-a and local-b would share the address/);
    expect(run.resources).toEqual([]);
  });

  test("the edge network's name sorts before every tenant network's, whatever the tenant is called", () => {
    // Docker publishes ports on the network whose name sorts first; see HostProxy.createEdgeNetwork.
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/);
    fc.assert(
      fc.property(label, fc.constantFrom("agentpod", "e2e", "demo"), (tenant, fleet) => edgeNetworkName(fleet) < dockerNames(tenant, fleet).network),
    );
  });
});
