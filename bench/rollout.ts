/**
 * Per-tenant downtime of an image change, through Traefik, beside each gateway's own start-to-healthy time.
 *
 * One local server runs a real OpenClaw gateway and three stand-ins. The image change (OpenClaw 2026.9.6 to its
 * rebuild tag 2026.9.6-r1, the stand-ins from release-1 to release-2) is applied by `bin/agentpod up`, which rolls
 * it out in health-gated waves (canary, then batches of 2) after pulling the new images on the host. A probe loop
 * per tenant (test/support/localFleet.ts, each in a worker thread) GETs /healthz through Traefik every 100 ms:
 * a tenant's downtime is the span from its first failed probe to its last, plus one interval. Start-to-healthy is
 * the gateway's own: its new container's start to its first passing health check (the host engine's events; checks
 * run every second while it starts, GATEWAY_HEALTH_TIMING in fleet/gateway.ts, so this is at most a second past the
 * moment it could answer). Target: downtime <= start-to-healthy + 2 s.
 * Usage: npm run bench:rollout (under the e2e lock: flock /tmp/agentpod-e2e.lock npm run bench:rollout).
 */
import { performance } from "node:perf_hooks";
import { createLocalFleet, localDomain, getVia, isPortFree, probeLoop, removeFleetObjects, tearDownFleet, waitFor } from "../test/support/localFleet";
import { seconds } from "./support/figures";

const FLEET = "benchwave";
const PORT = 18685;
const HOST = "local-a";
const PROBE_INTERVAL_MS = 100;
const GATEWAY = ["agentpod/openclaw:2026.9.6", "agentpod/openclaw:2026.9.6-r1"] as const;
const STANDIN = ["agentpod/standin:release-1", "agentpod/standin:release-2"] as const;
const TENANTS: Record<string, typeof GATEWAY | typeof STANDIN> = { gw: GATEWAY, s1: STANDIN, s2: STANDIN, s3: STANDIN };

const fleetYaml = (release: 0 | 1) => `
plans:
  basic: { cpus: 1, memory: 2Gi }
  standin: { cpus: 0.25, memory: 2Gi }
rollout:
  batchSize: 2
hosts:
  - { name: ${HOST}, location: fsn1, serverType: ccx63 }
tenants:
${Object.entries(TENANTS)
  .map(([name, images]) => `  - { name: ${name}, host: ${HOST}, plan: ${images === GATEWAY ? "basic" : "standin"}, image: "${images[release]}"${name === "gw" ? ", canary: true" : ""} }`)
  .join("\n")}
`;

interface EngineEvent {
  name: string;
  action: string;
  /** Epoch ms. */
  at: number;
}

const engineEvents = (text: string): EngineEvent[] =>
  text
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split("|"))
    .map(([name, action, nanos]) => ({ name: name!, action: action!, at: Number(BigInt(nanos!) / 1_000_000n) }));

const lastEvent = (events: readonly EngineEvent[], name: string, action: string) => events.filter((e) => e.name === name && e.action === action).pop()?.at ?? NaN;

async function main() {
  console.log(`image rollout downtime (${new Date().toISOString()}; shared 2-core machine: compare runs, not absolutes)`);
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use`);
  const fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  const address = fleet.address(HOST);
  try {
    fleet.writeTenants(fleetYaml(0));
    fleet.agentpod(["up", "--yes"]);
    for (const tenant of Object.keys(TENANTS)) {
      await waitFor(`${tenant} ready`, async () => ((await getVia(fleet.httpsPort, localDomain(tenant), "/readyz", address)).status === 200 ? true : undefined), 300_000);
    }

    const loopStarted = Date.now();
    // One loop per tenant: a round of one loop waits for all its targets, and a request to a gateway that is gone can
    // hang for seconds, which would blur the others' figures.
    const loops = Object.keys(TENANTS).map((tenant) => probeLoop([{ port: fleet.httpsPort, host: localDomain(tenant), address }], PROBE_INTERVAL_MS));
    fleet.writeTenants(fleetYaml(1));
    const start = performance.now();
    const up = await fleet.agentpodAsync(["up", "--yes"]);
    const upMs = performance.now() - start;
    // A moment for the last replaced tenant's probes to come back.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stopped = await Promise.all(loops.map((loop) => loop.stop()));
    const failures = stopped.flatMap((loop) => loop.failures);
    const requests = stopped.reduce((sum, loop) => sum + loop.requests, 0);
    const events = engineEvents(fleet.docker(HOST, ["events", "--since", String(Math.floor(loopStarted / 1000) - 1), "--until", String(Math.ceil(Date.now() / 1000)), "--filter", "type=container", "--format", "{{.Actor.Attributes.name}}|{{.Action}}|{{.TimeNano}}"]));
    const waves = up.stdout.split("\n").filter((l) => /^\s+(canary|batch \d+):/.test(l)).map((l) => l.trim());

    console.log(`\n${"tenant".padEnd(8)}${"image change".padEnd(62)}${"downtime".padStart(10)}${"start-to-healthy".padStart(18)}${"target".padStart(9)}`);
    let allMet = true;
    for (const [tenant, images] of Object.entries(TENANTS)) {
      const mine = failures.filter((f) => f.host === localDomain(tenant));
      const downtimeMs = mine.length ? mine[mine.length - 1]!.at - mine[0]!.at + PROBE_INTERVAL_MS : 0;
      // The health log keeps 5 checks only: the engine's events say when the new container started and turned healthy.
      const startedAt = lastEvent(events, `${FLEET}-${tenant}`, "start");
      const healthyAt = events.find((e) => e.name === `${FLEET}-${tenant}` && e.action === "health_status: healthy" && e.at >= startedAt)?.at;
      const healthyMs = healthyAt === undefined ? NaN : healthyAt - startedAt;
      const met = downtimeMs <= healthyMs + 2000;
      allMet &&= met;
      const outage = mine.length ? ` (failed probes ${mine.length}, from ${seconds(loopStarted + mine[0]!.at - startedAt)} relative to the new container's start)` : "";
      console.log(`${tenant.padEnd(8)}${`${images[0]} -> ${images[1]}`.padEnd(62)}${seconds(downtimeMs).padStart(10)}${seconds(healthyMs).padStart(18)}${(met ? "met" : "MISSED").padStart(9)}${outage}`);
    }
    console.log(`\nwaves: ${waves.join(" | ")}`);
    console.log(`probes: ${requests} requests through Traefik, every ${PROBE_INTERVAL_MS} ms per tenant`);
    console.log(`whole rollout (pull, snapshots, ${waves.length} gated waves): ${seconds(upMs)}`);
    console.log(`commands: downtime = probe loop on GET /healthz through Traefik during \`bin/agentpod up --yes\` (images above);`);
    console.log(`          start-to-healthy = docker events on ${HOST}'s engine (container ${FLEET}-<tenant>: start to health_status: healthy)`);
    console.log(`target (downtime <= start-to-healthy + 2 s): ${allMet ? "met for every tenant" : "MISSED for some tenant"}`);
  } finally {
    tearDownFleet(fleet);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
