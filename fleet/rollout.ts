/**
 * Health-gated waves for image changes: which tenants change image, and in what order. Pure: no Pulumi, no Docker.
 *
 * tenants.yaml says which image each tenant should run; the stack's state says which one it runs now. Tenants whose
 * two differ are upgraded in waves: first a canary wave (the tenants marked `canary: true` whose image changes, or
 * else the first of them by name), then batches of `rollout.batchSize` tenants per host, the hosts' batches side by
 * side. A wave starts only once every tenant of the previous one has passed its gate. Re-planning from the state
 * after any wave yields the remaining waves, so a re-run continues where a stopped rollout ended; its canary wave is
 * left out once some tenant already runs the new image (that image has passed a gate). New tenants (no current
 * image) are not part of any wave: they start with their image from tenants.yaml.
 */

export interface RolloutTenant {
  readonly name: string;
  readonly host: string;
  /** The image tenants.yaml gives it. */
  readonly image: string;
  readonly canary?: boolean;
}

export interface ImageChange {
  readonly tenant: string;
  readonly host: string;
  readonly from: string;
  readonly to: string;
}

export interface Wave {
  readonly kind: "canary" | "batch";
  readonly changes: readonly ImageChange[];
}

export interface RolloutPlan {
  readonly waves: readonly Wave[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The waves that bring every tenant from its current image (`current`: tenant -> image it runs, from the state) to
 * its image in tenants.yaml, `batchSize` tenants per host at a time after the canaries.
 */
export function planRollout(tenants: readonly RolloutTenant[], current: ReadonlyMap<string, string>, batchSize: number): RolloutPlan {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a whole number of at least 1, not ${batchSize}`);
  const changes: ImageChange[] = tenants
    .filter((t) => current.has(t.name) && current.get(t.name) !== t.image)
    .map((t) => ({ tenant: t.name, host: t.host, from: current.get(t.name)!, to: t.image }))
    .sort((a, b) => byName(a.tenant, b.tenant));
  const canaryTenants = new Set(tenants.filter((t) => t.canary).map((t) => t.name));
  // An image some tenant runs already has passed a gate (or was there before waves): it needs no canary again.
  const proven = new Set(current.values());
  const canaries: ImageChange[] = [];
  for (const image of [...new Set(changes.map((c) => c.to))].sort(byName)) {
    if (proven.has(image)) continue;
    const candidates = changes.filter((c) => c.to === image);
    const marked = candidates.filter((c) => canaryTenants.has(c.tenant));
    canaries.push(...(marked.length > 0 ? marked : candidates.slice(0, 1)));
  }
  const inCanaryWave = new Set(canaries.map((c) => c.tenant));
  const perHost = new Map<string, ImageChange[]>();
  for (const change of changes) {
    if (inCanaryWave.has(change.tenant)) continue;
    perHost.set(change.host, [...(perHost.get(change.host) ?? []), change]);
  }
  const batches: ImageChange[][] = [];
  for (const host of [...perHost.keys()].sort(byName)) {
    perHost.get(host)!.forEach((change, index) => {
      const wave = Math.floor(index / batchSize);
      (batches[wave] ??= []).push(change);
    });
  }
  return {
    waves: [
      ...(canaries.length > 0 ? [{ kind: "canary" as const, changes: canaries.sort((a, b) => byName(a.tenant, b.tenant)) }] : []),
      ...batches.map((changes) => ({ kind: "batch" as const, changes })),
    ],
  };
}

/**
 * The images the program holds for the run of wave `index` (0-based): every tenant of a later wave keeps the image
 * it runs now. `-1` holds every changing tenant (nothing is upgraded: the run applies the other changes alone).
 */
export function heldImages(plan: RolloutPlan, index: number): Record<string, string> {
  const held: Record<string, string> = {};
  plan.waves.slice(index + 1).forEach((wave) => wave.changes.forEach((c) => (held[c.tenant] = c.from)));
  return held;
}

/** One line per wave: "canary: alpha (local-a)", "batch 1: bravo (local-a), charlie (local-b)". */
export function describeWaves(plan: RolloutPlan): string[] {
  let batch = 0;
  return plan.waves.map((wave) => `${wave.kind === "canary" ? "canary" : `batch ${++batch}`}: ${wave.changes.map((c) => `${c.tenant} (${c.host})`).join(", ")}`);
}

/** Where a tenant stands once a rollout has stopped or finished. */
export type RolloutOutcome = "upgraded" | "rolled back" | "rollback failed" | "not reached" | "unchanged";

export interface RolloutReportRow {
  readonly tenant: string;
  readonly host: string;
  readonly image: string;
  readonly outcome: RolloutOutcome;
}

/** Who runs which image after a rollout, tenant by tenant, sorted by name. */
export function rolloutReport(
  tenants: readonly RolloutTenant[],
  current: ReadonlyMap<string, string>,
  plan: RolloutPlan,
  outcome: { readonly upgraded: ReadonlySet<string>; readonly rolledBack: ReadonlySet<string>; readonly rollbackFailed: ReadonlySet<string> },
): RolloutReportRow[] {
  const changes = new Map(plan.waves.flatMap((w) => w.changes).map((c) => [c.tenant, c]));
  return [...tenants]
    .sort((a, b) => byName(a.name, b.name))
    .map((t) => {
      const change = changes.get(t.name);
      const before = current.get(t.name) ?? t.image;
      if (!change) return { tenant: t.name, host: t.host, image: before, outcome: "unchanged" as const };
      if (outcome.upgraded.has(t.name)) return { tenant: t.name, host: t.host, image: change.to, outcome: "upgraded" as const };
      if (outcome.rollbackFailed.has(t.name)) return { tenant: t.name, host: t.host, image: `${change.to} (failing)`, outcome: "rollback failed" as const };
      if (outcome.rolledBack.has(t.name)) return { tenant: t.name, host: t.host, image: change.from, outcome: "rolled back" as const };
      return { tenant: t.name, host: t.host, image: change.from, outcome: "not reached" as const };
    });
}

/** The type of a tenant's gateway container in the state, and its logical name (components/tenantGateway.ts). */

