/**
 * The proxy's route files and the tenant fence, as the program renders them (pure), and the host scripts that write
 * route files run for real on a temporary directory.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { renderReadinessScript } from "../../fleet/cloudInit";
import { FENCED_DESTINATIONS, FENCE_SCRIPT_PATH, renderFenceScript } from "../../fleet/hostFirewall";
import { HOST_ROUTES_DIR, removeRouteScript, writeRouteScript } from "../../fleet/hostScripts";
import { rateLimitBurst, renderTenantRoute } from "../../fleet/routes";
import { traefikFlags } from "../../fleet/traefik";

const route = { tenant: "acme", domain: "acme.agents.example.com", container: "agentpod-acme", entrypoint: "websecure", certResolver: "letsencrypt", requestsPerMinute: 600 };

describe("route files", () => {
  test("route to the gateway by its container name, TLS with the resolver, a per-tenant limit and an active health check", () => {
    const http = parse(renderTenantRoute(route)).http;
    expect(http.routers.acme).toEqual({ rule: "Host(`acme.agents.example.com`)", entryPoints: ["websecure"], service: "acme", middlewares: ["acme-ratelimit"], tls: { certResolver: "letsencrypt" } });
    expect(http.services.acme.loadBalancer.servers).toEqual([{ url: "http://agentpod-acme:18789" }]);
    expect(http.services.acme.loadBalancer.healthCheck.path).toBe("/healthz");
    expect(http.middlewares["acme-ratelimit"].rateLimit.sourceCriterion).toEqual({ requestHost: true });
    // DNS-01: the router names the wildcard it is served with, so Traefik asks for that one certificate only.
    const wildcard = parse(renderTenantRoute({ ...route, certificateDomains: [{ main: "*.agents.example.com" }] })).http;
    expect(wildcard.routers.acme.tls).toEqual({ certResolver: "letsencrypt", domains: [{ main: "*.agents.example.com" }] });
  });

  test("the burst is ten seconds of the plan's rate and never under 50; the average is the plan's rate", () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 1_000_000 }), (requestsPerMinute) => {
        const limit = parse(renderTenantRoute({ ...route, requestsPerMinute })).http.middlewares["acme-ratelimit"].rateLimit;
        expect(limit.average).toBe(requestsPerMinute);
        expect(limit.period).toBe("1m");
        expect(limit.burst).toBe(rateLimitBurst(requestsPerMinute));
        expect(limit.burst).toBeGreaterThanOrEqual(50);
        expect(limit.burst).toBeGreaterThanOrEqual(requestsPerMinute / 6);
        expect(limit.burst).toBeLessThan(requestsPerMinute / 6 + 51);
      }),
    );
  });

  test("Traefik reads the route directory and no Docker API", () => {
    for (const tls of [
      { kind: "http-01", email: "ops@example.com" },
      { kind: "dns-01", email: "ops@example.com", dns: { kind: "cloudflare" } },
    ] as const) {
      const flags = traefikFlags(tls);
      expect(flags).toContain("--providers.file.directory=/etc/traefik/routes");
      expect(flags).toContain("--providers.file.watch=true");
      expect(flags.join(" ")).not.toMatch(/docker/);
    }
  });

  const root = mkdtempSync(path.join(tmpdir(), "agentpod-routes-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const run = (script: string, input = "") => spawnSync("sh", ["-c", script.replaceAll(HOST_ROUTES_DIR, root)], { input, encoding: "utf8" });

  test("a route file is written whole (no temporary file left where Traefik would read it), rewritten, and removed", () => {
    expect(writeRouteScript("acme")).toContain(HOST_ROUTES_DIR);
    expect(run(writeRouteScript("acme"), "first\n").status).toBe(0);
    expect(run(writeRouteScript("acme"), renderTenantRoute(route)).status).toBe(0);
    expect(readdirSync(root)).toEqual(["acme.yml"]);
    expect(parse(readFileSync(path.join(root, "acme.yml"), "utf8")).http.routers.acme.rule).toBe("Host(`acme.agents.example.com`)");
    expect(run(writeRouteScript("initech"), "other\n").status).toBe(0);
    expect(run(removeRouteScript("acme")).status).toBe(0);
    expect(readdirSync(root)).toEqual(["initech.yml"]);
    // Removing what is gone already is not an error (a delete retried after a lost server).
    expect(run(removeRouteScript("acme")).status).toBe(0);
  });
});

describe("tenant fence", () => {
  const script = renderFenceScript();
  const lines = script.split("\n");
  const index = (needle: string) => lines.findIndex((l) => l.includes(needle));

  test("is valid shell", () => {
    expect(spawnSync("sh", ["-n", "-c", script]).status).toBe(0);
  });

  test("forwarded traffic: replies and traffic into Docker bridges first, then link-local and private destinations dropped", () => {
    const established = index("AGENTPOD-FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN");
    const bridges = index("AGENTPOD-FORWARD -o br+ -j RETURN");
    expect(established).toBeGreaterThan(0);
    expect(bridges).toBeGreaterThan(established);
    for (const cidr of FENCED_DESTINATIONS) expect(index(`AGENTPOD-FORWARD -d ${cidr} -j DROP`), cidr).toBeGreaterThan(bridges);
    expect(FENCED_DESTINATIONS).toContain("169.254.0.0/16");
    // Only traffic that comes from a container bridge is fenced: the proxy's published ports still reach it.
    expect(script).toContain('iptables -I "$1" 1 -i br+ -j "$2"');
    expect(script).toContain("jump DOCKER-USER AGENTPOD-FORWARD");
  });

  test("the host itself: nothing new from a container bridge, replies only", () => {
    expect(index("AGENTPOD-INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN")).toBeLessThan(index("AGENTPOD-INPUT -j DROP"));
    expect(script).toContain("jump INPUT AGENTPOD-INPUT");
  });

  test("is idempotent: chains are flushed and rebuilt, jumps added only when missing", () => {
    expect(script).toContain('iptables -N "$1" 2>/dev/null || iptables -F "$1"');
    expect(script).toContain('iptables -C "$1" -i br+ -j "$2" 2>/dev/null ||');
  });

  test("the readiness gate installs and runs it on every host, after Docker answers", () => {
    for (const readiness of [renderReadinessScript(), renderReadinessScript("/dev/disk/by-id/x")]) {
      const ready = readiness.indexOf("docker info");
      expect(ready).toBeGreaterThan(0);
      expect(readiness.indexOf(`cat > ${FENCE_SCRIPT_PATH}.tmp`)).toBeGreaterThan(ready);
      expect(readiness).toContain(`\n${FENCE_SCRIPT_PATH}\n`);
      expect(readiness).toContain("agentpod-fence.service");
      expect(spawnSync("sh", ["-n", "-c", readiness]).status).toBe(0);
    }
  });
});
