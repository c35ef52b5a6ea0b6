/**
 * The local target's servers, as plain data. Each host of a local stack is a server the program creates on this
 * machine's Docker engine, as it creates an hcloud server in production: a container running its own Docker engine
 * (Docker-in-Docker) with its own disk for engine state, its own loopback address where its proxy listens, and a
 * separately created data volume at the mount point production uses, which outlives the server.
 */
import { createHash } from "node:crypto";
import { localServerObjectNames } from "./naming";

/** Directory on this machine under which each server's Docker API socket appears (root only). */
export const SERVER_API_ROOT = "/run/agentpod/servers";
/** Where that directory is mounted inside the server; its engine listens there and on /var/run/docker.sock. */
export const SERVER_API_MOUNT = "/agentpod/api";
export const DEFAULT_SERVER_IMAGE = "agentpod/server:1";
/** The network of the registry that set-up starts (scripts/setup/registry.sh); servers pull through it. */
export const REGISTRY_NETWORK = "agentpod-registry";
export const REGISTRY_MIRROR = "http://agentpod-registry:5000";

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

