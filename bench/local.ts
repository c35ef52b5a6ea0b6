/**
 * Timings of the local target on the real engine, printed with the command behind each figure:
 *   set-up (warm; cold with --cold), `up` of 3 tenants from nothing, and adding one tenant to a running fleet of 3
 *   and of 50 until it answers through Traefik.
 * Usage: npm run bench:local [-- --cold]. The 50-tenant fleet runs 49 stand-ins (agentpod/standin:1, which answers
 * /healthz like a gateway, at ~25 MiB instead of ~1 GB); every tenant that is timed is a real OpenClaw gateway.
 * --cold measures set-up with empty caches (Go modules and build cache, npm, the agentpod cache, plugins) and
 * rebuilds the local images: about 20 minutes of CPU, and it replaces the agentpod/* images.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { createLocalFleet, localDomain, docker, getVia, isPortFree, removeFleetObjects, tearDownFleet, waitFor } from "../test/support/localFleet";
import { report, timeCommand } from "./support/figures";

const FLEET = "bench";
const PORT = 18280;

const fleetYaml = (tenants: string[]) => `
plans:
  basic: { cpus: 1, memory: 2Gi }
  standin: { cpus: 0.25, memory: 2Gi }
hosts:
  - { name: local, location: fsn1, serverType: ccx63 }
tenants:
${tenants.join("\n")}
`;
const gateway = (name: string) => `  - { name: ${name}, host: local, plan: basic, image: "agentpod/openclaw:2026.9.6" }`;
const standin = (name: string) => `  - { name: ${name}, host: local, plan: standin, image: "agentpod/standin:1" }`;

async function main() {
  const cold = process.argv.includes("--cold");
  console.log(`local target timings (${new Date().toISOString()}, ${process.env.HOSTNAME ?? "this machine"}; shared machines are noisy: compare runs, not absolutes)`);
  if (cold) {
    const scratch = mkdtempSync(path.join(tmpdir(), "agentpod-cold-"));
    docker(["rmi", "-f", "agentpod/openclaw:2026.9.6", "agentpod/traefik:v3.7.15", "agentpod/standin:1", "agentpod/debian-base:bookworm"], { allowFailure: true });
    const env = {
      AGENTPOD_CACHE: path.join(scratch, "agentpod"),
      GOMODCACHE: path.join(scratch, "gomod"),
      GOCACHE: path.join(scratch, "gocache"),
      npm_config_cache: path.join(scratch, "npm"),
      PULUMI_HOME: path.join(scratch, "pulumi-home"),
    };
    report("set-up, cold (empty caches, images rebuilt)", timeCommand("rm -rf node_modules/.agentpod-lock && bash scripts/setup.sh", env), "rm node_modules/.agentpod-lock; AGENTPOD_CACHE=... GOMODCACHE=... GOCACHE=... scripts/setup.sh");
    rmSync(scratch, { recursive: true, force: true });
  }
  report("set-up, warm", timeCommand("bash scripts/setup.sh"), "scripts/setup.sh");

  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use`);
  const fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  const answers = (tenant: string) => waitFor(`${tenant} through Traefik`, async () => ((await getVia(fleet.httpsPort, localDomain(tenant), "/healthz", fleet.address("local"))).status === 200 ? true : undefined), 300_000);
  const upUntilAnswers = async (tenants: string[], newTenant: string) => {
    fleet.writeTenants(fleetYaml(tenants));
    const start = performance.now();
    fleet.agentpod(["up", "--yes"]);
    await answers(newTenant);
    return performance.now() - start;
  };
  try {
    const three = ["a1", "a2", "a3"].map(gateway);
    fleet.writeTenants(fleetYaml(three));
    let start = performance.now();
    fleet.agentpod(["up", "--yes"]);
    await Promise.all(["a1", "a2", "a3"].map(answers));
    report("up of 3 gateways from nothing, until all answer", performance.now() - start, "bin/agentpod up --yes (3 new tenants)");
    report("add 1 gateway to a fleet of 3, until it answers", await upUntilAnswers([...three, gateway("a4")], "a4"), "bin/agentpod up --yes (+1 tenant)");

    const bulk = Array.from({ length: 49 }, (_, i) => standin(`s${String(i + 1).padStart(2, "0")}`));
    start = performance.now();
    fleet.writeTenants(fleetYaml([gateway("a1"), ...bulk]));
    fleet.agentpod(["up", "--yes"]);
    report("grow to 50 (1 gateway + 49 stand-ins)", performance.now() - start, "bin/agentpod up --yes (-3, +49 stand-in tenants)");
    report("add 1 gateway to a fleet of 50, until it answers", await upUntilAnswers([gateway("a1"), ...bulk, gateway("a5")], "a5"), "bin/agentpod up --yes (+1 tenant)");
  } finally {
    tearDownFleet(fleet);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
