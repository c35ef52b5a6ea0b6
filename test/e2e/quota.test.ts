/**
 * Disk quotas on the real engine: one local server with two real OpenClaw gateways whose plan gives each a 512Mi
 * disk, its own ext4 filesystem on the server's data volume (fleet/tenantDisks.ts). A tenant writing past its disk
 * gets "No space left on device" inside its own container while the other tenant and the server keep writing;
 * growing the plan's disk grows the filesystem under the running gateway (same container, more room); a shrink is
 * refused before anything changes; a gateway whose disk is not mounted does not start, and a restarted server
 * mounts the disks before its engine starts the gateways. Each test builds on the previous one; own prefix and port.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { GATEWAY_STATE_DIR } from "../../fleet/gateway";
import { createLocalFleet, localDomain, docker, getVia, isPortFree, removeFleetObjects, tearDownFleet, waitFor, type LocalFleet } from "../support/localFleet";

const FLEET = "quota";
const PORT = 18680;
const HOST = "host-a";
const MiB = 1024 ** 2;

/** Two tenants on one plan whose disk is `disk`, in flow style. */
const tenantsWithDisk = (disk: string) =>
  [
    "defaults: { image: agentpod/openclaw:2026.9.6, plan: small }",
    `plans: { small: { cpus: 0.5, memory: 2Gi, disk: ${disk} } }`,
    `hosts: [{ name: ${HOST}, location: fsn1, serverType: ccx33 }]`,
    `tenants: [${["ant", "bee"].map((tenant) => `{ name: ${tenant}, host: ${HOST} }`).join(", ")}]`,
    "",
  ].join("\n");

let fleet: LocalFleet;
const gatewayOf = (tenant: string) => `${FLEET}-${tenant}`;
const server = `${FLEET}-host-${HOST}`;
const identity = (tenant: string) => fleet.docker(HOST, ["inspect", gatewayOf(tenant), "--format", "{{.Id}} {{.State.StartedAt}}"]);
/** Runs a shell command in the tenant's gateway container, as the gateway's user; never throws. */
const inTenant = (tenant: string, script: string) => {
  const out = docker(["--host", fleet.engine(HOST), "exec", gatewayOf(tenant), "sh", "-c", `{ ${script}; } 2>&1; echo "exit=$?"`], { allowFailure: true });
  return { ok: out.trimEnd().endsWith("exit=0"), out };
};
/** Bytes free for the gateway in its data directory. */
const roomOf = (tenant: string) => Number(inTenant(tenant, `df -B1 --output=avail ${GATEWAY_STATE_DIR} | tail -n 1`).out.split("\n")[0]);
/** Runs a shell command on the local server itself (its root shell, as the tenant-data scripts do). */
const onServer = (script: string) => docker(["exec", server, "sh", "-c", script]);
const ready = (tenant: string) =>
  waitFor(`${tenant} /readyz through the proxy`, async () => ((await getVia(fleet.httpsPort, localDomain(tenant), "/readyz", fleet.address(HOST))).status === 200 ? true : undefined), 240_000);

beforeAll(() => {
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use: the quota fleet needs it`);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  fleet.writeTenants(tenantsWithDisk("512Mi"));
});

afterAll(() => tearDownFleet(fleet));

describe("disk quota per tenant on the real engine", () => {
  test("each tenant's data is its own filesystem of its plan's disk", async () => {
    fleet.agentpod(["up", "--yes"]);
    await ready("ant");
    await ready("bee");
    for (const tenant of ["ant", "bee"]) {
      expect(onServer(`readlink /mnt/agentpod/tenants/${tenant}`)).toBe(`../volumes/${tenant}/data`);
      expect(onServer(`mountpoint /mnt/agentpod/volumes/${tenant}`)).toContain("is a mountpoint");
      // The disk less ext4's metadata and the gateway's own state (about 50 MB once it has started).
      const room = roomOf(tenant);
      expect(room).toBeGreaterThan(300 * MiB);
      expect(room).toBeLessThanOrEqual(512 * MiB);
    }
    // Control: the server's data volume itself has far more room than one disk.
    expect(Number(onServer("df -B1 --output=avail /mnt/agentpod | tail -n 1"))).toBeGreaterThan(2048 * MiB);
  });

  test("writing past its disk fails with 'No space left on device' in the tenant's own container; the other tenant and the host keep writing", async () => {
    const below = inTenant("ant", `head -c ${250 * MiB} /dev/zero > ${GATEWAY_STATE_DIR}/below && sync`);
    expect(below.ok, below.out).toBe(true); // positive control: a write within the quota succeeds
    const past = inTenant("ant", `head -c ${400 * MiB} /dev/zero > ${GATEWAY_STATE_DIR}/past`);
    expect(past.ok).toBe(false);
    expect(past.out).toMatch(/No space left on device/);
    const other = inTenant("bee", `head -c ${100 * MiB} /dev/zero > ${GATEWAY_STATE_DIR}/work && sync && echo written`);
    expect(other.ok, other.out).toBe(true);
    expect(onServer(`head -c ${MiB} /dev/zero > /mnt/agentpod/host-probe && stat -c %s /mnt/agentpod/host-probe && rm /mnt/agentpod/host-probe`)).toBe(String(MiB));
    await ready("bee");
    inTenant("ant", `rm -f ${GATEWAY_STATE_DIR}/past`);
  });

  test("growing the plan's disk grows the filesystem under the running gateway: same container, more room", async () => {
    const before = identity("ant");
    const beeBefore = identity("bee");
    const roomBefore = roomOf("ant");
    fleet.writeTenants(tenantsWithDisk("1Gi"));
    fleet.agentpod(["up", "--yes"]);
    expect(identity("ant")).toBe(before);
    expect(identity("bee")).toBe(beeBefore);
    expect(roomOf("ant")).toBeGreaterThan(roomBefore + 400 * MiB);
    const more = inTenant("ant", `head -c ${500 * MiB} /dev/zero > ${GATEWAY_STATE_DIR}/more && sync`);
    expect(more.ok, more.out).toBe(true); // did not fit before the growth
    expect(inTenant("ant", `ls ${GATEWAY_STATE_DIR}/below`).ok).toBe(true);
    await ready("ant");
  });

  test("shrinking the plan's disk is refused with what to do instead; nothing changes", () => {
    const before = identity("ant");
    const roomBefore = roomOf("ant");
    fleet.writeTenants(tenantsWithDisk("512Mi"));
    const refused = fleet.agentpod(["up", "--yes"], { allowFailure: true });
    expect(refused.status).not.toBe(0);
    const said = refused.stdout + refused.stderr;
    // The engine stops at the first tenant it refuses (ant or bee: both had their disk grown).
    expect(said).toMatch(/the disk of tenant (ant|bee) is 1Gi and its plan now gives it 512Mi/);
    expect(said).toContain("never shrinks");
    expect(said).toMatch(/agentpod tenant set-plan (ant|bee) <plan>/);
    expect(identity("ant")).toBe(before);
    expect(Math.abs(roomOf("ant") - roomBefore)).toBeLessThan(8 * MiB);
    fleet.writeTenants(tenantsWithDisk("1Gi"));
  });

  test("a gateway whose disk is not mounted does not start on an empty directory; a restarted server mounts the disks before the gateways start", async () => {
    fleet.docker(HOST, ["stop", "-t", "10", gatewayOf("ant")]);
    onServer("umount /mnt/agentpod/volumes/ant");
    const refused = spawnSync("docker", ["--host", fleet.engine(HOST), "start", gatewayOf("ant")], { encoding: "utf8" });
    expect(refused.status).not.toBe(0); // the bind of its data path (a dangling link) fails: Docker does not start it
    expect(refused.stderr).toMatch(/no such file or directory/i);
    expect(fleet.docker(HOST, ["inspect", gatewayOf("ant"), "--format", "{{.State.Running}}"])).toBe("false");
    expect(onServer("ls -A /mnt/agentpod/volumes/ant | wc -l")).toBe("0"); // and nothing was written in its place
    // Positive control: with its disk mounted again (the boot script), the same container starts on its data.
    onServer("/usr/local/sbin/agentpod-tenant-disks");
    fleet.docker(HOST, ["start", gatewayOf("ant")]);
    await ready("ant");
    expect(inTenant("ant", `ls ${GATEWAY_STATE_DIR}/below`).ok).toBe(true);

    // The server restarts (as after a reboot): its start script mounts every disk before its engine starts the gateways.
    docker(["restart", "-t", "20", server]);
    await ready("ant");
    await ready("bee");
    expect(inTenant("ant", `ls ${GATEWAY_STATE_DIR}/below ${GATEWAY_STATE_DIR}/more`).ok).toBe(true);
    expect(inTenant("bee", `ls ${GATEWAY_STATE_DIR}/work`).ok).toBe(true);
    expect(roomOf("ant")).toBeLessThan(1024 * MiB);
  });
});
