/**
 * `agentpod up` when images change: health-gated waves (fleet/rollout.ts says who goes when; this file runs them).
 *
 * 1. The new images are pulled on every host that will run them, before any container is replaced: each tenant
 *    is then down only for its own restart.
 * 2. Per wave: each tenant of the wave is snapshotted with the backup job (fleet/backup.ts: SQLite through its
 *    online backup, the rest copied, into the fleet's restic repository), then the program runs with every tenant
 *    of a later wave held at the image it runs now (RunPermissions.heldImages), then each tenant of the wave must
 *    pass its gate: its container runs the new image and is healthy (the provider waits for that on create), and
 *    `/readyz` answers 200 through its host's proxy.
 * 3. At the first wave with a tenant that fails its gate, the rollout stops: that tenant's data is put back from its
 *    snapshot (the backup job's restore and swap, as `agentpod backup restore`), the program runs with it held at
 *    its previous image, and the command exits 1 with who runs what. Tenants not reached keep their image; the
 *    state says so, so the next `up` plans the remaining waves from there.
 *
 * Changes other than images go with the first wave's run (held tenants get them too, with their current image).
 */
import { dockerNames } from "../fleet/naming";
import { hostAddresses } from "../fleet/localServers";
import { rolloutSettings, type FleetPlan, type TenantPlan } from "../fleet/plan";
import { describeWaves, heldImages, planRollout, rolloutReport, type ImageChange, type RolloutPlan } from "../fleet/rollout";
import type { RunPermissions } from "../stack/program";
import { backupScript } from "./backup";
import { refreshLocalCaBundle } from "./ca";
import { getThroughProxy } from "./httpProbe";
import { formatTable } from "./shared";
import type { Fleet } from "./fleetStacks";
import { dockerAt, hostEndpoint, stackContextOf, type StackContext } from "./stackContext";
import { stackTenantsFile } from "./tenantData";

export interface RolloutOptions {
  /** What every run of the program may do beyond tenants.yaml (`--adopt`). */
  readonly operation: RunPermissions;
  /** Runs the program once with these permissions (the caller's `stack.up`, with its policy pack and output). */
  readonly up: (operation: RunPermissions) => Promise<void>;
}

/** How long `/readyz` through the proxy may take to answer 200 once the container is healthy. */
const READYZ_TIMEOUT_MS = 60_000;

/** What the rollout needs, or undefined when no deployed tenant changes image (a plain `up` then). */
export async function planImageRollout(fleetStacks: Fleet) {
  // The image each deployed tenant runs, as its stack last applied it (the fleet's record).
  const current = new Map(Object.entries(fleetStacks.record.tenants).map(([tenant, entry]) => [tenant, entry.image]));
  if (current.size === 0) return undefined;
  const context = stackContextOf(fleetStacks);
  // A tenants file with problems: the run reports them, all at once, and changes nothing.
  const fleet = stackTenantsFile(context).fleet;
  if (!fleet) return undefined;
  const plan = planRollout(fleet.tenants, current, rolloutSettings(fleet).batchSize);
  return plan.waves.length === 0 ? undefined : { context, fleet, current, plan };
}

type Planned = NonNullable<Awaited<ReturnType<typeof planImageRollout>>>;

export async function runRollout({ context, fleet, current, plan }: Planned, options: RolloutOptions): Promise<number> {
  const log = (line: string) => console.log(`agentpod: ${line}`);
  log(`image rollout in ${plan.waves.length} wave(s), ${rolloutSettings(fleet).batchSize} tenant(s) per host per batch:\n${describeWaves(plan).map((l) => `  ${l}`).join("\n")}`);
  const upgraded = new Set<string>();
  const rolledBack = new Set<string>();
  const rollbackFailed = new Set<string>();
  const report = () => formatTable(["TENANT", "HOST", "IMAGE", "ROLLOUT"], rolloutReport(fleet.tenants, current, plan, { upgraded, rolledBack, rollbackFailed }).map((r) => [r.tenant, r.host, r.image, r.outcome]));

  const pulled = await prePull(context, plan);
  if (pulled.length > 0) {
    console.error(`agentpod: the new image could not be pulled, nothing was changed:\n${pulled.map((p) => `  ${p}`).join("\n")}`);
    return 1;
  }
  for (const [index, wave] of plan.waves.entries()) {
    const label = describeWaves(plan)[index]!;
    const snapshots = await snapshot(context, wave.changes);
    if ("error" in snapshots) {
      console.error(`agentpod: ${label}: the snapshot before the upgrade failed, so the wave did not start: ${snapshots.error}\n${report()}`);
      return 1;
    }
    log(`${label}: upgrading`);
    let upError: unknown;
    try {
      await options.up({ ...options.operation, heldImages: heldImages(plan, index) });
    } catch (error) {
      upError = error;
    }
    const gates = await Promise.all(wave.changes.map(async (change) => ({ change, gate: await passGate(context, fleet, change, change.to) })));
    for (const { change, gate } of gates) if (gate.passed) upgraded.add(change.tenant);
    const failed = gates.filter(({ gate }) => !gate.passed && gate.reached).map(({ change, gate }) => ({ change, reason: gate.reason }));
    if (failed.length === 0) {
      if (upError) {
        console.error(`agentpod: ${label}: the run failed, although no tenant of the wave failed its gate; the rollout stopped here.\n${report()}`);
        throw upError;
      }
      log(`${label}: every tenant passed its gate`);
      continue;
    }
    for (const { change, reason } of failed) console.error(`agentpod: ${change.tenant} failed its gate on ${change.to}: ${reason}; rolling it back to ${change.from}`);
    await rollBack(context, fleet, plan, index, failed.map((f) => f.change), snapshots.ids, options, { rolledBack, rollbackFailed });
    console.error(`\nagentpod: rollout stopped at ${label}; fix tenants.yaml and run \`agentpod up\` again: it continues from here.\n${report()}`);
    return 1;
  }
  log(`image rollout done:\n${report()}`);
  return 0;
}

/** `docker pull` of each new image on each host that will run it, all hosts at once. The problems, if any. */
async function prePull(context: StackContext, plan: RolloutPlan): Promise<string[]> {
  const wanted = new Map<string, Set<string>>();
  for (const change of plan.waves.flatMap((w) => w.changes)) wanted.set(change.host, (wanted.get(change.host) ?? new Set()).add(change.to));
  const problems = await Promise.all(
    [...wanted].map(async ([host, images]) => {
      const endpoint = hostEndpoint(context.settings, host, context.hosts);
      if (!endpoint) return [`${host}: no address in the stack outputs`];
      const results = await Promise.all([...images].map(async (image) => ({ image, result: await dockerAt(endpoint, ["pull", "--quiet", image], 30 * 60_000) })));
      return results.filter((r) => r.result.code !== 0).map((r) => `${host}: docker pull ${r.image}: ${r.result.stderr.trim().split("\n").pop()}`);
    }),
  );
  console.log(`agentpod: pulled ${[...wanted].sort(([a], [b]) => (a < b ? -1 : 1)).map(([host, images]) => `${[...images].sort().join(", ")} on ${host}`).join("; ")}`);
  return problems.flat();
}

/**
 * A snapshot of each tenant's data with the host's backup job, one run per host. A tenant without data (its
 * directory is empty) has nothing to lose and gets none.
 */
async function snapshot(context: StackContext, changes: readonly ImageChange[]): Promise<{ ids: Map<string, string> } | { error: string }> {
  const ids = new Map<string, string>();
  const byHost = new Map<string, string[]>();
  for (const c of changes) byHost.set(c.host, [...(byHost.get(c.host) ?? []), c.tenant]);
  for (const [host, tenants] of byHost) {
    const result = await backupScript(context, host, ["run", ...tenants]);
    for (const tenant of tenants) {
      const line = result.stdout.split("\n").find((l) => l.startsWith(`${tenant}: `)) ?? "";
      const id = /^\S+: snapshot ([0-9a-f]{8,64})\b/.exec(line)?.[1];
      if (id) ids.set(tenant, id);
      else if (!line.endsWith(": no data on this host")) return { error: `${tenant} on ${host}: ${line || result.stderr.trim() || `backup job exit ${result.code}`}` };
    }
  }
  if (ids.size > 0) console.log(`agentpod: snapshots before the upgrade: ${[...ids].map(([t, id]) => `${t} ${id}`).join(", ")}`);
  return { ids };
}

interface Gate {
  passed: boolean;
  /** The tenant's container was replaced in this run (a failure is then the new image's). */
  reached: boolean;
  reason: string;
}

/** The health gate: the container runs `image` and is healthy, then `/readyz` answers 200 through the proxy. */
async function passGate(context: StackContext, fleet: FleetPlan, change: ImageChange, image: string): Promise<Gate> {
  const endpoint = hostEndpoint(context.settings, change.host, context.hosts)!;
  const container = dockerNames(change.tenant, context.fleet).container;
  const inspected = await dockerAt(endpoint, ["inspect", "--type", "container", "--format", "{{.Config.Image}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", container], 30_000);
  const [running, status, health] = inspected.stdout.trim().split(" ");
  if (inspected.code !== 0) return { passed: false, reached: true, reason: `its container is missing (${inspected.stderr.trim().split("\n")[0]})` };
  if (running !== image) return { passed: false, reached: running !== change.from, reason: `its container runs ${running}` };
  if (status !== "running" || health !== "healthy") return { passed: false, reached: true, reason: `its container is ${status}${health ? `, ${health}` : ""}` };
  const tenant = fleet.tenants.find((t) => t.name === change.tenant)!;
  const deadline = Date.now() + READYZ_TIMEOUT_MS;
  let answer = "";
  for (;;) {
    const { status: code, body } = await readyzThroughProxy(context, fleet, tenant);
    if (code === 200) return { passed: true, reached: true, reason: "" };
    answer = code ? `${code} ${body.slice(0, 120)}` : body.slice(0, 120);
    if (Date.now() > deadline) return { passed: false, reached: true, reason: `/readyz through the proxy answered ${answer}` };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** GET /readyz as a client does: through the host's proxy, by the tenant's domain. */
async function readyzThroughProxy(context: StackContext, fleet: FleetPlan, tenant: TenantPlan): Promise<{ status: number; body: string }> {
  const settings = context.settings;
  if (settings.target !== "local") {
    return fetch(`https://${tenant.domain}/readyz`, { signal: AbortSignal.timeout(10_000) }).then(
      async (response) => ({ status: response.status, body: await response.text() }),
      (error: unknown) => ({ status: 0, body: String(error) }),
    );
  }
  const address = hostAddresses(fleet.hosts.map((h) => h.name), settings.hostAddresses).addresses[tenant.host]!;
  // No DNS locally: the host's own address, the tenant's name in the Host header and SNI, the local CA's roots.
  return getThroughProxy({ address, port: settings.httpsPort, host: tenant.domain, path: "/readyz", scheme: "https", ca: await refreshLocalCaBundle() });
}

/**
 * Puts each failed tenant back: its snapshot restored beside its data and swapped in while its container is stopped,
 * then the program run with it held at its previous image (the container is replaced, on the restored data), then
 * the gate again, on the previous image.
 */
async function rollBack(
  context: StackContext,
  fleet: FleetPlan,
  plan: RolloutPlan,
  index: number,
  failed: readonly ImageChange[],
  snapshots: ReadonlyMap<string, string>,
  options: RolloutOptions,
  outcome: { rolledBack: Set<string>; rollbackFailed: Set<string> },
): Promise<void> {
  const swapped: ImageChange[] = [];
  for (const change of failed) {
    const id = snapshots.get(change.tenant);
    if (!id) continue;
    const fetched = await backupScript(context, change.host, ["restore", change.tenant, id]);
    if (fetched.code !== 0) {
      console.error(`agentpod: ${change.tenant}: fetching snapshot ${id} failed (${fetched.stderr.trim()}); its data stays as the new image left it`);
      continue;
    }
    const endpoint = hostEndpoint(context.settings, change.host, context.hosts)!;
    await dockerAt(endpoint, ["stop", "--time", "10", dockerNames(change.tenant, context.fleet).container], 60_000);
    const swap = await backupScript(context, change.host, ["swap", change.tenant], 10 * 60_000);
    if (swap.code !== 0) console.error(`agentpod: ${change.tenant}: swapping snapshot ${id} in failed (${swap.stderr.trim()}); its data stays as the new image left it`);
    else swapped.push(change);
  }
  const held = { ...heldImages(plan, index), ...Object.fromEntries(failed.map((c) => [c.tenant, c.from])) };
  try {
    await options.up({ ...options.operation, heldImages: held });
  } catch (error) {
    console.error(`agentpod: the rollback run failed: ${error instanceof Error ? error.message.split("\n").slice(-5).join("\n") : String(error)}`);
  }
  for (const change of failed) {
    const gate = await passGate(context, fleet, change, change.from);
    (gate.passed ? outcome.rolledBack : outcome.rollbackFailed).add(change.tenant);
    if (!gate.passed) console.error(`agentpod: ${change.tenant} is not healthy on ${change.from} either: ${gate.reason}`);
    else console.error(`agentpod: ${change.tenant} runs ${change.from} again${swapped.includes(change) ? `, on its data of snapshot ${snapshots.get(change.tenant)}` : ""}`);
    // The data the new image left is kept until the gateway is healthy again on the restored copy.
    if (gate.passed && swapped.includes(change)) await backupScript(context, change.host, ["drop-previous", change.tenant], 10 * 60_000);
  }
}
