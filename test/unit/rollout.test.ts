/**
 * The wave planning of image rollouts (fleet/rollout.ts): canary selection, batches per host, resuming from the
 * state, the held images each wave's run gets, the report, and reading the running images from a state.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeWaves, heldImages, planRollout, rolloutReport, type RolloutPlan, type RolloutTenant } from "../../fleet/rollout";

const OLD = "ghcr.io/openclaw/openclaw:2026.9.6";
const NEW = "ghcr.io/openclaw/openclaw:2026.9.7";

const tenant = (name: string, host: string, image = NEW, canary = false): RolloutTenant => ({ name, host, image, ...(canary ? { canary } : {}) });
const running = (entries: Record<string, string>) => new Map(Object.entries(entries));
const names = (plan: RolloutPlan) => plan.waves.map((w) => `${w.kind}: ${w.changes.map((c) => c.tenant).join(",")}`);

describe("planRollout", () => {
  const fleet = [tenant("a1", "a"), tenant("a2", "a"), tenant("a3", "a"), tenant("b1", "b"), tenant("b2", "b"), tenant("c1", "c")];
  const allOld = running(Object.fromEntries(fleet.map((t) => [t.name, OLD])));

  it("takes the first changing tenant by name as the canary, then batches per host side by side", () => {
    expect(names(planRollout(fleet, allOld, 2))).toEqual(["canary: a1", "batch: a2,a3,b1,b2,c1"]);
    expect(names(planRollout(fleet, allOld, 1))).toEqual(["canary: a1", "batch: a2,b1,c1", "batch: a3,b2"]);
  });

  it("takes the tenants marked canary: true instead, all in the canary wave", () => {
    const marked = fleet.map((t) => (t.name === "b2" || t.name === "c1" ? { ...t, canary: true } : t));
    expect(names(planRollout(marked, allOld, 1))).toEqual(["canary: b2,c1", "batch: a1,b1", "batch: a2", "batch: a3"]);
  });

  it("a canary marked on a tenant whose image does not change is not a canary: the first changing one is", () => {
    const fleetWithUnchanged = fleet.map((t) => (t.name === "a1" ? { ...t, image: OLD, canary: true } : t));
    expect(names(planRollout(fleetWithUnchanged, allOld, 5))).toEqual(["canary: a2", "batch: a3,b1,b2,c1"]);
  });

  it("leaves out new tenants (nothing runs yet) and tenants already on their image", () => {
    const plan = planRollout(fleet, running({ a1: OLD, a2: NEW, b1: OLD }), 5);
    // a2 runs NEW already: the image has passed a gate, so no canary.
    expect(names(plan)).toEqual(["batch: a1,b1"]);
    expect(planRollout(fleet, new Map(), 1).waves).toEqual([]);
  });

  it("gives each new image its own canary", () => {
    const mixed = [tenant("a1", "a", NEW), tenant("a2", "a", "ghcr.io/openclaw/openclaw:2026.9.8"), tenant("a3", "a", NEW)];
    const plan = planRollout(mixed, running({ a1: OLD, a2: OLD, a3: OLD }), 1);
    expect(names(plan)).toEqual(["canary: a1,a2", "batch: a3"]);
    expect(plan.waves[0]!.changes).toEqual([
      { tenant: "a1", host: "a", from: OLD, to: NEW },
      { tenant: "a2", host: "a", from: OLD, to: "ghcr.io/openclaw/openclaw:2026.9.8" },
    ]);
  });

  it("refuses a batch size that is not a whole number of at least 1", () => {
    expect(() => planRollout(fleet, allOld, 0)).toThrow(/batchSize must be a whole number of at least 1, not 0/);
    expect(() => planRollout(fleet, allOld, 1.5)).toThrow(RangeError);
  });

  it("holds every tenant of a later wave at the image it runs now", () => {
    const plan = planRollout(fleet, allOld, 2);
    expect(heldImages(plan, -1)).toEqual(Object.fromEntries(fleet.map((t) => [t.name, OLD])));
    expect(heldImages(plan, 0)).toEqual({ a2: OLD, a3: OLD, b1: OLD, b2: OLD, c1: OLD });
    expect(heldImages(plan, 1)).toEqual({});
    expect(describeWaves(plan)).toEqual(["canary: a1 (a)", "batch 1: a2 (a), a3 (a), b1 (b), b2 (b), c1 (c)"]);
  });
});

describe("planRollout properties", () => {
  const images = ["img:1", "img:2", "img:3"];
  const arbitraryFleet = fc
    .uniqueArray(
      fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), host: fc.constantFrom("h1", "h2", "h3"), image: fc.constantFrom(...images), canary: fc.boolean() }),
      { selector: (t) => t.name, minLength: 1, maxLength: 30 },
    )
    .chain((tenants) =>
      fc.record({
        tenants: fc.constant(tenants as RolloutTenant[]),
        // Each tenant runs some image now, or nothing yet (a new tenant).
        current: fc.tuple(...tenants.map(() => fc.option(fc.constantFrom(...images), { nil: undefined }))),
        batchSize: fc.integer({ min: 1, max: 5 }),
      }),
    )
    .map(({ tenants, current, batchSize }) => ({ tenants, batchSize, current: new Map(tenants.flatMap((t, i) => (current[i] ? [[t.name, current[i]] as const] : []))) }));

  it("every changing tenant is in exactly one wave, nobody else is; the canary wave comes first; batches respect the size per host", () => {
    fc.assert(
      fc.property(arbitraryFleet, ({ tenants, current, batchSize }) => {
        const plan = planRollout(tenants, current, batchSize);
        const changing = tenants.filter((t) => current.has(t.name) && current.get(t.name) !== t.image).map((t) => t.name).sort();
        const planned = plan.waves.flatMap((w) => w.changes.map((c) => c.tenant));
        expect([...planned].sort()).toEqual(changing);
        expect(plan.waves.slice(1).every((w) => w.kind === "batch")).toBe(true);
        for (const wave of plan.waves) {
          expect(wave.changes.length).toBeGreaterThan(0);
          for (const change of wave.changes) {
            const t = tenants.find((x) => x.name === change.tenant)!;
            expect(change).toEqual({ tenant: t.name, host: t.host, from: current.get(t.name), to: t.image });
          }
          if (wave.kind === "batch") {
            const perHost = new Map<string, number>();
            for (const c of wave.changes) perHost.set(c.host, (perHost.get(c.host) ?? 0) + 1);
            expect(Math.max(...perHost.values())).toBeLessThanOrEqual(batchSize);
          }
        }
        // A canary for every new image no tenant runs yet, and for no other.
        const unproven = new Set(changing.map((n) => tenants.find((t) => t.name === n)!.image).filter((image) => ![...current.values()].includes(image)));
        const canaryWave = plan.waves[0]?.kind === "canary" ? plan.waves[0].changes : [];
        expect(new Set(canaryWave.map((c) => c.to))).toEqual(unproven);
      }),
      { numRuns: 300 },
    );
  });

  it("resumes: after any number of waves, planning from the new state gives the remaining tenants in the same batches, without a canary", () => {
    fc.assert(
      fc.property(arbitraryFleet, fc.nat(), ({ tenants, current, batchSize }, cut) => {
        const plan = planRollout(tenants, current, batchSize);
        if (plan.waves.length === 0) return;
        const done = 1 + (cut % plan.waves.length);
        const after = new Map(current);
        for (const wave of plan.waves.slice(0, done)) for (const c of wave.changes) after.set(c.tenant, c.to);
        const resumed = planRollout(tenants, after, batchSize);
        const remaining = plan.waves.slice(done).flatMap((w) => w.changes.map((c) => c.tenant)).sort();
        expect(resumed.waves.flatMap((w) => w.changes.map((c) => c.tenant)).sort()).toEqual(remaining);
        // When no tenant leaves an image another one moves to (an upgrade, not a swap), every new image has passed
        // its canary: no canary wave again, the very batches that were left. (In a swap, an image that nobody runs
        // any more gets a canary again: safe, and rare.)
        const changes = plan.waves.flatMap((w) => w.changes);
        if (!changes.some((a) => changes.some((b) => a.to === b.from))) expect(resumed.waves).toEqual(plan.waves.slice(done));
        // Held images of the run of wave k: exactly the tenants of the waves after it, at their current images.
        for (let k = 0; k < plan.waves.length; k++) {
          const held = heldImages(plan, k);
          expect(Object.keys(held).sort()).toEqual(plan.waves.slice(k + 1).flatMap((w) => w.changes.map((c) => c.tenant)).sort());
          for (const [name, image] of Object.entries(held)) expect(image).toBe(current.get(name));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("rolloutReport", () => {
  it("says who runs what: upgraded, rolled back, not reached, unchanged", () => {
    const fleet = [tenant("a1", "a"), tenant("a2", "a"), tenant("b1", "b"), tenant("b2", "b", OLD), tenant("new", "b")];
    const current = running({ a1: OLD, a2: OLD, b1: OLD, b2: OLD });
    const plan = planRollout(fleet, current, 1);
    const rows = rolloutReport(fleet, current, plan, { upgraded: new Set(["a1"]), rolledBack: new Set(["a2"]), rollbackFailed: new Set() });
    expect(rows).toEqual([
      { tenant: "a1", host: "a", image: NEW, outcome: "upgraded" },
      { tenant: "a2", host: "a", image: OLD, outcome: "rolled back" },
      { tenant: "b1", host: "b", image: OLD, outcome: "not reached" },
      { tenant: "b2", host: "b", image: OLD, outcome: "unchanged" },
      { tenant: "new", host: "b", image: NEW, outcome: "unchanged" },
    ]);
    expect(rolloutReport(fleet, current, plan, { upgraded: new Set(), rolledBack: new Set(), rollbackFailed: new Set(["a1"]) })[0]).toEqual({ tenant: "a1", host: "a", image: `${NEW} (failing)`, outcome: "rollback failed" });
  });
});
