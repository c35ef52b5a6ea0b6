/** The local target under mocks: the production components on local Docker engines, no DNS, plain HTTP. */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { dockerNames } from "../../fleet/gateway";
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
  test("each host maps to its own Docker engine; tenants go through their host's provider", async () => {
    const run = await runFleet({
      tenantsYaml: TWO_HOSTS,
      stack: "local",
      config: { ...LOCAL_CONFIG, "agentpod:dockerHosts": JSON.stringify({ "local-b": "unix:///run/docker-b.sock" }) },
    });
    if (run.error) throw run.error;
    expect(run.named("local-a-docker").inputs.host).toBe("unix:///var/run/docker.sock");
    expect(run.named("local-b-docker").inputs.host).toBe("unix:///run/docker-b.sock");
    expect(run.named("bravo-gateway").options.provider).toBe("local-b-docker");
    expect(run.named("bravo-proxy-attachment").inputs.dockerHost).toBe("unix:///run/docker-b.sock");
    expect(run.ofType("cloudflare:index/dnsRecord:DnsRecord")).toEqual([]);
    expect(run.ofType("hcloud:index/server:Server")).toEqual([]);
  });

  test("plain HTTP on 127.0.0.1:<httpPort>, routed by host name, only this fleet's containers", async () => {
    const run = await runFleet({ tenantsYaml: TWO_HOSTS, stack: "local", config: { ...LOCAL_CONFIG, "agentpod:fleet": "demo", "agentpod:httpPort": "18999" } });
    if (run.error) throw run.error;
    const traefik = run.named("local-a-proxy-traefik").inputs;
    expect(traefik.name).toBe("demo-traefik");
    expect(traefik.ports).toEqual([{ internal: 80, external: 18999, ip: "127.0.0.1" }]);
    expect(traefik.command).toContain("--providers.docker.constraints=Label(`agentpod.fleet`,`demo`)");
    expect(traefik.command.some((flag: string) => flag.includes("certificatesresolvers"))).toBe(false);
    expect(run.named("local-a-proxy-edge").inputs.name).toBe("demo--edge");
    const alpha = run.named("alpha-gateway").inputs;
    expect(alpha.name).toBe("demo-alpha");
    expect(alpha.labels).toContainEqual({ label: "traefik.http.routers.alpha.rule", value: "Host(`alpha.localhost`)" });
    expect(alpha.labels).toContainEqual({ label: "traefik.http.routers.alpha.entrypoints", value: "web" });
    expect(alpha.labels).toContainEqual({ label: "agentpod.fleet", value: "demo" });
    expect(JSON.parse(alpha.uploads[0].content).gateway.controlUi.allowedOrigins).toEqual(["http://alpha.localhost:18999"]);
    // Local data lives in Docker-managed named volumes (no bind to a host directory).
    expect(run.named("alpha-data").inputs).toEqual({ name: "demo-alpha-data", labels: [{ label: "agentpod.tenant", value: "alpha" }] });
    expect(run.outputs.tenants.alpha.url).toBe("http://alpha.localhost:18999");
  });

  test("the edge network's name sorts before every tenant network's, whatever the tenant is called", () => {
    // Docker publishes ports on the network whose name sorts first; see HostProxy.createEdgeNetwork.
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/);
    fc.assert(
      fc.property(label, fc.constantFrom("agentpod", "e2e", "demo"), (tenant, fleet) => edgeNetworkName(fleet) < dockerNames(tenant, fleet).network),
    );
  });
});
