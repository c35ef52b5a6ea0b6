/**
 * What Docker's health checks cost the machine while a fleet stands idle (docs/scale.md: the load that grows with
 * the number of tenants whatever a command does). N stand-ins run on this machine's engine with their image's health
 * check, every 5 s like the one the tenant component gives every gateway (a process started in the container that
 * GETs /healthz; the stand-in's is its static binary, the gateway's a Node.js start). The machine's busy CPU
 * (/proc/stat) over a quiet window with them is compared with the same window without them, per check.
 *
 * Usage: npm run bench:healthchecks [-- N]   (default 40; run it under the e2e lock, with nothing else running)
 */
import { docker } from "../test/support/localFleet";
import { machineTimes, TICK_MS } from "./support/figures";

const PREFIX = "agentpod-hcbench-";
const IMAGE = "agentpod/standin:1";
const INTERVAL_S = 5;
const WINDOW_MS = 30_000;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Busy CPU of the whole machine over the window, in ms. */
async function busyOver(ms: number): Promise<number> {
  const before = machineTimes();
  await sleep(ms);
  return (machineTimes().busy - before.busy) * TICK_MS;
}

const ours = () => docker(["ps", "-aq", "--filter", `name=^${PREFIX}`], { allowFailure: true }).split("\n").filter(Boolean);
const removeOurs = () => {
  const ids = ours();
  if (ids.length) docker(["rm", "--force", ...ids]);
};

async function main() {
  const count = Number(process.argv[2] ?? 40);
  if (!Number.isInteger(count) || count < 1) throw new Error(`expected a number of stand-ins, got ${process.argv[2]}`);
  removeOurs();
  console.log(`cost of Docker health checks (${new Date().toISOString()}; npm run bench:healthchecks -- ${count}): ${count} x ${IMAGE}, its health check every ${INTERVAL_S} s`);
  const idle = await busyOver(WINDOW_MS);
  try {
    for (let i = 0; i < count; i++)
      docker(["run", "-d", "--name", `${PREFIX}${i}`, "--health-interval", `${INTERVAL_S}s`, IMAGE]);
    await sleep(15_000); // past their start
    const healthy = docker(["ps", "--filter", `name=^${PREFIX}`, "--filter", "health=healthy", "-q"]).split("\n").filter(Boolean).length;
    const loaded = await busyOver(WINDOW_MS);
    const checks = (count * WINDOW_MS) / 1000 / INTERVAL_S;
    const perCheck = (loaded - idle) / checks;
    const line = (what: string, value: string) => console.log(`  ${what.padEnd(58)} ${value}`);
    const window = `${WINDOW_MS / 1000} s`;
    line(`machine busy over ${window}, no stand-ins`, `${(idle / 1000).toFixed(1)} s CPU`);
    line(`machine busy over ${window}, ${count} stand-ins (${healthy} healthy)`, `${(loaded / 1000).toFixed(1)} s CPU`);
    line("per health check (dockerd, containerd, shim, runc, the check)", `${perCheck.toFixed(0)} ms CPU`);
    line(`so, per 100 tenants at one check every ${INTERVAL_S} s`, `${((perCheck * 100) / INTERVAL_S / 1000).toFixed(2)} cores`);
  } finally {
    removeOurs();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
