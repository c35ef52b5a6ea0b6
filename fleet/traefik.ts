/**
 * Traefik's static configuration as command-line flags, as plain data. The dashboard and API are never enabled;
 * routes come only from the route files the program writes (fleet/routes.ts): Traefik holds no Docker API.
 */

import { PROXY_ROUTES_DIR } from "./routes";

/** The proxy's Docker names are defined with every other Docker name, in fleet/naming.ts. */
export { DEFAULT_FLEET, certificateVolumeName, edgeNetworkName, traefikContainerName } from "./naming";
export const CERT_RESOLVER = "letsencrypt";
/** Internal ping entrypoint for the container's own healthcheck; bound to loopback inside the container. */
const PING = ["--ping=true", "--ping.entrypoint=ping", "--entrypoints.ping.address=127.0.0.1:8082"];

export type TlsMode =
  /** Plain HTTP on one entrypoint, for the local target. */
  | { readonly kind: "none" }
  /** Let's Encrypt with the HTTP-01 challenge on port 80 (records not proxied by Cloudflare). */
  | { readonly kind: "http-01"; readonly email: string }
  /** Let's Encrypt with DNS-01 through Cloudflare, required when records are proxied (TLS-ALPN/HTTP challenges fail). */
  | { readonly kind: "dns-01"; readonly email: string };

export function traefikFlags(tls: TlsMode): string[] {
  const flags = [
    `--providers.file.directory=${PROXY_ROUTES_DIR}`,
    "--providers.file.watch=true",
    "--entrypoints.web.address=:80",
    "--api.dashboard=false",
    "--global.checknewversion=false",
    "--global.sendanonymoususage=false",
    "--log.level=INFO",
    ...PING,
  ];
  if (tls.kind === "none") return flags;
  flags.push(
    "--entrypoints.websecure.address=:443",
    "--entrypoints.websecure.http.tls=true",
    "--entrypoints.web.http.redirections.entrypoint.to=websecure",
    "--entrypoints.web.http.redirections.entrypoint.scheme=https",
    `--certificatesresolvers.${CERT_RESOLVER}.acme.email=${tls.email}`,
    `--certificatesresolvers.${CERT_RESOLVER}.acme.storage=/letsencrypt/acme.json`,
  );
  if (tls.kind === "http-01") flags.push(`--certificatesresolvers.${CERT_RESOLVER}.acme.httpchallenge.entrypoint=web`);
  else flags.push(`--certificatesresolvers.${CERT_RESOLVER}.acme.dnschallenge.provider=cloudflare`);
  return flags;
}

/** The healthcheck runs the same binary against the ping entrypoint. */
export const TRAEFIK_HEALTHCHECK = ["CMD", "/traefik", "healthcheck", ...PING];

/** The entrypoint tenant routers attach to. */
export const tenantEntrypoint = (tls: TlsMode) => (tls.kind === "none" ? "web" : "websecure");
