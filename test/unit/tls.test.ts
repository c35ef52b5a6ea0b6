/**
 * TLS as plain data (fleet/traefik.ts, fleet/localServers.ts): production's and the local target's Traefik ACME
 * flags differ only in the CA, its trust root and the DNS provider; which certificate a tenant's router asks for;
 * the local CA bundle that keeps every root Pebble has had. The end-to-end proof is test/e2e/tls.test.ts.
 */
import { describe, expect, test } from "vitest";
import { LOCAL_ZONE, localTls, withRoot } from "../../fleet/localServers";
import { LETS_ENCRYPT_DIRECTORY, PRODUCTION_PORTS, certificateDomains, traefikEnvironment, traefikFlags, type TlsMode } from "../../fleet/traefik";

const CA = "-----BEGIN CERTIFICATE-----\nc2VydmVyLWNh\n-----END CERTIFICATE-----\n";
const httpChallenge: TlsMode = { kind: "http-01", email: "ops@example.com" };
const cloudflare: TlsMode = { kind: "dns-01", email: "ops@example.com", dns: { kind: "cloudflare" } };
const ACME = "--certificatesresolvers.letsencrypt.acme";

describe("Traefik's ACME flags", () => {
  test("production: Let's Encrypt, HTTPS on 443, HTTP redirected to it, the store on the data volume", () => {
    for (const tls of [httpChallenge, cloudflare]) {
      const flags = traefikFlags(tls);
      expect(flags).toContain(`${ACME}.caserver=${LETS_ENCRYPT_DIRECTORY}`);
      expect(flags).toContain(`${ACME}.email=ops@example.com`);
      expect(flags).toContain(`${ACME}.storage=/letsencrypt/acme.json`);
      expect(flags).toContain("--entrypoints.websecure.address=:443");
      expect(flags).toContain("--entrypoints.web.http.redirections.entrypoint.to=:443");
      expect(flags).toContain("--entrypoints.web.http.redirections.entrypoint.scheme=https");
      expect(traefikEnvironment(tls)).toEqual([]);
    }
    expect(traefikFlags(httpChallenge)).toContain(`${ACME}.httpchallenge.entrypoint=web`);
    expect(traefikFlags(httpChallenge).some((f) => f.includes("dnschallenge"))).toBe(false);
    expect(traefikFlags(cloudflare)).toContain(`${ACME}.dnschallenge.provider=cloudflare`);
    expect(traefikFlags(cloudflare).some((f) => f.includes("httpchallenge") || f.includes("dnschallenge.propagation") || f.includes("dnschallenge.resolvers"))).toBe(false);
  });

  test("local: the same flags but the CA URL, the DNS provider with its resolver, and the redirect's port", () => {
    const local = localTls(CA);
    const ports = { http: 8080, https: 8443 };
    const localFlags = traefikFlags(local, ports);
    const productionFlags = traefikFlags(cloudflare, PRODUCTION_PORTS);
    const onlyIn = (a: string[], b: string[]) => a.filter((f) => !b.includes(f)).sort();
    expect(onlyIn(localFlags, productionFlags)).toEqual(
      [
        `${ACME}.caserver=https://agentpod-acme:14000/dir`,
        `${ACME}.email=ops@agents.localhost`,
        `${ACME}.dnschallenge.provider=httpreq`,
        `${ACME}.dnschallenge.resolvers=203.0.113.3:8053`,
        `${ACME}.dnschallenge.propagation.disablechecks=true`,
        "--entrypoints.web.http.redirections.entrypoint.to=:8443",
      ].sort(),
    );
    expect(onlyIn(productionFlags, localFlags)).toEqual(
      [`${ACME}.caserver=${LETS_ENCRYPT_DIRECTORY}`, `${ACME}.email=ops@example.com`, `${ACME}.dnschallenge.provider=cloudflare`, "--entrypoints.web.http.redirections.entrypoint.to=:443"].sort(),
    );
    // The trust root of the CA's HTTPS, and the httpreq adapter's address, through lego's environment.
    expect(traefikEnvironment(local)).toEqual(["LEGO_CA_CERTIFICATES=/etc/ssl/certs/agentpod-acme-server-ca.pem", "HTTPREQ_ENDPOINT=http://agentpod-acme-api:8056"]);
  });
});

describe("the certificate a tenant's router asks for", () => {
  test("DNS-01: the wildcard of the domain's parent, shared by every tenant of the zone", () => {
    expect(certificateDomains("dns-01", "acme.agents.example.com")).toEqual([{ main: "*.agents.example.com" }]);
    expect(certificateDomains("dns-01", "globex.agents.example.com")).toEqual(certificateDomains("dns-01", "acme.agents.example.com"));
    expect(certificateDomains("dns-01", `alpha.${LOCAL_ZONE}`)).toEqual([{ main: "*.agents.localhost" }]);
    // A deeper custom domain: the wildcard of its own parent.
    expect(certificateDomains("dns-01", "chat.acme.agents.example.com")).toEqual([{ main: "*.acme.agents.example.com" }]);
  });

  test("a parent of one label is no wildcard TLS clients accept: that domain gets its own certificate", () => {
    expect(certificateDomains("dns-01", "alpha.localhost")).toEqual([{ main: "alpha.localhost" }]);
    expect(certificateDomains("dns-01", "example.com")).toEqual([{ main: "example.com" }]);
  });

  test("HTTP-01: nothing named, Traefik asks for the router's own host name", () => {
    expect(certificateDomains("http-01", "acme.agents.example.com")).toBeUndefined();
  });
});

describe("the local CA bundle", () => {
  const root = (n: number) => `-----BEGIN CERTIFICATE-----\nUm9vdC${n}\n-----END CERTIFICATE-----`;

  test("keeps every root Pebble has had, each once", () => {
    const first = withRoot("", `${root(1)}\n`);
    expect(first).toBe(`${root(1)}\n`);
    expect(withRoot(first, root(1))).toBe(first);
    // Pebble restarted: a new root, the old one stays for the certificates it signed.
    const second = withRoot(first, root(2));
    expect(second).toBe(`${root(1)}\n${root(2)}\n`);
    expect(withRoot(second, `${root(1)}\r\n`)).toBe(second);
  });

  test("refuses an answer that is not a certificate", () => {
    expect(() => withRoot("", "<html>bad gateway</html>")).toThrow("the ACME server's root is not a PEM certificate");
  });
});
