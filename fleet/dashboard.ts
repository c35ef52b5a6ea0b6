/**
 * The customer's way into their Control UI, as plain data. The tenant's own gateway makes a one-time browser link
 * (`openclaw dashboard --no-open --json`: a short-lived bootstrap token in the URL fragment that pairs the browser
 * as the owner); the gateway only knows itself as http://127.0.0.1:18789 inside its container, so the link is
 * rewritten to the tenant's public origin. The long-lived gateway token that the same JSON also carries is never
 * passed on. Pure: tested without a gateway.
 */

/** What `openclaw dashboard --no-open --json` prints (the fields AgentPod reads). */
export interface GatewayDashboardOutput {
  readonly ok?: boolean;
  readonly browserUrl?: string;
  readonly browserBootstrapExpiresAtMs?: number;
}

export interface DashboardLink {
  /** The link to hand to the customer: the public origin, the bootstrap token and the public WebSocket URL. */
  readonly url: string;
  readonly expiresAt: Date;
}

export class DashboardLinkError extends Error {
  override name = "DashboardLinkError";
}

/** ws(s) URL of a public http(s) origin: the Control UI connects back to the gateway there, through the proxy. */
export function gatewayWebSocketUrl(publicOrigin: string): string {
  const origin = new URL(publicOrigin);
  return `${origin.protocol === "https:" ? "wss:" : "ws:"}//${origin.host}`;
}

/**
 * The one-time link on the tenant's public origin. Refuses output without a bootstrap token or expiry (an older or
 * changed gateway): falling back to the gateway token would put a long-lived secret in a URL.
 */
export function publicDashboardLink(output: GatewayDashboardOutput, publicOrigin: string): DashboardLink {
  if (!output.browserUrl || typeof output.browserBootstrapExpiresAtMs !== "number") {
    throw new DashboardLinkError("the gateway did not return a one-time browser link (no bootstrap token): is its OpenClaw version 2026.9 or later?");
  }
  const fragment = new URLSearchParams(new URL(output.browserUrl).hash.replace(/^#/, ""));
  const bootstrapToken = fragment.get("bootstrapToken");
  if (!bootstrapToken) throw new DashboardLinkError("the gateway's browser link carries no bootstrap token");
  const link = new URLSearchParams();
  link.set("bootstrapToken", bootstrapToken);
  const profile = fragment.get("bootstrapProfile");
  if (profile) link.set("bootstrapProfile", profile);
  link.set("gatewayUrl", gatewayWebSocketUrl(publicOrigin));
  const origin = new URL(publicOrigin);
  return { url: `${origin.origin}/#${link.toString()}`, expiresAt: new Date(output.browserBootstrapExpiresAtMs) };
}

/** A paired or pending device as `openclaw devices list --json` lists it (the fields AgentPod shows). */
export interface GatewayDevice {
  readonly deviceId?: string;
  readonly requestId?: string;
  readonly id?: string;
  readonly displayName?: string;
  readonly clientId?: string;
  readonly platform?: string;
  readonly role?: string;
  readonly roles?: readonly string[];
  readonly createdAtMs?: number;
  readonly approvedAtMs?: number;
  readonly ts?: number;
}

export interface DeviceRow {
  readonly state: "pending" | "paired";
  /** The id to pass to `approve` (pending: the request id) or `revoke` (paired: the device id). */
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly since: string;
}

/** Rows for `agentpod tenant devices <t> list`, pending first, from the gateway's own listing. */
export function deviceRows(listing: { pending?: readonly GatewayDevice[]; paired?: readonly GatewayDevice[] }): DeviceRow[] {
  const when = (ms?: number) => (typeof ms === "number" ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z") : "-");
  const row = (state: DeviceRow["state"], d: GatewayDevice): DeviceRow => ({
    state,
    id: (state === "pending" ? (d.requestId ?? d.id ?? d.deviceId) : (d.deviceId ?? d.id)) ?? "?",
    name: d.displayName ?? ([d.clientId, d.platform].filter(Boolean).join(" on ") || "-"),
    role: d.role ?? d.roles?.join(",") ?? "-",
    since: when(state === "pending" ? (d.ts ?? d.createdAtMs) : (d.approvedAtMs ?? d.createdAtMs)),
  });
  return [...(listing.pending ?? []).map((d) => row("pending", d)), ...(listing.paired ?? []).map((d) => row("paired", d))];
}
