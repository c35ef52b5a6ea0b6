/**
 * What a tenant disk costs, with the production scripts (fleet/hostScripts.ts, fleet/tenantDisks.ts) run on this
 * machine as root, on a scratch directory of the filesystem Docker's volumes live on (the local servers' data
 * volumes): time to create a 5Gi disk, the bytes a new disk takes, write throughput into a disk against the plain
 * directory beside it (1 GiB, fsync'd), time to grow a disk in place, and how many loop devices the kernel offers.
 * Usage: npm run bench:disks (as root; take the e2e lock on a shared machine)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { GiB, MiB } from "../fleet/catalog";
import { HOST_DATA_MOUNT } from "../fleet/hostLayout";
import { ensureTenantDataScript, purgeTenantDataScript } from "../fleet/hostScripts";

const scratch = mkdtempSync(path.join("/var/lib/docker", "agentpod-bench-disks-"));
const sh = (script: string) => {
  const result = spawnSync("sh", ["-c", script.replaceAll(HOST_DATA_MOUNT, scratch)], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${script.slice(0, 80)}...: ${result.stderr}`);
  return result.stdout.trim();
};
const timed = (what: string, run: () => void) => {
  const started = performance.now();
  run();
  const ms = performance.now() - started;
  return ms;
};
const disk = (bytes: number) => ({ bytes, container: "agentpod-bench-none" });
const line = (figure: string, value: string, command: string) => console.log(`| ${figure} | ${value} | ${command} |`);

try {
  mkdirSync(path.join(scratch, "tenants"));
  const create: number[] = [];
  for (const tenant of ["t1", "t2", "t3"]) create.push(timed(tenant, () => sh(ensureTenantDataScript(tenant, "refuse", disk(5 * GiB)))));
  line("create a 5Gi disk (sparse image, mkfs.ext4, reservation, mount, data/)", create.map((ms) => `${ms.toFixed(0)} ms`).join(", "), "ensureTenantDataScript");
  const allocated = Number(sh(`du -B1 -s ${HOST_DATA_MOUNT}/disks/t1.ext4 | cut -f1`));
  line("bytes a new 5Gi disk takes on the volume", `${(allocated / MiB).toFixed(1)} MiB`, "du of the image");
  const room = Number(sh(`df -B1 --output=avail ${HOST_DATA_MOUNT}/tenants/t1/ | tail -n 1`));
  line("room the gateway gets in a 5Gi disk", `${(room / MiB).toFixed(0)} MiB (${((100 * room) / (5 * GiB)).toFixed(1)} %)`, "df --output=avail as UID 1000 sees it");

  const write = (dir: string) => {
    const ms = timed(dir, () => sh(`dd if=/dev/zero of=${dir}/bench bs=1M count=1024 conv=fsync status=none; rm -f ${dir}/bench`));
    return 1024 / (ms / 1000);
  };
  mkdirSync(path.join(scratch, "plain"));
  const rounds = [0, 1, 2].map(() => ({ disk: write(`${HOST_DATA_MOUNT}/tenants/t1`), plain: write(`${HOST_DATA_MOUNT}/plain`) }));
  line("write 1 GiB, fsync: into a disk", rounds.map((r) => `${r.disk.toFixed(0)} MiB/s`).join(", "), "dd bs=1M count=1024 conv=fsync");
  line("the same into the plain volume beside it", rounds.map((r) => `${r.plain.toFixed(0)} MiB/s`).join(", "), "dd bs=1M count=1024 conv=fsync");

  const grow = timed("grow", () => sh(ensureTenantDataScript("t1", "adopt", disk(8 * GiB))));
  line("grow 5Gi to 8Gi in place (within the image's headroom)", `${grow.toFixed(0)} ms`, "ensureTenantDataScript with a larger disk");
  const maxLoop = execFileSync("cat", ["/sys/module/loop/parameters/max_loop"], { encoding: "utf8" }).trim();
  line("loop devices: one per tenant disk; the kernel's limit", maxLoop === "0" ? "created on demand (max_loop=0)" : `max_loop=${maxLoop} pre-created, more on demand`, "/sys/module/loop/parameters/max_loop");
} finally {
  for (const tenant of ["t1", "t2", "t3"]) spawnSync("sh", ["-c", purgeTenantDataScript(tenant).replaceAll(HOST_DATA_MOUNT, scratch)]);
  rmSync(scratch, { recursive: true, force: true });
}
