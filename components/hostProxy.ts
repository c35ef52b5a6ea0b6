import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  ACME_TRUST_ROOT_FILE,
  CERT_RESOLVER,
  PRODUCTION_PORTS,
  PROXY_CERTIFICATES_MOUNT,
  TENANT_ENTRYPOINT,
  TRAEFIK_HEALTHCHECK,
  traefikEnvironment,
  traefikFlags,
  type ProxyPorts,
  type TlsMode,
} from "../fleet/traefik";
import { PROXY_CERTIFICATES_DIR } from "../fleet/cloudInit";
import { HOST_ROUTES_DIR, PROXY_ROUTES_DIR } from "../fleet/routes";
import { DEFAULT_FLEET, FLEET_LABEL, ROLE_LABEL, edgeNetworkName, traefikContainerName } from "../fleet/naming";
import { goDuration } from "../fleet/dockerFormat";
import type { TenantProxy } from "./tenantGateway";

export interface HostProxyArgs {
  /** The host's Docker engine. */
  readonly provider: docker.Provider;
  /** Prefix of Docker object names. Default "agentpod". */
  readonly fleet?: string;
  /** Traefik image, pinned (e.g. "traefik:v3.7.15"). Changing it recreates only this container. */
  readonly image: string;
  /** ACME: HTTP-01 per tenant, or DNS-01 with one wildcard per zone (Cloudflare in production, Pebble's DNS locally). */
  readonly tls: TlsMode;
  /** Cloudflare API token for DNS-01 through Cloudflare (Zone:DNS:Edit on the zone only). Secret. */
  readonly cloudflareDnsToken?: pulumi.Input<string>;
  /**
   * Ports where HTTP (redirects to HTTPS, and HTTP-01) and HTTPS are published on all the host's addresses.
   * Default 80 and 443; the local servers publish theirs on their own loopback address.
   */
  readonly ports?: ProxyPorts;
}

/**
 * The host's reverse proxy: one Traefik container that routes each tenant's domain to its gateway over HTTPS, with
 * certificates it obtains by ACME and keeps on the host's data volume (PROXY_CERTIFICATES_DIR), so a replaced
 * server serves the same certificates. It reads its routes from files the program writes on the host
 * (fleet/routes.ts, mounted read-only) and holds no Docker API; it joins tenant networks live (ProxyAttachment), so
 * adding, changing or removing a tenant never recreates or restarts it.
 */
export class HostProxy extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly edgeNetwork: docker.Network;
  /** What a tenant needs to be routed by this proxy. */
  readonly tenantProxy: TenantProxy;

  constructor(name: string, args: HostProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentpod:index:HostProxy", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    if (args.tls.kind === "dns-01" && args.tls.dns.kind === "cloudflare" && !args.cloudflareDnsToken) {
      throw new Error(`HostProxy ${name}: DNS-01 through Cloudflare needs cloudflareDnsToken (set agentpod:cloudflareDnsToken as a secret)`);
    }
    const ports = args.ports ?? PRODUCTION_PORTS;
    const fleet = args.fleet ?? DEFAULT_FLEET;
    this.edgeNetwork = this.createEdgeNetwork(name, fleet, child);
    this.container = this.createContainer(name, args, ports, child);
    this.tenantProxy = tenantProxyOf({ containerName: this.container.name, containerId: this.container.id }, args.tls.kind, ports);
    this.registerOutputs({ container: this.container.name });
  }

  /**
   * The network clients arrive on. Docker publishes a container's ports on the network whose name sorts first, and
   * "agentpod--edge" sorts before every "agentpod-<tenant>" network: without it, requests would reach Traefik
   * through some tenant's network and that tenant's gateway would see its own network's gateway as the client,
   * which it must refuse because the address lies in its trusted proxy range.
   */
  private createEdgeNetwork(name: string, fleet: string, opts: pulumi.CustomResourceOptions) {
    return new docker.Network(`${name}-edge`, { name: edgeNetworkName(fleet), driver: "bridge", labels: [{ label: ROLE_LABEL, value: "edge" }] }, opts);
  }

  private createContainer(name: string, args: HostProxyArgs, ports: ProxyPorts, opts: pulumi.CustomResourceOptions) {
    // No Docker socket: a read-only mount of it would restrict nothing (the API takes writes through it).
    const volumes: docker.types.input.ContainerVolume[] = [
      { hostPath: HOST_ROUTES_DIR, containerPath: PROXY_ROUTES_DIR, readOnly: true },
      // ACME account and certificates on the data volume: a new server reads them instead of re-issuing every
      // certificate (Let's Encrypt's rate limits). Docker creates the directory, root-only, on first start.
      { hostPath: PROXY_CERTIFICATES_DIR, containerPath: PROXY_CERTIFICATES_MOUNT },
    ];
    const plainEnv = traefikEnvironment(args.tls);
    const cloudflare = args.tls.kind === "dns-01" && args.tls.dns.kind === "cloudflare";
    // The token only ever as a secret Output: the container's env in state is encrypted.
    const envs = cloudflare ? pulumi.secret(pulumi.output(args.cloudflareDnsToken!).apply((token) => [...plainEnv, `CF_DNS_API_TOKEN=${token}`])) : plainEnv;
    const trustRoot = args.tls.ca?.trustRoot;
    return new docker.Container(
      `${name}-traefik`,
      {
        name: traefikContainerName(args.fleet ?? DEFAULT_FLEET),
        image: args.image,
        command: traefikFlags(args.tls, ports),
        restart: "unless-stopped",
        capabilities: { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] },
        securityOpts: ["no-new-privileges:true"],
        memory: 256,
        memorySwap: 256, // explicit: left unset, Docker reads back twice the memory and every preview shows a change
        ports: [
          { internal: 80, external: ports.http },
          { internal: 443, external: ports.https },
        ],
        networksAdvanced: [{ name: this.edgeNetwork.name }],
        volumes,
        ...(cloudflare || plainEnv.length > 0 ? { envs } : {}),
        ...(trustRoot ? { uploads: [{ file: ACME_TRUST_ROOT_FILE, content: trustRoot }] } : {}),
        ...(args.tls.ca?.hosts ? { hosts: Object.entries(args.tls.ca.hosts).map(([host, ip]) => ({ host, ip })) } : {}),
        labels: [{ label: ROLE_LABEL, value: "proxy" }, { label: FLEET_LABEL, value: args.fleet ?? DEFAULT_FLEET }],
        healthcheck: { tests: TRAEFIK_HEALTHCHECK, interval: goDuration(5), timeout: goDuration(3), retries: 3, startPeriod: goDuration(5), startInterval: goDuration(0) },
        wait: true,
        waitTimeout: 60,
        destroyGraceSeconds: 10,
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
      },
      // Tenant networks are joined live by ProxyAttachment and must not show up as drift on this container.
      { ...opts, ignoreChanges: ["networksAdvanced", "networkMode"] },
    );
  }
}

/** What a tenant needs of its host's proxy: one definition for the proxy's own stack and its tenants' stacks. */
export function tenantProxyOf(
  container: { containerName: pulumi.Input<string>; containerId: pulumi.Input<string> },
  challenge: TlsMode["kind"],
  ports: ProxyPorts = PRODUCTION_PORTS,
): TenantProxy {
  return { ...container, entrypoint: TENANT_ENTRYPOINT, certResolver: CERT_RESOLVER, challenge, scheme: "https", port: ports.https };
}
