/**
 * What a tenants.yaml change does to a running container has one definition (fleet/containerChanges.ts). Checked
 * twice: its provider facts against the Docker provider's own schema (which inputs replace a container), and the
 * change summary against what the program registers under mocks: for each kind of tenant change, the container
 * inputs that actually change say "replaced" exactly when the summary says the container restarts, and "in place"
 * when it says so.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { CACHE_DIR } from "../../cli/engine";
import {
  CONTAINER_INPUTS_STATE_ONLY,
  CONTAINER_INPUTS_UPDATED_IN_PLACE,
  TENANT_FIELDS,
  changedTenantFields,
  containerEffect,
  containerInputEffect,
  type ContainerEffect,
} from "../../fleet/containerChanges";
import type { FleetPlan } from "../../fleet/plan";
import { summarizeFleetChanges } from "../../fleet/summary";
import { loadFleet } from "../../fleet/validate";
import { compareRuns, runFleet, type FleetRun } from "../support/mockFleet";

const CONTAINER = "docker:index/container:Container";

describe("the provider facts", () => {
  const version: string = JSON.parse(readFileSync(require.resolve("@pulumi/docker/package.json"), "utf8")).version;
  const schemaFile = path.join(CACHE_DIR, "bin", `pulumi-resource-docker-${version}.schema.json`);
  const inputs: Record<string, { willReplaceOnChanges?: boolean }> = JSON.parse(readFileSync(schemaFile, "utf8")).resources[CONTAINER].inputProperties;

  test("an input replaces the container exactly when the Docker provider's schema says it does", () => {
    for (const [input, spec] of Object.entries(inputs)) {
      expect(containerInputEffect(input) === "replace", input).toBe(spec.willReplaceOnChanges === true);
    }
    // Every input the module names as not replacing is one of the provider's.
    for (const input of [...CONTAINER_INPUTS_UPDATED_IN_PLACE, ...CONTAINER_INPUTS_STATE_ONLY]) expect(Object.keys(inputs), input).toContain(input);
    expect(containerInputEffect("memory")).toBe("update");
    expect(containerInputEffect("memorySwap")).toBe("update");
    expect(containerInputEffect("cpus")).toBe("replace");
    expect(containerInputEffect("image")).toBe("replace");
  });

  test("every input a tenant gateway is given is one the provider knows, so compared inputs are the provider's", async () => {
    const run = await runFleet({ tenantsYaml: BASE });
    if (run.error) throw run.error;
    for (const container of run.ofType(CONTAINER)) for (const input of Object.keys(container.inputs)) expect(Object.keys(inputs), `${container.name}.${input}`).toContain(input);
  });
});

const OPTIONS = { file: "tenants.yaml", domainSuffix: "agents.example.com", zone: "agents.example.com" };

const BASE = `defaults:
  image: ghcr.io/openclaw/openclaw:2026.9.6
plans:
  basic: { cpus: 1, memory: 2Gi }
  pro: { cpus: 2, memory: 4Gi, pids: 1024 }
  same: { cpus: 1, memory: 2Gi }
hosts:
  - { name: fsn1-a, location: fsn1, serverType: cx42 }
  - { name: fsn1-b, location: fsn1, serverType: cx42 }
tenants:
  - { name: foo, host: fsn1-a, plan: basic }
  - { name: bar, host: fsn1-a, plan: pro }
  - { name: qux, host: fsn1-b, plan: basic }
`;

/** One kind of tenant change each; `tenants` are those whose resources it changes. */
const CHANGES: Array<{ kind: string; edit: (yaml: string) => string; tenants: string[] }> = [
  { kind: "a plan's CPUs", edit: (y) => y.replace("pro: { cpus: 2, memory: 4Gi, pids: 1024 }", "pro: { cpus: 3, memory: 4Gi, pids: 1024 }"), tenants: ["bar"] },
  { kind: "a plan's memory", edit: (y) => y.replace("basic: { cpus: 1, memory: 2Gi }", "basic: { cpus: 1, memory: 3Gi }"), tenants: ["foo", "qux"] },
  { kind: "a plan's pids", edit: (y) => y.replace("pro: { cpus: 2, memory: 4Gi, pids: 1024 }", "pro: { cpus: 2, memory: 4Gi, pids: 2048 }"), tenants: ["bar"] },
  { kind: "a plan's disk", edit: (y) => y.replace("basic: { cpus: 1, memory: 2Gi }", "basic: { cpus: 1, memory: 2Gi, disk: 8Gi }"), tenants: ["foo", "qux"] },
  { kind: "another plan", edit: (y) => y.replace("{ name: foo, host: fsn1-a, plan: basic }", "{ name: foo, host: fsn1-a, plan: pro }"), tenants: ["foo"] },
  { kind: "another plan with the same limits", edit: (y) => y.replace("{ name: qux, host: fsn1-b, plan: basic }", "{ name: qux, host: fsn1-b, plan: same }"), tenants: [] },
  { kind: "the default image", edit: (y) => y.replace("image: ghcr.io/openclaw/openclaw:2026.9.6", "image: ghcr.io/openclaw/openclaw:2026.9.7"), tenants: ["bar", "foo", "qux"] },
  { kind: "one tenant's image", edit: (y) => y.replace("{ name: foo, host: fsn1-a, plan: basic }", "{ name: foo, host: fsn1-a, plan: basic, image: ghcr.io/openclaw/openclaw:2026.9.3 }"), tenants: ["foo"] },
  { kind: "a domain", edit: (y) => y.replace("{ name: qux, host: fsn1-b, plan: basic }", "{ name: qux, host: fsn1-b, plan: basic, domain: chat.agents.example.com }"), tenants: ["qux"] },
  { kind: "a model provider", edit: (y) => y.replace("{ name: qux, host: fsn1-b, plan: basic }", "{ name: qux, host: fsn1-b, plan: basic, modelProvider: openai }"), tenants: ["qux"] },
  {
    kind: "memory and an image at once",
    edit: (y) => y.replace("basic: { cpus: 1, memory: 2Gi }", "basic: { cpus: 1, memory: 3Gi }").replace("{ name: foo, host: fsn1-a, plan: basic }", "{ name: foo, host: fsn1-a, plan: basic, image: ghcr.io/openclaw/openclaw:2026.9.3 }"),
    tenants: ["foo", "qux"],
  },
];

const fleetOf = (yaml: string): FleetPlan => loadFleet(yaml, OPTIONS);
const run = async (yaml: string) => {
  const result = await runFleet({ tenantsYaml: yaml });
  if (result.error) throw result.error;
  return result;
};

let base: FleetRun;
beforeAll(async () => {
  base = await run(BASE);
}, 60_000);

describe("the summary says what the program does to each container", () => {
  test.each(CHANGES)("$kind", async ({ edit, tenants }) => {
    const yaml = edit(BASE);
    expect(yaml).not.toBe(BASE);
    const summary = summarizeFleetChanges(fleetOf(BASE), fleetOf(yaml));
    const diff = compareRuns(base, await run(yaml));
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    const touched = new Set(Object.keys(diff.changed).map((name) => name.split("-")[0]!));
    expect([...touched].sort()).toEqual([...tenants].sort());

    for (const tenant of ["bar", "foo", "qux"]) {
      const gatewayInputs = diff.changed[`${tenant}-gateway`] ?? [];
      const pidsInputs = diff.changed[`${tenant}-pids`] ?? [];
      const dataInputs = diff.changed[`${tenant}-data-dir`] ?? [];
      // What the provider does, from the inputs that change (the facts checked against its schema above). A disk
      // grows under the running gateway (TenantDataDirectory's update): a limit changed in place.
      const container = containerEffect(gatewayInputs);
      const actual: ContainerEffect = container === "none" && (pidsInputs.includes("limit") || dataInputs.includes("diskBytes")) ? "update" : container;
      const change = summary.changes.find((c) => c.subject === "tenant" && c.name === tenant);
      const where = `${tenant}: gateway ${JSON.stringify(gatewayInputs)}, pids ${JSON.stringify(pidsInputs)}; summary ${JSON.stringify(change)}`;

      // The inputs that change are exactly those the changed fields drive.
      const before = fleetOf(BASE).tenants.find((t) => t.name === tenant)!;
      const after = fleetOf(yaml).tenants.find((t) => t.name === tenant)!;
      const fields = changedTenantFields(before, after);
      expect(gatewayInputs, where).toEqual([...new Set(fields.flatMap((f) => TENANT_FIELDS[f].gateway))].sort());
      expect(pidsInputs.includes("limit"), where).toBe(fields.some((f) => TENANT_FIELDS[f].pidsLimit));
      expect(dataInputs.includes("diskBytes"), where).toBe(fields.some((f) => TENANT_FIELDS[f].dataDisk));

      if (actual === "replace") {
        expect(change?.restarts, where).toEqual([tenant]);
        expect(change?.effect, where).toMatch(/container (restarts|replaced), data kept/);
      } else {
        expect(change?.restarts ?? [], where).toEqual([]);
        if (actual === "update") expect(change?.effect, where).toContain("limits change in place, no restart");
        else if (change) expect(change.effect, where).toBe("same limits, no restart");
      }
      // The data volume is never touched; DNS only by a domain change, and the summary says so.
      expect(diff.changed[`${tenant}-data`], where).toBeUndefined();
      expect(!!diff.changed[`${tenant}-dns-a`], where).toBe(!!change?.effect?.includes("DNS record and routing change"));
    }
    expect(summary.risk.restarts).toBe(new Set(summary.changes.flatMap((c) => c.restarts)).size);
  });

  test("a move recreates the container on the new host, and the summary asks for the data to be migrated", async () => {
    const yaml = BASE.replace("{ name: foo, host: fsn1-a, plan: basic }", "{ name: foo, host: fsn1-b, plan: basic }");
    const after = await run(yaml);
    expect(base.named("foo-gateway").options.provider).toBe("fsn1-a-docker");
    expect(after.named("foo-gateway").options.provider).toBe("fsn1-b-docker");
    const summary = summarizeFleetChanges(fleetOf(BASE), fleetOf(yaml));
    expect(summary.changes).toEqual([expect.objectContaining({ kind: "tenant-moved", name: "foo", symbol: "!", migrations: 1 })]);
  });
});
