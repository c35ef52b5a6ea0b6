/**
 * How the host's Traefik learns its routes: one file per tenant, written by the program on the host (providers/
 * tenantRoute.ts) into a directory that Traefik's file provider watches, mounted read-only. Traefik holds no Docker
 * API at all, so a compromised proxy cannot create containers or read other tenants' secrets from the engine; the
 * docker provider needs a Docker socket, and a read-only mount of it restricts nothing (the API takes writes through
 * it). Pure: the route file is plain data rendered here.
 */
import { stringify } from "yaml";
import { GATEWAY_PORT } from "./catalog";

export { HOST_ROUTES_DIR, routeFileName } from "./hostScripts";
/** Where Traefik sees the host's route directory (HOST_ROUTES_DIR), read-only. */
export const PROXY_ROUTES_DIR = "/etc/traefik/routes";

export interface TenantRouteInput {
  readonly tenant: string;
  readonly domain: string;
  /** The gateway's container name: Traefik resolves it on the tenant's network, which it has joined. */
  readonly container: string;
  /** Traefik entrypoint ("websecure"). */
  readonly entrypoint: string;
  /** Certificate resolver of the router. */
  readonly certResolver: string;
  /** The certificate to ask for when it is not the Host name's own (DNS-01: the wildcard that covers it). */
  readonly certificateDomains?: ReadonlyArray<{ readonly main: string }>;
  /** The plan's request limit (plans.<name>.requestsPerMinute). */
  readonly requestsPerMinute: number;
}

/**
 * Burst of the rate limit: ten seconds' worth of the plan's rate, and never under 50, because opening the Control UI
 * fetches a few dozen assets at once. One definition, used by the route and the README's numbers.
 */
export const rateLimitBurst = (requestsPerMinute: number) => Math.max(50, Math.ceil(requestsPerMinute / 6));

/**
 * A tenant's route: Host(domain) on the tenant entrypoint to its gateway, with a rate limit per tenant (all clients
 * of the tenant together: the bucket is keyed by the request's host name, not the client's address) and an active
 * health check, so that an unhealthy or starting gateway gets no traffic (what the docker provider did from the
 * container's health). WebSocket upgrades pass through as they are: the limit counts the upgrade request only.
 */
export function renderTenantRoute(route: TenantRouteInput): string {
  const limit = `${route.tenant}-ratelimit`;
  const document = {
    http: {
      routers: {
        [route.tenant]: {
          rule: `Host(\`${route.domain}\`)`,
          entryPoints: [route.entrypoint],
          service: route.tenant,
          middlewares: [limit],
          tls: { certResolver: route.certResolver, ...(route.certificateDomains ? { domains: route.certificateDomains } : {}) },
        },
      },
      middlewares: {
        [limit]: {
          rateLimit: { average: route.requestsPerMinute, period: "1m", burst: rateLimitBurst(route.requestsPerMinute), sourceCriterion: { requestHost: true } },
        },
      },
      services: {
        [route.tenant]: {
          loadBalancer: {
            servers: [{ url: `http://${route.container}:${GATEWAY_PORT}` }],
            // Checked every 5 s while up; every second while down, so that a restarted gateway (an image change) gets
            // its traffic back within a second of answering, not up to 5 s later (npm run bench:rollout).
            healthCheck: { path: "/healthz", interval: "5s", unhealthyInterval: "1s", timeout: "3s" },
          },
        },
      },
    },
  };
  return `# Written by AgentPod for tenant ${route.tenant}; rewritten on every change. Do not edit.\n${stringify(document)}`;
}
