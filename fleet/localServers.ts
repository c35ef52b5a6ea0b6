/**
 * The local target's servers, as plain data. Each host of a local stack is a server the program creates on this
 * machine's Docker engine, as it creates an hcloud server in production: a container running its own Docker engine
 * (Docker-in-Docker) with its own disk for engine state, its own loopback address where its proxy listens, and a
 * separately created data volume at the mount point production uses, which outlives the server.
 */
import { createHash } from "node:crypto";
import { localServerObjectNames } from "./naming";
import type { TlsMode } from "./traefik";

/** Directory on this machine under which each server's Docker API socket appears (root only). */
export const SERVER_API_ROOT = "/run/agentpod/servers";
/** Where that directory is mounted inside the server; its engine listens there and on /var/run/docker.sock. */
export const SERVER_API_MOUNT = "/agentpod/api";
export const DEFAULT_SERVER_IMAGE = "agentpod/server:1";
/** The network of the registry that set-up starts (scripts/setup/registry.sh); servers pull through it. */
export const REGISTRY_NETWORK = "agentpod-registry";
export const REGISTRY_MIRROR = "http://agentpod-registry:5000";

/**
 * The DNS zone of local tenants: `<tenant>.agents.localhost`. Two labels, because TLS clients (Node, OpenSSL) refuse
 * a wildcard directly under one label (`*.localhost`), and the local fleet's certificate is the wildcard of its zone.
 */
export const LOCAL_ZONE = "agents.localhost";
/**
 * The local ACME server that set-up starts (scripts/setup/acme.sh, which holds the same addresses). Its containers
 * have fixed addresses on the network agentpod-tls, which the local servers join: Traefik sits on a bridge inside
 * a server, where this machine's container names do not resolve and the tenant fence drops private destinations, so
 * the CA lives in 203.0.113.0/24 (TEST-NET-3, never routed on the internet), reached as production reaches Let's
 * Encrypt. The name sorts after agentpod-registry: Docker publishes a server's ports on its first network by name,
 * and clients keep arriving through the registry network as before.
 */
export const LOCAL_ACME = {
  network: "agentpod-tls",
  directoryUrl: "https://agentpod-acme:14000/dir",
  /** The httpreq adapter in front of the challenge test server's management API. */
  dnsApi: "http://agentpod-acme-api:8056",
  /** The challenge test server's DNS, which Pebble validates DNS-01 against. */
  dnsServer: "203.0.113.3:8053",
  /** Where the proxy finds the names above. */
  hosts: { "agentpod-acme": "203.0.113.2", "agentpod-acme-api": "203.0.113.4" },
  /** Pebble's management API, published for this machine: the current root at /roots/0. */
  management: "https://127.0.0.1:15000",
  email: "ops@agents.localhost",
} as const;

/**
 * The local target's TLS: DNS-01 with the wildcard of LOCAL_ZONE, as production's default, from Pebble. Only the CA
 * (its URL and the root its HTTPS chains to) and the DNS provider differ from production; lego's propagation check
 * is off because the challenge test server answers no SOA query, and Pebble asks that same server, so the record
 * is there when it looks.
 */
export function localTls(acmeServerCa: string): TlsMode {
  return {
    kind: "dns-01",
    email: LOCAL_ACME.email,
    ca: { directoryUrl: LOCAL_ACME.directoryUrl, trustRoot: acmeServerCa, hosts: LOCAL_ACME.hosts },
    dns: { kind: "httpreq", endpoint: LOCAL_ACME.dnsApi, resolvers: [LOCAL_ACME.dnsServer], checkPropagation: false },
  };
}

/** Names of one local server's objects on this machine's engine, from the fleet and the host name only. */
export function localServerNames(fleet: string, host: string) {
  return { ...localServerObjectNames(fleet, host), apiDir: `${SERVER_API_ROOT}/${fleet}-${host}` };
}

/** The Docker endpoint of a local server's engine, as this machine reaches it. */
export const localServerEndpoint = (fleet: string, host: string) => `unix://${localServerNames(fleet, host).apiDir}/docker.sock`;

/**
 * A host's loopback address: derived from its name alone (never from its position in the file, so adding a host
 * moves no other), in 127.77.0.0/16, which nothing else on a machine uses by convention.
 */
export function defaultHostAddress(host: string): string {
  const digest = createHash("sha256").update(host).digest();
  return `127.77.${digest[0]! % 256}.${1 + (digest[1]! % 254)}`;
}

/** Addresses of all hosts (overrides first), and the pairs that collide. */
export function hostAddresses(hosts: readonly string[], overrides: Readonly<Record<string, string>>) {
  const addresses = Object.fromEntries(hosts.map((h) => [h, overrides[h] ?? defaultHostAddress(h)]));
  const byAddress = new Map<string, string[]>();
  for (const [host, address] of Object.entries(addresses)) byAddress.set(address, [...(byAddress.get(address) ?? []), host]);
  const collisions = [...byAddress.entries()].filter(([, names]) => names.length > 1).map(([address, names]) => ({ address, hosts: names }));
  return { addresses, collisions };
}

/**
 * The server engine's daemon.json. Same address pools idea as production (one small bridge per tenant), from a
 * range that does not overlap this machine's own pools (172.20.0.0/14), since the server's own interface lives there.
 */
export function localServerDaemonConfig(): string {
  return (
    JSON.stringify({
      "default-address-pools": [{ base: "172.24.0.0/14", size: 26 }],
      "registry-mirrors": [REGISTRY_MIRROR],
      "insecure-registries": [new URL(REGISTRY_MIRROR).host],
      "log-driver": "json-file",
      "log-opts": { "max-size": "10m", "max-file": "3" },
    }) + "\n"
  );
}


/**
 * The local CA bundle with `root` added, when it is not there already. Pebble makes a new root each time it starts,
 * and certificates issued before stay in the servers' acme.json chained to the old one: the bundle keeps every root
 * this machine's Pebble has had, so clients trust both. PEM text in, PEM text out.
 */
export function withRoot(bundle: string, root: string): string {
  const certificates = (text: string) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const [added] = certificates(root);
  if (!added) throw new Error("the ACME server's root is not a PEM certificate");
  const kept = certificates(bundle);
  const normalize = (pem: string) => pem.replace(/\s+/g, "");
  return (kept.some((pem) => normalize(pem) === normalize(added)) ? kept : [...kept, added]).join("\n") + "\n";
}
