/**
 * TLS on the real engine, from a real ACME server: the local fleet's Traefik obtains its certificate from Pebble
 * (scripts/setup/acme.sh) through the same ACME configuration as production, by DNS-01 against Pebble's challenge
 * test server: one wildcard for the fleet's zone. Then HTTPS health, the redirect from HTTP, the official OpenClaw
 * client over wss:// trusting the local CA through NODE_EXTRA_CA_CERTS (right token in, wrong token out), a new
 * tenant that needs no new certificate, and `agentpod host replace` serving the very same certificate from the
 * host's data volume. Each test builds on the previous one (one fleet, in order); own prefix and ports.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PROXY_CERTIFICATES_DIR } from "../../fleet/cloudInit";
import { LOCAL_ZONE, localServerNames } from "../../fleet/localServers";
import { localCaBundlePath } from "../../cli/ca";
import { createLocalFleet, docker, getVia, handshake, isPortFree, localCa, localDomain, removeFleetObjects, servedCertificate as servedCertificateVia, tenantsOnOneHost, waitFor, type LocalFleet } from "../support/localFleet";

const FLEET = "tls";
const PORT = 18580;
const HOST = "host-t";
const tenantsFile = (tenants: readonly string[]) => tenantsOnOneHost(HOST, tenants);

let fleet: LocalFleet;
let tokens: Record<string, string> = {};
let issued: { serial: string; fingerprint: string } | undefined;
const server = () => localServerNames(FLEET, HOST).container;

/** The certificate the proxy presents for `name`, verified against `ca`. */
const servedCertificate = (name: string, ca: string | undefined) => servedCertificateVia(fleet.address(HOST), fleet.httpsPort, name, ca);

/** The certificates Traefik keeps in acme.json on the host's data volume (resolver -> Certificates). */
function storedCertificates(): Array<{ domain: { main: string; sans?: string[] } }> {
  const json = JSON.parse(docker(["exec", server(), "cat", `${PROXY_CERTIFICATES_DIR}/acme.json`]));
  return Object.values(json as Record<string, { Certificates?: Array<{ domain: { main: string } }> | null }>).flatMap((resolver) => resolver.Certificates ?? []);
}

/** The official OpenClaw client (the tenant image's CLI) on this machine's network, resolving the name as /etc/hosts says. */
function openclawHealth(tenant: string, token: string) {
  const url = `wss://${localDomain(tenant)}:${fleet.httpsPort}`;
  const result = spawnSync(
    "docker",
    [
      ...["run", "--rm", "--network", "host", "--add-host", `${localDomain(tenant)}:${fleet.address(HOST)}`],
      ...["-v", `${localCaBundlePath()}:/etc/agentpod-ca.pem:ro`, "-e", "NODE_EXTRA_CA_CERTS=/etc/agentpod-ca.pem"],
      ...["--entrypoint", "node", "agentpod/openclaw:2026.9.6", "/app/node_modules/openclaw/dist/index.js"],
      ...["gateway", "health", "--url", url, "--token", token, "--json", "--timeout", "20000"],
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

const ready = (tenant: string) =>
  waitFor(`${tenant} /readyz over HTTPS`, async () => ((await getVia(fleet.httpsPort, localDomain(tenant), "/readyz", fleet.address(HOST))).status === 200 ? true : undefined), 240_000);
const readTokens = () => JSON.parse(fleet.agentpod(["outputs", "--show-secrets"]).stdout).gatewayTokens as Record<string, string>;

beforeAll(async () => {
  for (const port of [PORT, PORT + 363]) if (!isPortFree(port)) throw new Error(`port ${port} is in use: is another tls test running?`);
  removeFleetObjects(FLEET);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  fleet.writeTenants(tenantsFile(["ant", "bee"]));
  fleet.agentpod(["up", "--yes"]);
  await ready("ant");
  await ready("bee");
  tokens = readTokens();
}, 20 * 60_000);

afterAll(() => {
  if (!fleet) return;
  fleet.agentpod(["destroy", "--yes"], { allowFailure: true });
  removeFleetObjects(FLEET);
  fleet.dispose();
}, 10 * 60_000);

describe("TLS from the local ACME server", () => {
  test("the certificate was issued by Pebble, by DNS-01, as one wildcard for the fleet's zone; it verifies only against Pebble's root", async () => {
    const answer = await servedCertificate(localDomain("ant"), localCa());
    expect(answer.error).toBeUndefined();
    expect(answer.authorized).toBe(true);
    const certificate = answer.certificate!;
    expect(certificate.subjectaltname).toBe(`DNS:*.${LOCAL_ZONE}`);
    expect(certificate.issuer.CN).toMatch(/^Pebble Intermediate CA/);
    expect(certificate.issuerCertificate.issuer.CN).toMatch(/^Pebble Root CA/);
    // The same certificate for the other tenant: the wildcard covers both.
    const bee = await servedCertificate(localDomain("bee"), localCa());
    expect(bee.authorized).toBe(true);
    expect(bee.certificate!.serialNumber).toBe(certificate.serialNumber);
    // Without the local CA nothing vouches for it: the trust comes from Pebble's root and nowhere else.
    const untrusted = await servedCertificate(localDomain("ant"), undefined);
    expect(untrusted.authorized).toBe(false);
    expect(untrusted.error).toMatch(/UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED/);
    // Traefik's store holds exactly that certificate, for the wildcard.
    expect(storedCertificates().map((c) => c.domain.main)).toEqual([`*.${LOCAL_ZONE}`]);
    issued = { serial: certificate.serialNumber, fingerprint: certificate.fingerprint256 };
  });

  test("HTTPS health through Traefik; plain HTTP redirects to the HTTPS port", async () => {
    for (const tenant of ["ant", "bee"]) {
      const health = await getVia(fleet.httpsPort, localDomain(tenant), "/healthz", fleet.address(HOST));
      expect(health.status, tenant).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ ok: true });
    }
    const plain = await getVia(fleet.port, localDomain("ant"), "/healthz", fleet.address(HOST), "http");
    expect([301, 302, 307, 308]).toContain(plain.status);
    expect(plain.headers.location).toBe(`https://${localDomain("ant")}:${fleet.httpsPort}/healthz`);
  });

  test("the official OpenClaw client connects over wss:// with the tenant's token and no break-glass variable; a wrong token is refused", async () => {
    const own = openclawHealth("ant", tokens.ant!);
    expect(own.status, own.output).toBe(0);
    expect(own.output).toMatch(/"ok":\s*true/);
    const wrong = openclawHealth("ant", tokens.bee!);
    expect(wrong.status, wrong.output).not.toBe(0);
    expect(wrong.output).toMatch(/token/i);
    // The protocol underneath, through the same TLS: hello-ok for the right token, AUTH_TOKEN_MISMATCH otherwise.
    expect(await handshake(fleet.httpsPort, localDomain("bee"), tokens.bee!, fleet.address(HOST))).toEqual({ challenge: true, ok: true, outcome: "hello-ok" });
    expect(await handshake(fleet.httpsPort, localDomain("bee"), tokens.ant!, fleet.address(HOST))).toMatchObject({ ok: false, outcome: "AUTH_TOKEN_MISMATCH" });
  });

  test("a new tenant is served with the certificate the fleet has: nothing is issued", async () => {
    fleet.writeTenants(tenantsFile(["ant", "bee", "cat"]));
    fleet.agentpod(["up", "--yes"]);
    await ready("cat");
    const cat = await servedCertificate(localDomain("cat"), localCa());
    expect(cat.authorized).toBe(true);
    expect(cat.certificate!.serialNumber).toBe(issued!.serial);
    expect(storedCertificates()).toHaveLength(1);
  });

  test("after `agentpod host replace` the new server serves the same certificate (same serial) from the data volume", async () => {
    docker(["kill", "--signal", "KILL", server()]);
    docker(["rm", "--force", server()]);
    docker(["volume", "rm", localServerNames(FLEET, HOST).disk]);
    const replaced = await fleet.agentpodAsync(["host", "replace", HOST]);
    expect(replaced.stdout).toContain(`host ${HOST} replaced`);
    for (const tenant of ["ant", "bee", "cat"]) await ready(tenant);
    for (const tenant of ["ant", "cat"]) {
      const answer = await servedCertificate(localDomain(tenant), localCa());
      expect(answer.authorized, tenant).toBe(true);
      expect(answer.certificate!.serialNumber, tenant).toBe(issued!.serial);
      expect(answer.certificate!.fingerprint256, tenant).toBe(issued!.fingerprint);
    }
    expect(storedCertificates()).toHaveLength(1);
  });
});
