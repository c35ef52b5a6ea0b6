/**
 * Backups you have restored, on the real engine: one local server with a real OpenClaw gateway whose state is
 * written through OpenClaw itself; the host's backup job (real restic, real sqlite3) writes to the real S3 server
 * set-up starts (versitygw). Restores by snapshot, another host's lock on the fleet's repository (waited for, not
 * failed on), wrong object store settings (reported naming the setting, nothing deleted), a backup killed
 * mid-upload, and the region-lost drill: the server AND its data volume are destroyed, `host replace` refuses to
 * start the customer's gateway empty, `host replace --restore` brings it back from the object store with its state,
 * checked through OpenClaw.
 * Each test builds on the previous one (one fleet, in order); own prefix and port, beside a developer's stack.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO, createLocalFleet, localDomain, docker, getVia, handshake, isPortFree, removeFleetObjects, waitFor, type LocalFleet } from "../support/localFleet";

const FLEET = "vault";
const PORT = 18280;
const HOST = "vault-a";
const TENANT = "gold";
const CONTAINER = `${FLEET}-${TENANT}`;
const JOB = `${FLEET}--backup`;
const S3_VOLUME_REPO = `/var/lib/docker/volumes/agentpod-s3-data/_data/agentpod-backups/${FLEET}`;

const TENANTS = `
defaults:
  image: agentpod/openclaw:2026.9.6
  plan: vault
plans:
  vault: { cpus: 1, memory: 2Gi }
hosts:
  - { name: ${HOST}, location: fsn1, serverType: ccx33 }
tenants:
  - { name: ${TENANT}, host: ${HOST} }
`;

let fleet: LocalFleet;
let token = "";
const openclaw = (args: string) => fleet.execIn(HOST, CONTAINER, `node dist/index.js ${args}`);
const addJob = (name: string) => openclaw(`cron add ${name} --every 24h --disabled --command true --description "state ${name}" --json`);
const readState = () =>
  (JSON.parse(openclaw("cron list --all --json")).jobs as Array<{ name: string; description?: string }>)
    .filter((j) => j.name.startsWith("vault-"))
    .map((j) => `${j.name}: ${j.description}`)
    .sort();
const marker = () => fleet.execIn(HOST, CONTAINER, "cat /home/node/.openclaw/vault-marker").trim();
const ready = () =>
  waitFor(`${TENANT} /readyz through its proxy`, async () => ((await getVia(fleet.httpsPort, localDomain(TENANT), "/readyz", fleet.address(HOST))).status === 200 ? true : undefined), 240_000);
const snapshotIds = () => {
  const out = fleet.agentpod(["backup", "list", TENANT]).stdout;
  return out.split("\n").slice(1).filter(Boolean).map((line) => line.split(/\s+/)[0]!);
};
const repoBytes = () => Number(spawnSync("du", ["-sb", S3_VOLUME_REPO], { encoding: "utf8" }).stdout.split("\t")[0] || 0);
const startedAt = () => fleet.docker(HOST, ["inspect", CONTAINER, "--format", "{{.State.StartedAt}}"]);
/** bin/agentpod without blocking this process (the test watches the upload while the backup runs). */
function agentpodAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REPO, "bin", "agentpod"), [...args, "--stack", fleet.stack, "--project", fleet.dir], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk) => (stderr += String(chunk)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}
beforeAll(() => {
  removeFleetObjects(FLEET);
  // A clean repository for this fleet (the test's own prefix in the local bucket; nothing else is touched).
  if (existsSync(S3_VOLUME_REPO)) spawnSync("rm", ["-rf", S3_VOLUME_REPO]);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use: the drill needs it`);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
});

afterAll(() => {
  fleet?.agentpod(["destroy", "--yes"], { allowFailure: true });
  removeFleetObjects(FLEET);
  fleet?.dispose();
});

describe("backups on the real engine: scheduled job, restore, faults and the region-lost drill", () => {
  test("up creates the host's backup job; a backup taken while the gateway runs holds its state, SQLite through its online backup", async () => {
    fleet.writeTenants(TENANTS);
    fleet.agentpod(["up", "--yes"]);
    await ready();
    // The job is hardened: no capability but the file ones it needs, no new privileges, no Docker socket.
    const job = JSON.parse(fleet.docker(HOST, ["inspect", JOB]))[0];
    expect(job.HostConfig.CapDrop).toEqual(["ALL"]);
    expect((job.HostConfig.CapAdd as string[]).map((c) => c.replace(/^CAP_/, "")).sort()).toEqual(["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "SETGID", "SETUID"]);
    expect(job.HostConfig.SecurityOpt).toContain("no-new-privileges:true");
    expect(JSON.stringify(job.Mounts)).not.toContain("docker.sock");
    expect(job.Config.Env.join("\n")).toContain(`RESTIC_REPOSITORY=s3:http://agentpod-s3:7070/agentpod-backups/${FLEET}`);

    addJob("vault-one");
    fleet.execIn(HOST, CONTAINER, "echo marker-one > /home/node/.openclaw/vault-marker");
    const gatewayStarted = startedAt();
    const now = fleet.agentpod(["backup", "now", TENANT]);
    expect(now.stdout).toMatch(new RegExp(`${HOST}\\s+${TENANT}: snapshot [0-9a-f]{8} \\(\\+\\d+ bytes\\)`));
    // Online: the gateway was not stopped or restarted.
    expect(startedAt()).toBe(gatewayStarted);
    // The live database has a write-ahead log; no snapshot holds a -wal or -shm file, and the database it holds is whole.
    expect(fleet.execIn(HOST, CONTAINER, "ls /home/node/.openclaw/state")).toMatch(/openclaw\.sqlite/);
    const files = fleet.docker(HOST, ["exec", JOB, "sh", "-c", `restic ls --json latest --host ${FLEET} --tag tenant=${TENANT} | jq -r 'select(.type == "file") | .path'`]);
    expect(files).toMatch(/state\/openclaw\.sqlite$/m);
    expect(files).not.toMatch(/-(wal|shm|journal)$/m);
    expect(snapshotIds().length).toBeGreaterThanOrEqual(1);
    const status = fleet.agentpod(["status"]);
    expect(status.stdout).toMatch(new RegExp(`${TENANT}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\d+s\\s+[0-9a-f]{8}\\s+ok`));
    expect(status.stdout).toContain("backups: every tenant's last backup is recent");
    token = JSON.parse(fleet.agentpod(["outputs", "--show-secrets"]).stdout).gatewayTokens[TENANT];
  });

  test("restore puts an earlier snapshot back: the gateway is stopped, the data swapped, the gateway healthy again with that state", async () => {
    const [first] = snapshotIds().slice(-1);
    addJob("vault-two");
    fleet.agentpod(["backup", "now", TENANT]);
    expect(readState()).toEqual(["vault-one: state vault-one", "vault-two: state vault-two"]);
    const restored = fleet.agentpod(["backup", "restore", TENANT, "--snapshot", first!]);
    expect(restored.stdout).toMatch(new RegExp(`${TENANT} restored from snapshot ${first} on host ${HOST} and healthy again in [\\d.]+ s`));
    await ready();
    expect(readState()).toEqual(["vault-one: state vault-one"]);
    // The previous copy was dropped once the gateway was healthy; the data belongs to the gateway's user.
    expect(docker(["exec", `${FLEET}-host-${HOST}`, "sh", "-c", "ls -A /mnt/agentpod/tenants; stat -c %u /mnt/agentpod/tenants/gold"]).split("\n")).toEqual([TENANT, "1000"]);
    // And the latest snapshot back: both jobs.
    fleet.agentpod(["backup", "restore", TENANT]);
    await ready();
    expect(readState()).toEqual(["vault-one: state vault-one", "vault-two: state vault-two"]);
    // A snapshot of another tenant (or none) is refused before anything changes.
    const wrong = fleet.agentpod(["backup", "restore", TENANT, "--snapshot", "deadbeef"], { allowFailure: true });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("snapshot deadbeef is not a snapshot of tenant gold");
  });

  test("a lock another host holds on the fleet's repository (its prune): the list reads past it, a backup waits for it instead of failing", async () => {
    const before = snapshotIds();
    // The other host: a prune stopped right after it has locked the repository exclusively (without a cache and at
    // 1 KiB/s it is still loading the index when the poll sees it start, so it is stopped holding the lock).
    const holder = fleet.docker(HOST, ["exec", JOB, "bash", "-c",
      `restic --no-cache prune --dry-run --limit-download 1 >/tmp/holder.out 2>&1 & pid=$!
       until grep -q "loading indexes" /tmp/holder.out || ! kill -0 $pid 2>/dev/null; do sleep 0.05; done
       kill -STOP $pid && echo $pid`]).trim();
    expect(holder).toMatch(/^\d+$/);
    const release = () => fleet.docker(HOST, ["exec", JOB, "sh", "-c", `kill -INT ${holder}; kill -CONT ${holder}`], { allowFailure: true });
    try {
      // Positive control: the lock is held, and restic itself refuses what needs one.
      const refused = fleet.docker(HOST, ["exec", JOB, "sh", "-c", "restic snapshots 2>&1; echo exit=$?"], { allowFailure: true });
      expect(refused).toContain("repository is already locked exclusively");
      expect(refused).toMatch(/exit=[1-9]/);

      expect(snapshotIds()).toEqual(before);
      let finished = false;
      const waiting = agentpodAsync(["backup", "now", TENANT]).finally(() => (finished = true));
      await sleep(15_000);
      expect(finished).toBe(false);
      release();
      const now = await waiting;
      expect(now.status).toBe(0);
      expect(now.stdout).toMatch(new RegExp(`${TENANT}: snapshot [0-9a-f]{8}`));
      expect(snapshotIds().length).toBe(before.length + 1);
    } finally {
      release();
    }
    // The holder let go of its lock as it stopped: nothing is left locked.
    expect(fleet.docker(HOST, ["exec", JOB, "restic", "--no-lock", "list", "locks"])).toBe("");
  });

  test("a wrong bucket or credential is reported by up and by backup now, naming the setting; nothing is deleted; status exits 1 until fixed", async () => {
    const before = snapshotIds();
    const bytes = repoBytes();
    fleet.setConfig("backupBucket", "no-such-bucket");
    const up = fleet.agentpod(["up", "--yes"], { allowFailure: true });
    expect(up.status).toBe(1);
    expect(up.stderr).toContain("bucket no-such-bucket does not exist at http://agentpod-s3:7070: check agentpod:backupBucket");
    const now = fleet.agentpod(["backup", "now", TENANT], { allowFailure: true });
    expect(now.status).toBe(1);
    expect(now.stderr).toContain("check agentpod:backupBucket; nothing was backed up and nothing was deleted");
    const failing = fleet.agentpod(["status"], { allowFailure: true });
    expect(failing.status).toBe(1);
    expect(failing.stdout).toContain(`backups failing for ${TENANT}`);
    expect(failing.stdout).toContain("check agentpod:backupBucket");
    // The bucket that does not exist was not created (no `restic init` after an error).
    expect(existsSync("/var/lib/docker/volumes/agentpod-s3-data/_data/no-such-bucket")).toBe(false);

    // A wrong secret key: the local stack's credentials come from set-up's file (AGENTPOD_CACHE), here a copy with
    // the secret key changed, as an operator's typo in agentpod:backupSecretAccessKey would.
    fleet.setConfig("backupBucket", "agentpod-backups");
    const cache = process.env.AGENTPOD_CACHE ?? path.join(process.env.HOME ?? "/root", ".cache", "agentpod");
    const wrongCache = mkdtempSync(path.join(tmpdir(), "agentpod-vault-cache-"));
    symlinkSync(path.join(cache, "bin"), path.join(wrongCache, "bin"));
    symlinkSync(path.join(cache, "acme"), path.join(wrongCache, "acme")); // the local CA: only the S3 secret is wrong
    mkdirSync(path.join(wrongCache, "s3"), { mode: 0o700 });
    const credentials = readFileSync(path.join(cache, "s3", "credentials"), "utf8");
    writeFileSync(path.join(wrongCache, "s3", "credentials"), credentials.replace(/^AWS_SECRET_ACCESS_KEY=.*$/m, "AWS_SECRET_ACCESS_KEY=notTheSecret0"), { mode: 0o600 });
    process.env.AGENTPOD_CACHE = wrongCache;
    let badKey;
    try {
      badKey = fleet.agentpod(["up", "--yes"], { allowFailure: true });
    } finally {
      if (cache === path.join(process.env.HOME ?? "/root", ".cache", "agentpod")) delete process.env.AGENTPOD_CACHE;
      else process.env.AGENTPOD_CACHE = cache;
      rmSync(wrongCache, { recursive: true, force: true });
    }
    expect(badKey.status).toBe(1);
    expect(badKey.stderr).toContain("the object store refused the request signature: check agentpod:backupSecretAccessKey");
    expect(badKey.stdout + badKey.stderr).not.toContain("notTheSecret0");

    // Fixed: up passes, the next backup succeeds, and every earlier snapshot is still there.
    fleet.agentpod(["up", "--yes"]);
    fleet.agentpod(["backup", "now", TENANT]);
    const after = snapshotIds();
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBe(before.length + 1);
    expect(repoBytes()).toBeGreaterThanOrEqual(bytes);
    expect(fleet.agentpod(["status"]).stdout).toContain("backups: every tenant's last backup is recent");
  });

  test("a backup killed mid-upload leaves the previous snapshots intact, and the next run succeeds", async () => {
    const before = snapshotIds();
    // Enough incompressible data that the upload takes a while.
    fleet.execIn(HOST, CONTAINER, "head -c 200000000 /dev/urandom > /home/node/.openclaw/vault-big.bin");
    const baseline = repoBytes();
    const running = agentpodAsync(["backup", "now", TENANT]);
    await waitFor("the upload to be under way", async () => (repoBytes() > baseline + 30_000_000 ? true : undefined), 180_000);
    fleet.docker(HOST, ["exec", JOB, "pkill", "-KILL", "-x", "restic"]);
    const killed = await running;
    expect(killed.status).toBe(1);
    expect(killed.stdout).toContain(`${TENANT}: FAILED`);
    expect(snapshotIds()).toEqual(before);
    // The next run clears the stale lock and succeeds; the repository is consistent.
    fleet.execIn(HOST, CONTAINER, "rm /home/node/.openclaw/vault-big.bin");
    fleet.agentpod(["backup", "now", TENANT]);
    expect(snapshotIds().length).toBe(before.length + 1);
    expect(fleet.docker(HOST, ["exec", JOB, "restic", "check"])).toContain("no errors were found");
  });

  test("region lost: server and data volume destroyed; replace refuses an empty gateway, replace --restore brings the tenant back from the object store", async () => {
    fleet.execIn(HOST, CONTAINER, "echo marker-final > /home/node/.openclaw/vault-marker");
    addJob("vault-three");
    fleet.agentpod(["backup", "now", TENANT]);
    const expected = readState();
    expect(expected).toEqual(["vault-one: state vault-one", "vault-three: state vault-three", "vault-two: state vault-two"]);

    // The location is gone: the server, its disk and the data volume.
    docker(["kill", "--signal", "KILL", `${FLEET}-host-${HOST}`]);
    docker(["rm", "--force", `${FLEET}-host-${HOST}`]);
    docker(["volume", "rm", `${FLEET}-host-${HOST}-disk`, `${FLEET}-host-${HOST}-data`]);
    const down = fleet.agentpod(["status"], { allowFailure: true });
    expect(down.status).toBe(1);
    expect(down.stdout).toContain(`host ${HOST} does not answer`);

    // Without --restore, the new server's empty volume never gets an empty gateway for the existing customer.
    const refused = fleet.agentpod(["host", "replace", HOST], { allowFailure: true });
    expect(refused.status).toBe(1);
    expect(refused.stdout + refused.stderr).toContain(`host ${HOST} is a new server whose data volume has no data for ${TENANT}`);
    expect(refused.stdout + refused.stderr).toContain(`agentpod host replace ${HOST} --restore --force --stack ${fleet.stack}`);
    expect(fleet.docker(HOST, ["ps", "-a", "-q", "--filter", `name=^${CONTAINER}$`])).toBe("");

    // Snapshots are listed from the object store while the tenant has no gateway.
    expect(snapshotIds().length).toBeGreaterThan(0);
    const started = Date.now();
    const replaced = fleet.agentpod(["host", "replace", HOST, "--restore", "--force"]);
    expect(replaced.stdout).toContain(`host ${HOST} replaced; its tenants are back: ${TENANT}`);
    await ready();
    const seconds = (Date.now() - started) / 1000;
    console.log(`region-lost recovery of one tenant: ${seconds.toFixed(1)} s from host replace --restore to /readyz`);
    expect(readState()).toEqual(expected);
    expect(marker()).toBe("marker-final");
    expect(await handshake(fleet.httpsPort, localDomain(TENANT), token, fleet.address(HOST))).toEqual({ challenge: true, ok: true, outcome: "hello-ok" });
    // OpenClaw itself reads its restored database as whole.
    expect(openclaw("cron list --all --json")).toContain("vault-three");
    expect(fleet.agentpod(["preview", "--json"]).stdout).toBeTruthy();
  });
});
