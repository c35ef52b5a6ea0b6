/**
 * Image rollouts in health-gated waves on the real engine (cli/rollout.ts): stand-in releases built by set-up
 * (agentpod/standin:release-1, :release-2, and :broken, which never turns healthy and "migrates" its data at start),
 * five tenants on two local servers, batches of two per host, delta marked as the canary. Each test builds on the
 * previous one.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { TENANT_DATA_ROOT } from "../../fleet/cloudInit";
import { localServerObjectNames } from "../../fleet/naming";
import { createLocalFleet, localDomain, docker, getVia, isPortFree, removeFleetObjects, tearDownFleet, waitFor, type LocalFleet } from "../support/localFleet";

const FLEET = "waves";
const PORT = 18585;
const RELEASE_1 = "agentpod/standin:release-1";
const RELEASE_2 = "agentpod/standin:release-2";
const BROKEN = "agentpod/standin:broken";
const HOST_OF: Record<string, string> = { alpha: "local-a", bravo: "local-a", charlie: "local-a", delta: "local-b", echo: "local-b" };
const TENANTS = Object.keys(HOST_OF);

const tenantsFile = (image: string, overrides: Record<string, string> = {}) => `
defaults:
  image: ${image}
  plan: standin
plans:
  standin: { cpus: 0.25, memory: 2Gi }
rollout:
  batchSize: 2
  healthTimeoutSeconds: 20
hosts:
  - { name: local-a, location: fsn1, serverType: ccx33 }
  - { name: local-b, location: fsn1, serverType: ccx33 }
tenants:
${TENANTS.map((t) => `  - { name: ${t}, host: ${HOST_OF[t]}${t === "delta" ? ", canary: true" : ""}${overrides[t] ? `, image: "${overrides[t]}"` : ""} }`).join("\n")}
`;

let fleet: LocalFleet;
const container = (tenant: string) => `${FLEET}-${tenant}`;
const inspect = (tenant: string, format: string) => fleet.docker(HOST_OF[tenant]!, ["inspect", container(tenant), "--format", format]);
const state = (tenant: string) => ({ id: inspect(tenant, "{{.Id}}"), image: inspect(tenant, "{{.Config.Image}}"), created: Date.parse(inspect(tenant, "{{.Created}}")) });
const snapshotAll = () => Object.fromEntries(TENANTS.map((t) => [t, state(t)]));
const readyz = (tenant: string) => getVia(fleet.httpsPort, localDomain(tenant), "/readyz", fleet.address(HOST_OF[tenant]!));
const version = async (tenant: string) => JSON.parse((await getVia(fleet.httpsPort, localDomain(tenant), "/", fleet.address(HOST_OF[tenant]!))).body).version as string;
const inData = (tenant: string, script: string) => fleet.execIn(HOST_OF[tenant]!, container(tenant), script).trim();
/** Whether a file exists in the tenant's data directory on its host's disk (works while its container is down). */
const onHostDisk = (tenant: string, file: string) =>
  docker(["exec", localServerObjectNames(FLEET, HOST_OF[tenant]!).container, "sh", "-c", `test -e ${TENANT_DATA_ROOT}/${tenant}/${file} && echo yes || echo no`], { allowFailure: true });
/** The report's row for a tenant: "<tenant>  <host>  <image>  <outcome>". */
const reportRow = (output: string, tenant: string) => output.split("\n").filter((l) => new RegExp(`^${tenant}\\s+local-`).test(l)).pop()?.split(/\s{2,}/);

beforeAll(() => {
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use: the rollout fleet needs it`);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
});

afterAll(() => tearDownFleet(fleet));

describe("image rollout in health-gated waves", () => {
  test("a. five tenants come up on release-1 in one run (new tenants are not part of any wave)", async () => {
    fleet.writeTenants(tenantsFile(RELEASE_1));
    const up = fleet.agentpod(["up", "--yes"]);
    expect(up.stdout).not.toContain("image rollout");
    for (const tenant of TENANTS) {
      await waitFor(`${tenant} ready`, async () => ((await readyz(tenant)).status === 200 ? true : undefined), 60_000);
      expect(await version(tenant)).toBe("release-1");
    }
    inData("delta", "echo precious > /home/node/.openclaw/notes.txt");
    expect(inData("delta", "cat /home/node/.openclaw/notes.txt")).toBe("precious");
  });

  test("b. release-2 rolls out wave by wave: the canary first, then two tenants per host at a time", async () => {
    const before = snapshotAll();
    fleet.writeTenants(tenantsFile(RELEASE_2));
    // preview shows the whole target: every tenant's container is replaced.
    const preview = fleet.agentpod(["preview", "--json"]);
    const replaced = JSON.parse(preview.stdout).steps.filter((s: { op: string; type: string }) => s.type === "docker:index/container:Container" && s.op === "replace");
    expect(replaced).toHaveLength(5);
    const up = fleet.agentpod(["up", "--yes"]);
    expect(up.stdout).toContain("canary: delta (local-b)");
    expect(up.stdout).toContain("batch 1: alpha (local-a), bravo (local-a), echo (local-b)");
    expect(up.stdout).toContain("batch 2: charlie (local-a)");
    expect(up.stdout).toMatch(/pulled agentpod\/standin:release-2 on local-a; agentpod\/standin:release-2 on local-b/);
    const after = snapshotAll();
    for (const tenant of TENANTS) {
      expect(after[tenant]!.image).toBe(RELEASE_2);
      expect(after[tenant]!.id).not.toBe(before[tenant]!.id);
      expect((await readyz(tenant)).status).toBe(200);
      expect(reportRow(up.stdout, tenant)).toEqual([tenant, HOST_OF[tenant], RELEASE_2, "upgraded"]);
    }
    // The order, from the containers themselves: each wave's containers were created after the previous wave's.
    const created = (tenants: string[]) => tenants.map((t) => after[t]!.created);
    expect(Math.max(...created(["delta"]))).toBeLessThan(Math.min(...created(["alpha", "bravo", "echo"])));
    expect(Math.max(...created(["alpha", "bravo", "echo"]))).toBeLessThan(Math.min(...created(["charlie"])));
    expect(inData("delta", "cat /home/node/.openclaw/notes.txt")).toBe("precious");
  });

  test("c. a release that never turns healthy stops at the canary: it is rolled back with its data, nobody else is touched, exit 1 with the report", async () => {
    const before = snapshotAll();
    fleet.writeTenants(tenantsFile(BROKEN));
    const running = fleet.agentpodAsync(["up", "--yes"], { allowFailure: true });
    // Positive control for the data check below: the broken release does change the canary's data when it starts.
    const migrated = await waitFor("the broken release's marker in delta's data", async () => (onHostDisk("delta", "migrated-by") === "yes" ? true : undefined), 180_000);
    expect(migrated).toBe(true);
    const up = await running;
    const output = `${up.stdout}\n${up.stderr}`;
    expect(up.status).toBe(1);
    expect(output).toContain("delta failed its gate on agentpod/standin:broken");
    expect(output).toContain("rollout stopped at canary: delta (local-b)");
    expect(reportRow(output, "delta")).toEqual(["delta", "local-b", RELEASE_2, "rolled back"]);
    for (const tenant of ["alpha", "bravo", "charlie", "echo"]) expect(reportRow(output, tenant)).toEqual([tenant, HOST_OF[tenant], RELEASE_2, "not reached"]);
    const after = snapshotAll();
    // The canary was replaced twice (broken, then back); the others were never touched.
    expect(after.delta!.id).not.toBe(before.delta!.id);
    expect(after.delta!.image).toBe(RELEASE_2);
    for (const tenant of ["alpha", "bravo", "charlie", "echo"]) expect(after[tenant]).toEqual(before[tenant]);
    for (const tenant of TENANTS) {
      expect((await readyz(tenant)).status).toBe(200);
      expect(await version(tenant)).toBe("release-2");
    }
    // Its data as it was before the upgrade: the file is there, the broken release's migration is gone.
    expect(inData("delta", "cat /home/node/.openclaw/notes.txt")).toBe("precious");
    expect(onHostDisk("delta", "migrated-by")).toBe("no");
    expect(onHostDisk("delta", "notes.txt")).toBe("yes");
  });

  test("d. a failure in the canary wave keeps the canary that passed; after the fix the re-run continues with the batches, no canary again", async () => {
    // release-1 again (an image nobody runs now: delta is its canary) and charlie on the broken release (its own canary).
    fleet.writeTenants(tenantsFile(RELEASE_1, { charlie: BROKEN }));
    const failed = fleet.agentpod(["up", "--yes"], { allowFailure: true });
    const failedOutput = `${failed.stdout}\n${failed.stderr}`;
    expect(failed.status).toBe(1);
    expect(failedOutput).toContain("canary: charlie (local-a), delta (local-b)");
    expect(reportRow(failedOutput, "delta")).toEqual(["delta", "local-b", RELEASE_1, "upgraded"]);
    expect(reportRow(failedOutput, "charlie")).toEqual(["charlie", "local-a", RELEASE_2, "rolled back"]);
    for (const tenant of ["alpha", "bravo", "echo"]) expect(reportRow(failedOutput, tenant)).toEqual([tenant, HOST_OF[tenant], RELEASE_2, "not reached"]);
    expect(await version("delta")).toBe("release-1");
    expect(await version("charlie")).toBe("release-2");
    const stopped = snapshotAll();

    fleet.writeTenants(tenantsFile(RELEASE_1));
    const resumed = fleet.agentpod(["up", "--yes"]);
    expect(resumed.stdout).not.toContain("canary:");
    expect(resumed.stdout).toContain("batch 1: alpha (local-a), bravo (local-a), echo (local-b)");
    expect(resumed.stdout).toContain("batch 2: charlie (local-a)");
    const after = snapshotAll();
    // delta passed its gate in the stopped run: the re-run leaves it alone.
    expect(after.delta).toEqual(stopped.delta);
    for (const tenant of TENANTS) {
      expect(after[tenant]!.image).toBe(RELEASE_1);
      expect(await version(tenant)).toBe("release-1");
    }
    // And a run with nothing left to roll out is a plain one.
    const again = fleet.agentpod(["up", "--yes"]);
    expect(again.stdout).not.toContain("image rollout");
    expect(snapshotAll()).toEqual(after);
  });
});
