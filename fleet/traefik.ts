/**
 * Traefik's static configuration as command-line flags, as plain data. The dashboard and API are never enabled;
 * routes come only from the route files the program writes (fleet/routes.ts): Traefik holds no Docker API.
 *
 * TLS is the same on both targets: ACME (lego inside Traefik) with one certificate resolver, HTTP redirected to
 * HTTPS, the account and certificates in acme.json on the host's data volume. What differs is data, not code: the
 * CA (Let's Encrypt, or the local target's Pebble), the CA's trust root, and the DNS provider with its resolvers.
 */

import { PROXY_CERTIFICATES_DIR } from "./cloudInit";
import { PROXY_ROUTES_DIR } from "./routes";

/** The proxy's Docker names are defined with every other Docker name, in fleet/naming.ts. */
export { DEFAULT_FLEET, edgeNetworkName, traefikContainerName } from "./naming";
export const CERT_RESOLVER = "letsencrypt";
/** Where the proxy sees the host's certificate directory (PROXY_CERTIFICATES_DIR on the data volume). */
export const PROXY_CERTIFICATES_MOUNT = "/letsencrypt";
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";
/** Internal ping entrypoint for the container's own healthcheck; bound to loopback inside the container. */
const PING = ["--ping=true", "--ping.entrypoint=ping", "--entrypoints.ping.address=127.0.0.1:8082"];

/** The ACME CA. Production: Let's Encrypt, trusted through the image's CA bundle. */
export interface AcmeServer {
  readonly directoryUrl: string;
  /** A CA certificate (PEM) the directory's HTTPS certificate chains to, when the image's bundle does not hold it. */
  readonly trustRoot?: string;
  /** Addresses of the CA's services by name, where no DNS the proxy asks knows them (the proxy's /etc/hosts). */
  readonly hosts?: Readonly<Record<string, string>>;
}

/** How DNS-01 TXT records are published, and which resolvers lego asks. */
export type DnsProvider =
  /** Cloudflare's API with a scoped token (Zone:DNS:Edit on the zone only), given as CF_DNS_API_TOKEN. */
  | { readonly kind: "cloudflare" }
  /**
   * lego's httpreq provider: POST {fqdn, value} to `endpoint`/present and /cleanup (locally, the adapter in front of
   * Pebble's challenge test server). `resolvers` are the DNS servers lego asks; `checkPropagation: false` skips lego's
   * own propagation check, which needs an authoritative SOA that a test DNS server does not serve.
   */
  | { readonly kind: "httpreq"; readonly endpoint: string; readonly resolvers: readonly string[]; readonly checkPropagation: boolean };

export type TlsMode =
  /** One certificate per tenant name by the HTTP-01 challenge on port 80 (records not proxied by Cloudflare). */
  | { readonly kind: "http-01"; readonly email: string; readonly ca?: AcmeServer }
  /**
   * DNS-01: one wildcard certificate per parent domain of the tenants (`*.<zone>`) on each host, so adding a tenant
   * issues nothing. Required when records are proxied (HTTP and TLS-ALPN challenges cannot reach the host).
   */
  | { readonly kind: "dns-01"; readonly email: string; readonly dns: DnsProvider; readonly ca?: AcmeServer };

/** Where clients reach the entrypoints: the ports published for HTTP (redirects only) and HTTPS. */
export interface ProxyPorts {
  readonly http: number;
  readonly https: number;
}

export const PRODUCTION_PORTS: ProxyPorts = { http: 80, https: 443 };

/** Where the CA's trust root is uploaded in the proxy container (LEGO_CA_CERTIFICATES points at it). */
export const ACME_TRUST_ROOT_FILE = "/etc/ssl/certs/agentpod-acme-server-ca.pem";

export function traefikFlags(tls: TlsMode, ports: ProxyPorts = PRODUCTION_PORTS): string[] {
  const resolver = `--certificatesresolvers.${CERT_RESOLVER}.acme`;
  const flags = [
    `--providers.file.directory=${PROXY_ROUTES_DIR}`,
    "--providers.file.watch=true",
    "--entrypoints.web.address=:80",
    "--entrypoints.websecure.address=:443",
    "--entrypoints.websecure.http.tls=true",
    // To the port clients use (443 in production: the Location then names no port), not the container's.
    `--entrypoints.web.http.redirections.entrypoint.to=:${ports.https}`,
    "--entrypoints.web.http.redirections.entrypoint.scheme=https",
    "--api.dashboard=false",
    "--global.checknewversion=false",
    "--global.sendanonymoususage=false",
    "--log.level=INFO",
    ...PING,
    `${resolver}.caserver=${(tls.ca ?? { directoryUrl: LETS_ENCRYPT_DIRECTORY }).directoryUrl}`,
    `${resolver}.email=${tls.email}`,
    `${resolver}.storage=${PROXY_CERTIFICATES_MOUNT}/acme.json`,
  ];
  if (tls.kind === "http-01") return [...flags, `${resolver}.httpchallenge.entrypoint=web`];
  flags.push(`${resolver}.dnschallenge.provider=${tls.dns.kind}`);
  if (tls.dns.kind === "httpreq") {
    flags.push(`${resolver}.dnschallenge.resolvers=${tls.dns.resolvers.join(",")}`);
    if (!tls.dns.checkPropagation) flags.push(`${resolver}.dnschallenge.propagation.disablechecks=true`);
  }
  return flags;
}

/** The proxy's environment that is not secret (the Cloudflare token is added as a secret by the component). */
export function traefikEnvironment(tls: TlsMode): string[] {
  const env: string[] = [];
  if (tls.ca?.trustRoot) env.push(`LEGO_CA_CERTIFICATES=${ACME_TRUST_ROOT_FILE}`);
  if (tls.kind === "dns-01" && tls.dns.kind === "httpreq") env.push(`HTTPREQ_ENDPOINT=${tls.dns.endpoint}`);
  return env;
}

/**
 * The certificate a tenant's router asks for. DNS-01: the wildcard of the domain's parent (`acme.agents.example.com`
 * -> `*.agents.example.com`), which every tenant of the zone shares; Traefik requests it once and serves it for each
 * name it covers. A parent of one label (`*.localhost`, `*.com`) is never a valid wildcard for TLS clients, so such
 * a domain gets a certificate of its own. HTTP-01: none given, Traefik asks for the router's Host name.
 */
export function certificateDomains(challenge: TlsMode["kind"], domain: string): Array<{ main: string }> | undefined {
  if (challenge !== "dns-01") return undefined;
  const parent = domain.split(".").slice(1);
  return [{ main: parent.length >= 2 ? `*.${parent.join(".")}` : domain }];
}

/** The healthcheck runs the same binary against the ping entrypoint. */
export const TRAEFIK_HEALTHCHECK = ["CMD", "/traefik", "healthcheck", ...PING];

/** The entrypoint tenant routers attach to. */
export const TENANT_ENTRYPOINT = "websecure";
