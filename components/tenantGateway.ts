import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { PlanSpec } from "../fleet/catalog";
import { gatewayLimits } from "../fleet/containerChanges";
import { goDuration } from "../fleet/dockerFormat";
import {
  GATEWAY_COMMAND,
  GATEWAY_CONFIG_DIR,
  GATEWAY_ENV,
  GATEWAY_HEALTHCHECK,
  GATEWAY_HEALTH_TIMING,
  GATEWAY_TMPFS,
  GATEWAY_WORKDIR,
  GATEWAY_STATE_DIR,
  GATEWAY_USER,
  gatewayConfigDigest,
  publicOrigin,
  renderGatewayConfig,
} from "../fleet/gateway";
import { gatewayConfigDir } from "../fleet/hostScripts";
import { CONFIG_DIGEST_LABEL, DEFAULT_FLEET, FLEET_LABEL, HOST_LABEL, TENANT_LABEL, dockerNames } from "../fleet/naming";
import { GatewayConfigFile } from "../providers/gatewayConfig";
import { GatewayToken } from "../providers/gatewayToken";
import { ContainerPidsLimit } from "../providers/pidsLimit";
import { renderTenantRoute } from "../fleet/routes";
import { certificateDomains, type TlsMode } from "../fleet/traefik";
import type { HostShell } from "../providers/hostShell";
import { ProxyAttachment } from "../providers/proxyAttachment";
import { TenantRoute } from "../providers/tenantRoute";

export interface TenantProxy {
  /** Name of the host's Traefik container, which joins the tenant's network. */
  readonly containerName: pulumi.Input<string>;
  /** Its id: a recreated proxy rejoins every tenant network. */
  readonly containerId: pulumi.Input<string>;
  /** Traefik entrypoint the tenant's router listens on (HTTPS). */
  readonly entrypoint: string;
  /** Certificate resolver of the tenant's router. */
  readonly certResolver: string;
  /** The proxy's ACME challenge: with DNS-01 the router asks for the wildcard that covers the tenant (fleet/traefik.ts). */
  readonly challenge: TlsMode["kind"];
  /** Scheme and port clients use, for the gateway's allowed Control UI origin. */
  readonly scheme: "https";
  readonly port?: number;
}

export interface TenantGatewayArgs {
  /** The tenant's immutable name. It names the network, data volume and container on the host. */
  readonly name: string;
  /** The host it is placed on. Its network and container carry it as a label, so a change of host is a replacement. */
  readonly host: string;
  /** Prefix of the Docker object names (`<fleet>-<tenant>`). Default "agentpod". */
  readonly fleet?: string;
  /** Public host name; Traefik routes it to this gateway. */
  readonly domain: string;
  /** Gateway image, pinned by tag or digest (validated before this runs). */
  readonly image: string;
  /**
   * Limits, set by gatewayLimits and the pids limit. What a change does is fleet/containerChanges.ts's to say (and
   * the change summary's): memory and pids update in place, a CPU change recreates the container. The data volume is
   * never touched.
   */
  readonly plan: PlanSpec;
  /** The Docker engine of the tenant's host. Every Docker resource of the tenant goes through it. */
  readonly provider: docker.Provider;
  /** The same engine's endpoint, for the operations done with the docker CLI (pids limit, proxy attachment). */
  readonly dockerHost: pulumi.Input<string>;
  /** The host's root shell: the tenant's route file is written on the host through it. */
  readonly hostShell: pulumi.Input<HostShell>;
  readonly proxy: TenantProxy;
  /** Model API key (a secret) and the variable that carries it. Absent: the gateway runs without a model key. */
  readonly modelKey?: { readonly env: string; readonly value: pulumi.Input<string> };
  /**
   * Claims the tenant's data directory on the host's persistent volume and returns its path and the resource that
   * makes it ready (owned by UID 1000); the data volume binds that directory. Both targets: see DockerHost.
   */
  readonly prepareData: (tenant: string, parent: pulumi.Resource) => { path: string; ready: pulumi.Resource };
  /** Seconds to wait for the gateway to report healthy before the update fails. Default 180. */
  readonly healthTimeoutSeconds?: number;
  /** Change to rotate the gateway token. Default "": never rotated. */
  readonly tokenRotation?: string;
  /**
   * Whether a new health check (fleet/gateway.ts GATEWAY_HEALTHCHECK, GATEWAY_HEALTH_TIMING) reaches the running
   * container in this run. Default false: it keeps the one it was created with, since a change of it replaces the
   * container, and a fleet-wide change would restart every gateway at once. Set it when the image changes: the new
   * health check then arrives with the image, in the rollout's waves. A new container gets the current one either way.
   */
  readonly renewHealthCheck?: boolean;
}

/**
 * One customer's OpenClaw gateway: a private bridge network that only the host's proxy joins, a data volume that
 * outlives the container (and the tenant: removing it from tenants.yaml keeps the data), a generated gateway token,
 * and a hardened container with the plan's limits that must become healthy for the update to succeed.
 */
export class TenantGateway extends pulumi.ComponentResource {
  readonly network: docker.Network;
  readonly dataVolume: docker.Volume;
  readonly token: GatewayToken;
  /** The gateway's config, a file on the host mounted read-only into the container. */
  readonly config: GatewayConfigFile;
  readonly container: docker.Container;
  /** The proxy's route to the gateway (a file Traefik reads), written once the gateway is healthy. */
  readonly route: TenantRoute;
  /** Gateway token. Secret. */
  readonly gatewayToken: pulumi.Output<string>;
  readonly url: string;

  constructor(name: string, args: TenantGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentpod:index:TenantGateway", name, {}, opts);
    const names = dockerNames(args.name, args.fleet ?? DEFAULT_FLEET);
    const child = { parent: this, provider: args.provider };

    const data = args.prepareData(args.name, this);
    this.network = this.createNetwork(name, names.network, args, { ...child, dependsOn: [data.ready] });
    this.dataVolume = this.createDataVolume(name, names.volume, args, data, child);
    this.token = new GatewayToken(`${name}-token`, { rotation: args.tokenRotation ?? "" }, { parent: this });
    this.gatewayToken = this.token.value;
    // Over SSH, the docker CLI operations are pinned to the host's key like every other connection.
    const hostKey = pulumi.output(args.hostShell).apply((shell) => (shell.kind === "ssh" ? shell.hostKey : ""));
    const attachment = new ProxyAttachment(
      `${name}-proxy-attachment`,
      { dockerHost: args.dockerHost, hostKey, network: this.network.name, container: args.proxy.containerName, containerId: args.proxy.containerId },
      { parent: this },
    );
    this.config = this.createConfig(name, args);
    this.container = this.createContainer(name, names, args, attachment, child);
    new ContainerPidsLimit(
      `${name}-pids`,
      { dockerHost: args.dockerHost, hostKey, container: this.container.name, containerId: this.container.id, limit: args.plan.pids },
      { parent: this },
    );
    this.route = this.createRoute(name, names, args);
    this.url = publicOrigin(args.domain, args.proxy.scheme, args.proxy.port);
    this.registerOutputs({ url: this.url, container: this.container.name, network: this.network.name, dataVolume: this.dataVolume.name });
  }

  private createNetwork(name: string, networkName: string, args: TenantGatewayArgs, opts: pulumi.CustomResourceOptions) {
    // Its own bridge: tenants cannot reach each other; Docker isolates bridge networks from one another.
    return new docker.Network(
      `${name}-network`,
      { name: networkName, driver: "bridge", labels: [{ label: TENANT_LABEL, value: args.name }, { label: HOST_LABEL, value: args.host }] },
      opts,
    );
  }

  private createDataVolume(name: string, volumeName: string, args: TenantGatewayArgs, data: { path: string; ready: pulumi.Resource }, opts: pulumi.CustomResourceOptions) {
    const bind = { driver: "local", driverOpts: { type: "none", o: "bind", device: data.path } };
    return new docker.Volume(
      `${name}-data`,
      { name: volumeName, labels: [{ label: TENANT_LABEL, value: args.name }], ...bind },
      {
        ...opts,
        // Removing the tenant keeps its data: Pulumi forgets the volume, the engine keeps it.
        retainOnDelete: true,
        // Labels, driver and options force a replacement, and replacing a fixed-name volume deletes the live one
        // (providers.md). The name is the tenant's immutable identity, so with these ignored nothing can replace it.
        ignoreChanges: ["labels", "driver", "driverOpts"],
        dependsOn: [data.ready],
      },
    );
  }

  /**
   * After the container: it is created healthy (wait: true), so the proxy never routes the domain to a gateway that
   * is not ready, and a removed tenant's route goes before its container does.
   */
  private createRoute(name: string, names: ReturnType<typeof dockerNames>, args: TenantGatewayArgs) {
    const domains = certificateDomains(args.proxy.challenge, args.domain);
    const content = renderTenantRoute({
      tenant: args.name,
      domain: args.domain,
      container: names.container,
      entrypoint: args.proxy.entrypoint,
      certResolver: args.proxy.certResolver,
      ...(domains ? { certificateDomains: domains } : {}),
      requestsPerMinute: args.plan.requestsPerMinute,
    });
    return new TenantRoute(`${name}-route`, { tenant: args.name, shell: args.hostShell, dockerHost: args.dockerHost, content }, { parent: this, dependsOn: [this.container] });
  }

  /**
   * The gateway's config, a file on its host. It trusts the proxy, which reaches the gateway from inside the tenant
   * network: that network's subnet is the proxy's range.
   */
  private createConfig(name: string, args: TenantGatewayArgs) {
    const subnet = this.network.ipamConfigs.apply((configs) => configs.map((c) => c.subnet).filter((s): s is string => !!s));
    const content = subnet.apply((trustedProxies) =>
      renderGatewayConfig({ publicOrigin: publicOrigin(args.domain, args.proxy.scheme, args.proxy.port), trustedProxies }),
    );
    return new GatewayConfigFile(`${name}-config`, { tenant: args.name, shell: args.hostShell, dockerHost: args.dockerHost, content }, { parent: this });
  }

  private createContainer(
    name: string,
    names: ReturnType<typeof dockerNames>,
    args: TenantGatewayArgs,
    attachment: ProxyAttachment,
    opts: pulumi.CustomResourceOptions,
  ) {
    // What replaces the container when its config changes (the file itself is not a container input). Keyed with the
    // tenant's token, so the label says nothing about the config; the digest alone is no secret.
    const configDigest = pulumi.unsecret(pulumi.all([this.config.content, this.token.value]).apply(([content, token]) => gatewayConfigDigest(content, token)));
    const envs = pulumi
      .all([this.token.value, args.modelKey?.value])
      .apply(([token, modelKey]) => [
        `OPENCLAW_GATEWAY_TOKEN=${token}`,
        ...GATEWAY_ENV,
        ...(args.modelKey && modelKey ? [`${args.modelKey.env}=${modelKey}`] : []),
      ]);
    return new docker.Container(
      `${name}-gateway`,
      {
        name: names.container,
        hostname: names.hostname,
        image: args.image,
        command: GATEWAY_COMMAND,
        workingDir: GATEWAY_WORKDIR,
        user: GATEWAY_USER,
        restart: "unless-stopped",
        init: true,
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges:true"],
        // memory, memorySwap (equal: no swap) and cpus: the plan reaches the container through these alone (and the
        // pids limit). Labels, env, volumes and the like replace the container when they change
        // (fleet/containerChanges.ts), so none of them may depend on the plan.
        ...gatewayLimits(args.plan),
        envs: pulumi.secret(envs),
        // Identity, and the config digest: routes are files the proxy reads (fleet/routes.ts), not labels, so no route
        // change restarts it.
        labels: [
          ...Object.entries({ [TENANT_LABEL]: args.name, [HOST_LABEL]: args.host, [FLEET_LABEL]: args.fleet ?? DEFAULT_FLEET }).map(([label, value]) => ({ label, value })),
          { label: CONFIG_DIGEST_LABEL, value: configDigest },
        ],
        networksAdvanced: [{ name: this.network.name }],
        volumes: [
          { volumeName: this.dataVolume.name, containerPath: GATEWAY_STATE_DIR },
          { hostPath: gatewayConfigDir(args.name), containerPath: GATEWAY_CONFIG_DIR, readOnly: true },
        ],
        // Read-only root: the gateway writes its state directory (the data volume) and these bounded tmpfs only.
        readOnly: true,
        tmpfs: GATEWAY_TMPFS,
        healthcheck: {
          tests: GATEWAY_HEALTHCHECK,
          interval: goDuration(GATEWAY_HEALTH_TIMING.intervalSeconds),
          timeout: goDuration(GATEWAY_HEALTH_TIMING.timeoutSeconds),
          retries: GATEWAY_HEALTH_TIMING.retries,
          startPeriod: goDuration(GATEWAY_HEALTH_TIMING.startPeriodSeconds),
          startInterval: goDuration(GATEWAY_HEALTH_TIMING.startIntervalSeconds),
        },
        // Create fails unless the gateway turns healthy in time: a broken tenant fails `pulumi up`.
        wait: true,
        waitTimeout: args.healthTimeoutSeconds ?? 180,
        destroyGraceSeconds: 10, // SIGTERM first; the gateway stops cleanly in ~0.1 s
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
      },
      { ...opts, dependsOn: [attachment, this.config], ...(args.renewHealthCheck ? {} : { ignoreChanges: ["healthcheck"] }) },
    );
  }
}
