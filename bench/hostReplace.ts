/**
 * Recovery time of a lost host on the real engine, printed with the command behind each figure: the time from
 * `agentpod host replace <host>` to the last of the host's tenants answering /healthz through the new server's
 * proxy, for 2 and for 6 tenants on the lost host. Two of them are real OpenClaw gateways; the rest are stand-ins
 * (agentpod/standin:1, which answers /healthz like a gateway at ~25 MiB). The server dies the way a server does:
 * killed, then removed with its disk.
 * Usage: npm run bench:replace
 */
import { performance } from "node:perf_hooks";
import { createLocalFleet, localDomain, docker, getVia, isPortFree, removeFleetObjects, tearDownFleet, waitFor } from "../test/support/localFleet";

const FLEET = "benchrepl";
const PORT = 18380;
const LOST = "lost";

const fleetYaml = (tenants: string[]) => `
plans:
  basic: { cpus: 1, memory: 2Gi }
  standin: { cpus: 0.25, memory: 2Gi }
hosts:
  - { name: kept, location: fsn1, serverType: ccx63 }
  - { name: ${LOST}, location: fsn1, serverType: ccx63 }
tenants:
  - { name: k1, host: kept, plan: standin, image: "agentpod/standin:1" }
${tenants.join("\n")}
`;
const gateway = (name: string) => `  - { name: ${name}, host: ${LOST}, plan: basic, image: "agentpod/openclaw:2026.9.6" }`;
const standin = (name: string) => `  - { name: ${name}, host: ${LOST}, plan: standin, image: "agentpod/standin:1" }`;

async function main() {
  console.log(`host replacement timings (${new Date().toISOString()}; shared machines are noisy: compare runs, not absolutes)`);
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use`);
  const fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  const answers = (tenant: string) =>
    waitFor(`${tenant} through the new server's proxy`, async () => ((await getVia(fleet.httpsPort, localDomain(tenant), "/healthz", fleet.address(LOST))).status === 200 ? true : undefined), 600_000);
  try {
    for (const count of [2, 6]) {
      const names = Array.from({ length: count }, (_, i) => `t${i + 1}`);
      fleet.writeTenants(fleetYaml(names.map((n, i) => (i < 2 ? gateway(n) : standin(n)))));
      fleet.agentpod(["up", "--yes"]);
      await Promise.all(names.map(answers));
      docker(["kill", "--signal", "KILL", `${FLEET}-host-${LOST}`]);
      docker(["rm", "--force", `${FLEET}-host-${LOST}`]);
      docker(["volume", "rm", `${FLEET}-host-${LOST}-disk`]);
      const start = performance.now();
      fleet.agentpod(["host", "replace", LOST]);
      await Promise.all(names.map(answers));
      const seconds = ((performance.now() - start) / 1000).toFixed(1);
      console.log(`${`replace a lost host of ${count} tenants (2 gateways), until the last answers`.padEnd(72)} ${seconds.padStart(7)} s   bin/agentpod host replace ${LOST}`);
    }
  } finally {
    tearDownFleet(fleet);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
