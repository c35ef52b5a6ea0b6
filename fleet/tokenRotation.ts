/**
 * Gateway token rotation, as `agentpod tenant rotate-token` does it: tenants.yaml stays the truth for the fleet's
 * shape, so a rotation is recorded in the stack's config (`agentpod:tokenRotations.<tenant>`, the time of the
 * rotation) and reaches the tenant's GatewayToken through TenantGateway's `tokenRotation` input. A new value
 * replaces the token, and with it the gateway container (its environment carries the token) and the container's
 * pids limit (which follows the container). Nothing else may change in that run. Pure: no Pulumi.
 */

export const ROTATIONS_SETTING = "tokenRotations";

/** The value that records a rotation now: an ISO timestamp, always different from the previous one. */
export function nextRotation(previous: string | undefined, now: Date): string {
  const value = now.toISOString();
  const before = previous === undefined ? NaN : Date.parse(previous);
  // Two rotations within a millisecond, or a clock behind the recorded one: still a new, later value.
  if (!Number.isNaN(before) && now.getTime() <= before) return new Date(before + 1).toISOString();
  return value === previous ? `${value}.1` : value;
}

/** Logical names of the resources a rotation of this tenant's token changes. */
export function rotatedResources(tenant: string): string[] {
  return [`${tenant}-token`, `${tenant}-gateway`, `${tenant}-pids`];
}

/**
 * The provider of the dynamic resources (GatewayToken among them) is given the stack's whole config, so any config
 * change, this rotation's included, shows as an update of that provider: no resource changes by it.
 */
const DYNAMIC_PROVIDER = "pulumi:providers:pulumi-nodejs";

/** Steps of a preview that a rotation of this tenant's token does not explain (pending edits, another tenant). */
export function stepsBeyondRotation<S extends { op: string; name: string; type: string }>(tenant: string, steps: readonly S[]): S[] {
  const allowed = new Set(rotatedResources(tenant));
  return steps.filter((s) => s.op !== "same" && s.op !== "read" && !allowed.has(s.name) && !(s.op === "update" && s.type === DYNAMIC_PROVIDER));
}
