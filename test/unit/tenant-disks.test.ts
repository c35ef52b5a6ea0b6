/**
 * The pure parts of tenant disks: the plan's `disk` (parsing, defaults per plan), the image's size and headroom, and
 * the boot order the scripts promise (disks mounted before Docker starts gateways, on both targets). The scripts
 * themselves run for real in host-lifecycle.test.ts; the quota on the real engine in test/e2e/quota.test.ts.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { BUILT_IN_PLANS, DEFAULT_DISK_BYTES, GiB, MIN_PLAN_DISK_BYTES, MiB } from "../../fleet/catalog";
import { renderReadinessScript } from "../../fleet/cloudInit";
import { TENANT_DATA_ROOT, tenantDataDir, tenantDataLinkTarget, tenantVolumeDir } from "../../fleet/hostLayout";
import { effectivePlans } from "../../fleet/plan";
import { DISK_BLOCK_BYTES, TENANT_DISKS_SCRIPT_PATH, diskBlocks, diskImageBytes, installTenantDiskCommands, renderTenantDisksScript } from "../../fleet/tenantDisks";
import { formatMemory, parseDisk } from "../../fleet/units";
import { checkTenantsFile } from "../../fleet/validate";

const PROD = { file: "tenants.yaml", domainSuffix: "agents.example.com", zone: "agents.example.com" };
const fleetWithPlans = (plans: string) => `plans:\n${plans}hosts:\n  - { name: h, location: fsn1, serverType: cx42 }\ntenants:\n  - { name: acme, host: h }\n`;

describe("a plan's disk", () => {
  test("sizes parse in binary units; anything else does not", () => {
    expect(parseDisk("512Mi")).toBe(512 * MiB);
    expect(parseDisk("10Gi")).toBe(10 * GiB);
    expect(parseDisk("1.5Gi")).toBe(1.5 * GiB);
    expect(parseDisk("1Ti")).toBe(1024 * GiB);
    for (const bad of ["10GB", "10G", "10", "", "Gi", "-1Gi", "1e3Gi"]) expect(parseDisk(bad), bad).toBeUndefined();
    expect(formatMemory(512 * MiB)).toBe("512Mi");
  });

  test("built-in plans grow their disk with their size; a plan that names none gets the default", () => {
    expect([BUILT_IN_PLANS.basic!.diskBytes, BUILT_IN_PLANS.pro!.diskBytes, BUILT_IN_PLANS.enterprise!.diskBytes]).toEqual([5 * GiB, 10 * GiB, 20 * GiB]);
    const plans = effectivePlans({ plans: { small: { cpus: 1, memory: "2Gi" }, large: { cpus: 2, memory: "4Gi", disk: "40Gi" } } });
    expect(plans.small!.diskBytes).toBe(DEFAULT_DISK_BYTES);
    expect(plans.large!.diskBytes).toBe(40 * GiB);
  });

  test("the validator accepts a good disk and refuses a bad one at its line, naming the field", () => {
    const ok = checkTenantsFile(fleetWithPlans("  basic: { cpus: 1, memory: 2Gi, disk: 512Mi }\n"), PROD);
    expect(ok.issues).toEqual([]);
    expect(ok.fleet!.tenants[0]!.plan.diskBytes).toBe(MIN_PLAN_DISK_BYTES);
    const bad = checkTenantsFile(fleetWithPlans("  basic: { cpus: 1, memory: 2Gi, disk: 20Ti }\n"), PROD);
    expect(bad.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`)).toEqual(["2:40 plans.basic.disk: 20Ti is more than a host's data volume can hold: at most 10240Gi"]);
  });
});

describe("disk images", () => {
  test("an image is twice its disk in whole blocks: the headroom within which a disk grows by its reservation alone", () => {
    expect(DISK_BLOCK_BYTES).toBe(4096);
    expect(diskBlocks(512 * MiB)).toBe(131072);
    expect(diskBlocks(512 * MiB + 100)).toBe(131072);
    expect(diskImageBytes(512 * MiB)).toBe(1024 * MiB);
    expect(diskImageBytes(5 * GiB + 100)).toBe(10 * GiB);
  });

  test("the data path is a relative link into the mounted disk, so it resolves the same in every container that mounts the volume", () => {
    expect(tenantDataDir("acme")).toBe(`${TENANT_DATA_ROOT}/acme`);
    expect(path.resolve(TENANT_DATA_ROOT, tenantDataLinkTarget("acme"))).toBe(`${tenantVolumeDir("acme")}/data`);
  });
});

describe("boot order: disks are mounted before Docker starts the gateways", () => {
  test("the readiness gate installs and runs the disk script before it waits for Docker; systemd runs it before docker.service", () => {
    for (const script of [renderReadinessScript(), renderReadinessScript("/dev/disk/by-id/x", 50)]) {
      const install = installTenantDiskCommands().join("\n");
      expect(script).toContain(install);
      expect(script.indexOf(install)).toBeGreaterThan(script.indexOf(`mkdir -p ${TENANT_DATA_ROOT}`));
      expect(script.indexOf(install)).toBeLessThan(script.indexOf("docker info"));
    }
    const install = installTenantDiskCommands().join("\n");
    expect(install).toContain("Before=docker.service");
    expect(install).toContain("RequiresMountsFor=/mnt/agentpod");
    expect(install).toContain("WantedBy=docker.service multi-user.target");
    expect(install).toContain(`ExecStart=${TENANT_DISKS_SCRIPT_PATH}`);
  });

  test("a local server runs the disk script before it starts its engine", () => {
    const start = readFileSync(path.join(__dirname, "../../images/server/start.sh"), "utf8");
    expect(start).toContain(TENANT_DISKS_SCRIPT_PATH);
    expect(start.indexOf(TENANT_DISKS_SCRIPT_PATH)).toBeLessThan(start.indexOf("exec dockerd"));
  });

  test("the boot script mounts every image with the disk options and makes the volume shared for the backup job", () => {
    const script = renderTenantDisksScript();
    expect(script).toContain("mount --make-rshared /mnt/agentpod");
    expect(script).toContain("for image in /mnt/agentpod/disks/*.ext4; do");
    expect(script).toContain("mount -o loop,nodev,nosuid,noinit_itable");
  });
});
