/**
 * Backup and recovery figures on the real engine, each printed with the command behind it: the first backup of one
 * real OpenClaw gateway (the one its host's job takes by itself within a minute of the gateway's start: time and
 * bytes restic added from its status file, bytes the object store grew by), a second, incremental backup after
 * state was written through OpenClaw, a restore of that tenant (`backup restore`, until healthy), and the
 * region-lost recovery (server AND data volume destroyed; `host replace --restore` until every tenant answers) of a
 * host of 1 and of 3 tenants (one real gateway; the others are stand-ins, agentpod/standin:1, with a little data).
 * Usage: npm run bench:backup (after scripts/setup.sh; take the e2e lock on a shared machine)
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { createLocalFleet, localDomain, docker, getVia, isPortFree, removeFleetObjects, tearDownFleet, waitFor } from "../test/support/localFleet";

const FLEET = "benchbk";
const PORT = 18480;
const HOST = "bk";
const REPO_DIR = `/var/lib/docker/volumes/agentpod-s3-data/_data/agentpod-backups/${FLEET}`;

const fleetYaml = (standins: number) => `
plans:
  basic: { cpus: 1, memory: 2Gi }
  standin: { cpus: 0.25, memory: 2Gi }
hosts:
  - { name: ${HOST}, location: fsn1, serverType: ccx63 }
tenants:
  - { name: g1, host: ${HOST}, plan: basic, image: "agentpod/openclaw:2026.9.6" }
${Array.from({ length: standins }, (_, i) => `  - { name: s${i + 1}, host: ${HOST}, plan: standin, image: "agentpod/standin:1" }`).join("\n")}
`;

const repoBytes = () => Number(spawnSync("du", ["-sb", REPO_DIR], { encoding: "utf8" }).stdout.split("\t")[0] || 0);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const line = (what: string, figure: string, command: string) => console.log(`${what.padEnd(64)} ${figure.padStart(22)}   ${command}`);

async function main() {
  console.log(`backup timings (${new Date().toISOString()}; shared machines are noisy: compare runs, not absolutes)`);
  removeFleetObjects(FLEET);
  spawnSync("rm", ["-rf", REPO_DIR]);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use`);
  const fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  const answers = (tenant: string, path = "/healthz") =>
    waitFor(`${tenant}`, async () => ((await getVia(fleet.httpsPort, localDomain(tenant), path, fleet.address(HOST))).status === 200 ? true : undefined), 600_000);
  const openclaw = (args: string) => fleet.execIn(HOST, `${FLEET}-g1`, `node dist/index.js ${args}`);
  const timed = (args: string[]) => {
    const start = performance.now();
    const out = fleet.agentpod(args);
    return { seconds: (performance.now() - start) / 1000, out };
  };
  const added = (stdout: string) => Number(/\(\+(\d+) bytes\)/.exec(stdout)?.[1] ?? NaN);
  try {
    fleet.writeTenants(fleetYaml(0));
    fleet.agentpod(["up", "--yes"]);
    await answers("g1", "/readyz");
    // The job backs a new tenant up by itself within a minute: that is the first backup.
    const statusFile = `/mnt/agentpod/backups/status/g1.json`;
    const first = await waitFor("the scheduled first backup", async () => {
      const text = spawnSync("docker", ["exec", `${FLEET}-host-${HOST}`, "cat", statusFile], { encoding: "utf8" }).stdout;
      return text ? (JSON.parse(text) as { seconds: number; addedBytes: number }) : undefined;
    }, 300_000);
    const size = spawnSync("docker", ["exec", `${FLEET}-host-${HOST}`, "du", "-sb", "/mnt/agentpod/tenants/g1"], { encoding: "utf8" }).stdout.split("\t")[0];
    console.log(`one real gateway, as OpenClaw sets itself up: ${mb(Number(size))} of tenant data`);
    line("first backup of one gateway (time)", `${first.seconds.toFixed(1)} s`, `scheduled run; ${statusFile} .seconds`);
    line("first backup: added by restic / object store growth", `${mb(first.addedBytes)} / ${mb(repoBytes())}`, "status file .addedBytes; du of the bucket prefix");
    for (let i = 1; i <= 5; i++) openclaw(`cron add bench-${i} --every 24h --disabled --command true --description "bench state ${i}" --json`);
    const before = repoBytes();
    const second = timed(["backup", "now", "g1"]);
    line("second (incremental) backup after 5 cron jobs (time)", `${second.seconds.toFixed(1)} s`, "bin/agentpod backup now g1");
    line("second backup: added by restic / object store growth", `${mb(added(second.out.stdout))} / ${mb(repoBytes() - before)}`, "restic data_added; du of the bucket prefix");
    const restore = timed(["backup", "restore", "g1"]);
    line("restore of one gateway: fetch, stop, swap, start, healthy", `${restore.seconds.toFixed(1)} s`, "bin/agentpod backup restore g1");

    for (const standins of [0, 2]) {
      fleet.writeTenants(fleetYaml(standins));
      fleet.agentpod(["up", "--yes"]);
      const names = ["g1", ...Array.from({ length: standins }, (_, i) => `s${i + 1}`)];
      await Promise.all(names.map((n) => answers(n)));
      for (const n of names.slice(1)) docker(["exec", `${FLEET}-host-${HOST}`, "sh", "-c", `echo data-of-${n} > /mnt/agentpod/tenants/${n}/data && chown 1000:1000 /mnt/agentpod/tenants/${n}/data`]);
      fleet.agentpod(["backup", "now", "--host", HOST]);
      docker(["kill", "--signal", "KILL", `${FLEET}-host-${HOST}`]);
      docker(["rm", "--force", `${FLEET}-host-${HOST}`]);
      docker(["volume", "rm", `${FLEET}-host-${HOST}-disk`, `${FLEET}-host-${HOST}-data`]);
      const start = performance.now();
      fleet.agentpod(["host", "replace", HOST, "--restore"]);
      await Promise.all(names.map((n) => answers(n)));
      const seconds = ((performance.now() - start) / 1000).toFixed(1);
      line(`region lost, host of ${names.length} tenant(s) (1 gateway): replace + restore, all answer`, `${seconds} s`, `bin/agentpod host replace ${HOST} --restore`);
    }
  } finally {
    tearDownFleet(fleet);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
