import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CERT_RESOLVER, TRAEFIK_HEALTHCHECK, tenantEntrypoint, traefikFlags, type TlsMode } from "../fleet/traefik";
import { HOST_ROUTES_DIR, PROXY_ROUTES_DIR } from "../fleet/routes";
import { DEFAULT_FLEET, FLEET_LABEL, ROLE_LABEL, certificateVolumeName, edgeNetworkName, traefikContainerName } from "../fleet/naming";
import { goDuration } from "../fleet/dockerFormat";
import type { TenantProxy } from "./tenantGateway";

export interface HostProxyArgs {
  /** The host's Docker engine. */
  readonly provider: docker.Provider;
  /** Prefix of Docker object names. Default "agentpod". */
  readonly fleet?: string;
  /** Traefik image, pinned (e.g. "traefik:v3.7.15"). Changing it recreates only this container. */
  readonly image: string;
  /** TLS: none (local), Let's Encrypt HTTP-01 (default in production) or DNS-01 via Cloudflare. */
  readonly tls: TlsMode;
  /** Cloudflare API token for DNS-01 (Zone:DNS:Edit on the zone only). Secret. Required for `dns-01`. */
  readonly cloudflareDnsToken?: pulumi.Input<string>;
  /**
   * Where the entrypoints are published. Production: 80 and 443 on all addresses. Local: one HTTP port on
   * 127.0.0.1 (default 8080), so tenants answer at http://<tenant>.localhost:<port>.
   */
  readonly publish?: { readonly httpPort: number; readonly httpsPort?: number; readonly address?: string };
}

/**
 * The host's reverse proxy: one Traefik container that routes each tenant's domain to its gateway. It reads its
 * routes from files the program writes on the host (fleet/routes.ts, mounted read-only) and holds no Docker API; it
 * joins tenant networks live (ProxyAttachment), so adding, changing or removing a tenant never recreates or restarts
 * it.
 */
export class HostProxy extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly edgeNetwork: docker.Network;
  /** What a tenant needs to be routed by this proxy. */
  readonly tenantProxy: TenantProxy;

  constructor(name: string, args: HostProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentpod:index:HostProxy", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    if (args.tls.kind === "dns-01" && !args.cloudflareDnsToken) {
      throw new Error(`HostProxy ${name}: DNS-01 needs cloudflareDnsToken (set agentpod:cloudflareDnsToken as a secret)`);
    }
    const publish = args.publish ?? (args.tls.kind === "none" ? { httpPort: 8080, address: "127.0.0.1" } : { httpPort: 80, httpsPort: 443 });
    const fleet = args.fleet ?? DEFAULT_FLEET;
    const certificates = args.tls.kind === "none" ? undefined : this.createCertificateVolume(name, fleet, child);
    this.edgeNetwork = this.createEdgeNetwork(name, fleet, child);
    this.container = this.createContainer(name, args, publish, certificates, child);
    this.tenantProxy = {
      containerName: this.container.name,
      containerId: this.container.id,
      entrypoint: tenantEntrypoint(args.tls),
      ...(args.tls.kind === "none" ? {} : { certResolver: CERT_RESOLVER }),
      scheme: args.tls.kind === "none" ? "http" : "https",
      port: args.tls.kind === "none" ? publish.httpPort : (publish.httpsPort ?? 443),
    };
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

  private createCertificateVolume(name: string, fleet: string, opts: pulumi.CustomResourceOptions) {
    // ACME account and certificates: losing them means re-issuing every certificate (and Let's Encrypt rate limits).
    // Per fleet, so two fleets on one engine never share an ACME account file; the default fleet's name is the one
    // it always had ("agentpod-traefik-certificates"): renaming a fixed-name volume would replace it.
    return new docker.Volume(`${name}-certificates`, { name: certificateVolumeName(fleet) }, { ...opts, retainOnDelete: true, ignoreChanges: ["labels", "driver", "driverOpts"] });
  }

  private createContainer(
    name: string,
    args: HostProxyArgs,
    publish: NonNullable<HostProxyArgs["publish"]>,
    certificates: docker.Volume | undefined,
    opts: pulumi.CustomResourceOptions,
  ) {
    const ports = [{ internal: 80, external: publish.httpPort, ...(publish.address ? { ip: publish.address } : {}) }];
    if (args.tls.kind !== "none") ports.push({ internal: 443, external: publish.httpsPort ?? 443 });
    // No Docker socket: a read-only mount of it would restrict nothing (the API takes writes through it).
    const volumes: docker.types.input.ContainerVolume[] = [{ hostPath: HOST_ROUTES_DIR, containerPath: PROXY_ROUTES_DIR, readOnly: true }];
    if (certificates) volumes.push({ volumeName: certificates.name, containerPath: "/letsencrypt" });
    return new docker.Container(
      `${name}-traefik`,
      {
        name: traefikContainerName(args.fleet ?? DEFAULT_FLEET),
        image: args.image,
        command: traefikFlags(args.tls),
        restart: "unless-stopped",
        capabilities: { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] },
        securityOpts: ["no-new-privileges:true"],
        memory: 256,
        memorySwap: 256, // explicit: left unset, Docker reads back twice the memory and every preview shows a change
        ports,
        networksAdvanced: [{ name: this.edgeNetwork.name }],
        volumes,
        ...(args.tls.kind === "dns-01" ? { envs: pulumi.secret(pulumi.output(args.cloudflareDnsToken!).apply((t) => [`CF_DNS_API_TOKEN=${t}`])) } : {}),
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
