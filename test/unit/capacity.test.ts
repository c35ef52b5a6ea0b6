/**
 * Capacity: the one arithmetic (fleet/capacity.ts) and the validator's message for an overfull host, which stays
 * readable however many tenants the host has: it names them all up to five, beyond that it counts them and names
 * the largest few. (That placement and validation agree for any fleet is a property in fleet-properties.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { capacityVerdict, hostRoom, usageOf } from "../../fleet/capacity";
import { GiB } from "../../fleet/catalog";
import { TenantsFileError, formatIssue } from "../../fleet/issues";
import { checkTenantsFile, loadFleet } from "../../fleet/validate";

const PROD = { file: "tenants.yaml", domainSuffix: "agents.example.com", zone: "agents.example.com" };

/** A tenants.yaml with one host and the given tenants (name and plan), in that order. */
function fleetFile(serverType: string, tenants: ReadonlyArray<readonly [string, string]>, plans = ""): string {
  return `${plans}hosts:\n  - name: big\n    location: fsn1\n    serverType: ${serverType}\ntenants:\n${tenants.map(([name, plan]) => `  - { name: ${name}, host: big, plan: ${plan} }\n`).join("")}`;
}

const numbered = (count: number, plan: string) => Array.from({ length: count }, (_, i) => [`t${String(i + 1).padStart(3, "0")}`, plan] as const);

describe("capacity arithmetic", () => {
  it("a host offers its server type's memory less the 1Gi reserve, and its vCPUs; unknown types offer nothing", () => {
    expect(hostRoom("cx22")).toMatchObject({ memoryAvailableBytes: 3 * GiB, vcpus: 2 });
    expect(hostRoom("cx99")).toBeUndefined();
    // Names of Object's own methods are not server types.
    expect(hostRoom("toString")).toBeUndefined();
    expect(hostRoom("constructor")).toBeUndefined();
  });

  it("fits exactly at the limit, not one byte or one millionth of a core beyond", () => {
    const room = hostRoom("cx22")!;
    expect(capacityVerdict({ memoryBytes: 3 * GiB, cpus: 2 }, room)).toEqual({ fits: true, memoryOver: false, cpuOver: false });
    expect(capacityVerdict({ memoryBytes: 3 * GiB + 1, cpus: 2 }, room)).toEqual({ fits: false, memoryOver: true, cpuOver: false });
    expect(capacityVerdict({ memoryBytes: 3 * GiB, cpus: 2.000001 }, room)).toEqual({ fits: false, memoryOver: false, cpuOver: true });
  });

  it("sums fractional CPUs exactly: thirty tenants of 0.1 cores fill 3 vCPUs, in any order", () => {
    const tenths = Array.from({ length: 30 }, () => ({ cpus: 0.1, memoryBytes: 0 }));
    expect(tenths.reduce((sum, p) => sum + p.cpus, 0)).toBeGreaterThan(3); // what naive floating point says
    expect(usageOf(tenths).cpus).toBe(3);
    expect(capacityVerdict(usageOf(tenths), hostRoom("cpx21")!).fits).toBe(true); // 3 vCPU
    const mixed = [0.7, 0.1, 0.2, 0.3, 0.6, 0.1].map((cpus) => ({ cpus, memoryBytes: 0 }));
    expect(usageOf(mixed).cpus).toBe(2);
    expect(usageOf([...mixed].reverse()).cpus).toBe(2);
  });

  it("the validator uses the same sums: 1.1 + 1.3 + 0.7 + 0.9 cores fill a 4-vCPU host, they do not overfill it", () => {
    const plans = "plans:\n  basic: { cpus: 1.1, memory: 2Gi }\n  b: { cpus: 1.3, memory: 2Gi }\n  c: { cpus: 0.7, memory: 2Gi }\n  d: { cpus: 0.9, memory: 2Gi }\n";
    expect(1.1 + 1.3 + 0.7 + 0.9).toBeGreaterThan(4); // what naive floating point says
    // ccx23: 4 vCPU, 15Gi for tenants.
    const text = fleetFile("ccx23", [["a", "basic"], ["b", "b"], ["c", "c"], ["d", "d"]], plans);
    expect(checkTenantsFile(text, PROD).issues).toEqual([]);
    expect(checkTenantsFile(text.replace("cpus: 0.9", "cpus: 0.91"), PROD).issues[0]?.message).toContain("CPU 4.01 cores needed, 4 vCPU available");
  });
});

describe("an overfull host", () => {
  it("with 150 tenants: how many, what they need, the three largest and how many more; not 150 names", () => {
    // 147 basic tenants first, the large ones last: the message orders by size, not by position in the file.
    const tenants = [...numbered(147, "basic"), ["zeta", "enterprise"], ["mid", "pro"], ["alpha", "enterprise"]] as const;
    const text = fleetFile("cx22", tenants);
    const result = checkTenantsFile(text, PROD);
    expect(result.fleet).toBeUndefined();
    expect(result.issues.map(formatIssue)).toEqual([
      'tenants.yaml:4:17 hosts[0].serverType: host "big" (cx22) cannot hold its 150 tenants: memory 314Gi needed, 3Gi available (4 GB less 1Gi reserved); ' +
        "CPU 157 cores needed, 2 vCPU available. The largest: alpha (enterprise: 8Gi, 4 CPU), zeta (enterprise: 8Gi, 4 CPU), mid (pro: 4Gi, 2 CPU) and 147 more. " +
        "Use a larger serverType or move tenants to another host.",
    ]);
    expect(result.issues[0]!.message).not.toMatch(/t\d{3}/);
    expect(result.issues[0]!.message.length).toBeLessThan(400);
    // The program refuses the file with the same line.
    expect(() => loadFleet(text, PROD)).toThrow(TenantsFileError);
  });

  it("short of CPU only: the largest by CPU, with their CPU (memory is not what is short)", () => {
    // ccx63: 48 vCPU, 191Gi for tenants. 60 tenants of 2Gi fit its memory; their 60+ cores do not fit its CPUs.
    const plans = "plans:\n  basic: { cpus: 1, memory: 2Gi }\n  wide: { cpus: 3, memory: 2Gi }\n  lean: { cpus: 0.5, memory: 4Gi }\n";
    const tenants = [...numbered(57, "basic"), ["lean-a", "lean"], ["wide-b", "wide"], ["wide-a", "wide"]] as const;
    const [issue, ...others] = checkTenantsFile(fleetFile("ccx63", tenants, plans), PROD).issues;
    expect(others).toEqual([]);
    expect(issue!.message).toBe(
      'host "big" (ccx63) cannot hold its 60 tenants: CPU 63.5 cores needed, 48 vCPU available. The largest: wide-a (wide: 3 CPU), wide-b (wide: 3 CPU), t001 (basic: 1 CPU) and 57 more. Use a larger serverType or move tenants to another host.',
    );
  });

  it("names every tenant up to five, counts them from six", () => {
    const five = checkTenantsFile(fleetFile("cx22", numbered(5, "basic")), PROD).issues[0]!.message;
    expect(five).toContain("cannot hold its tenants: memory 10Gi needed");
    expect(five).toContain("Tenants: t001 (basic), t002 (basic), t003 (basic), t004 (basic), t005 (basic).");
    const six = checkTenantsFile(fleetFile("cx22", numbered(6, "basic")), PROD).issues[0]!.message;
    expect(six).toContain("cannot hold its 6 tenants: memory 12Gi needed");
    expect(six).toContain("The largest: t001 (basic: 2Gi, 1 CPU), t002 (basic: 2Gi, 1 CPU), t003 (basic: 2Gi, 1 CPU) and 3 more.");
  });
});
