/**
 * The split fleet declares exactly what the whole fleet in one stack declares: each resource of the one-stack
 * program appears in exactly one part (the fleet's, its host's or its tenant's) with the same inputs, and the only
 * additions are each tenant's copy of its host's Docker provider, with the host provider's very inputs. That is what
 * lets `agentpod migrate` move state without a replacement, and what makes a part's run mean the same as before.
 * Under mocks, with the parts given the inputs bin/agentpod plans (stack/parts.ts) and the outputs of the host parts.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { HostOutputs } from "../../components/dockerHost";
import { planModelKeys } from "../../fleet/modelKeys";
import { parseSettings } from "../../fleet/settings";
import { checkTenantsFile } from "../../fleet/validate";
import { hostOutputsChangedBy, planHostParts, planTenantParts, type PartPlanContext } from "../../stack/parts";
import type { FleetRecord, PartInput } from "../../stack/program";
import { PROD_SECRETS, prodConfigFor, runFleet, runMocked, type Registered } from "../support/mockFleet";

const REPO = path.resolve(__dirname, "..", "..");
const TENANTS = readFileSync(path.join(REPO, "tenants.yaml"), "utf8");

function planContext(): PartPlanContext {
  const config = prodConfigFor(TENANTS);
  const values = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith("agentpod:")).map(([k, v]) => [k.slice("agentpod:".length), v]));
  const secretsSet = new Set(PROD_SECRETS.filter((k) => k.startsWith("agentpod:")).map((k) => k.slice("agentpod:".length)));
  const settings = parseSettings({ stack: "prod", values, secretsSet });
  const check = checkTenantsFile(TENANTS, { file: "tenants.yaml", domainSuffix: settings.target === "hetzner" ? settings.zone : "", zone: "agents.example.com" });
  if (!check.fleet) throw new Error(check.issues.map((i) => i.message).join("\n"));
  const shared = new Set(Object.keys(values).filter((k) => k.endsWith("ApiKey")).map((k) => (k === "anthropicApiKey" ? "anthropic" : "openai")));
  const modelKeys = planModelKeys(check.fleet, { tenantKeys: new Set(settings.tenantModelKeys), sharedKeys: shared as never }, "prod");
  const secrets = Object.fromEntries([...secretsSet].filter((k) => values[k] !== undefined).map((k) => [k, values[k]!]));
  const record: FleetRecord = { hosts: {}, tenants: {} };
  return { fleetStack: "prod", settings, secrets, fleet: check.fleet, modelKeys, record, permissions: {}, codeDigest: "test" };
}

const runPart = async (input: PartInput) => {
  const config = prodConfigFor(TENANTS);
  const run = await runMocked(async () => (await import("../../stack/program")).partProgram(input), { stack: "prod", config, secretKeys: PROD_SECRETS });
  if (run.error) throw run.error;
  return run;
};

const key = (r: Registered) => `${r.type}::${r.name}`;

describe("the split fleet declares what the fleet in one stack declares", () => {
  it("every resource in exactly one part with the same inputs; a tenant part adds only its host's provider, as the host declares it", async () => {
    const whole = await runFleet({ tenantsYaml: TENANTS });
    if (whole.error) throw whole.error;
    const context = planContext();

    const fleetPart = await runPart({ kind: "fleet", settings: context.settings, secrets: { ...(context.secrets.backupPassword ? { backupPassword: context.secrets.backupPassword } : {}) }, record: context.record });
    const shared = fleetPart.outputs.shared as { backupPassword: string; sshKeyIds: string[]; deployRunnerFirewallId: string };
    const hostParts = planHostParts(context, shared);
    // One after the other: the mocks are global to the process.
    const hostRuns: Array<{ host: string; run: Awaited<ReturnType<typeof runPart>> }> = [];
    for (const p of hostParts) hostRuns.push({ host: p.input.host.name, run: await runPart(p.input) });
    const hostOutputs = Object.fromEntries(hostRuns.map(({ host, run }) => [host, run.outputs.host as HostOutputs]));
    const tenantParts = planTenantParts(context, hostOutputs);
    const tenantRuns: Array<{ tenant: (typeof tenantParts)[number]["input"]["tenant"]; run: Awaited<ReturnType<typeof runPart>> }> = [];
    for (const p of tenantParts) tenantRuns.push({ tenant: p.input.tenant, run: await runPart(p.input) });

    const wholeByKey = new Map(whole.resources.map((r) => [key(r), r]));
    const seen = new Map<string, string>();
    const claim = (part: string, r: Registered) => {
      const original = wholeByKey.get(key(r));
      expect(original, `${part} declares ${key(r)}, which the one-stack program does not`).toBeDefined();
      expect(r.inputs, `${key(r)} in ${part}`).toEqual(original!.inputs);
      expect(seen.get(key(r)), `${key(r)} in ${part} and in ${seen.get(key(r))}`).toBeUndefined();
      seen.set(key(r), part);
    };
    for (const r of fleetPart.resources) claim("the fleet part", r);
    for (const { host, run } of hostRuns) for (const r of run.resources) claim(`host ${host}`, r);
    for (const { tenant, run } of tenantRuns) {
      for (const r of run.resources) {
        if (r.type === "pulumi:providers:docker") {
          // The tenant's own copy of its host's provider: the same name and inputs as the host's.
          expect(r.name).toBe(`${tenant.host}-docker`);
          expect(r.inputs).toEqual(wholeByKey.get(key(r))!.inputs);
          continue;
        }
        claim(`tenant ${tenant.name}`, r);
      }
    }
    // Nothing of the one-stack program is left out (default providers are the engine's, not the program's).
    const missing = whole.resources.filter((r) => !seen.has(key(r)) && !(r.type === "pulumi:providers:docker" && hostRuns.some(({ run }) => run.resources.some((h) => key(h) === key(r)))));
    expect(missing.map(key)).toEqual([]);
    // Positive control: the parts are not empty, and each tenant part holds its gateway container.
    expect(tenantRuns.length).toBe(context.fleet.tenants.length);
    for (const { tenant, run } of tenantRuns) expect(run.resources.some((r) => r.type === "docker:index/container:Container" && r.name === `${tenant.name}-gateway`)).toBe(true);
  });

  it("a tenant part's outputs are the tenant's entry of the one-stack outputs", async () => {
    const whole = await runFleet({ tenantsYaml: TENANTS });
    const context = planContext();
    const fleetPart = await runPart({ kind: "fleet", settings: context.settings, secrets: {}, record: context.record });
    const hostRuns: Array<readonly [string, HostOutputs]> = [];
    for (const p of planHostParts(context, fleetPart.outputs.shared)) hostRuns.push([p.input.host.name, (await runPart(p.input)).outputs.host as HostOutputs]);
    for (const part of planTenantParts(context, Object.fromEntries(hostRuns))) {
      const run = await runPart(part.input);
      expect(run.outputs.tenant).toEqual(whole.outputs.tenants[part.input.tenant.name]);
      expect(run.outputs.gatewayToken).toBe(whole.outputs.gatewayTokens[part.input.tenant.name]);
    }
  });
});

describe("the gateway's health check", () => {
  it("checks every 30 s, every second while starting; a running container keeps its own unless its image changes", async () => {
    const context = planContext();
    const fleetPart = await runPart({ kind: "fleet", settings: context.settings, secrets: {}, record: context.record });
    const hostRuns: Array<readonly [string, HostOutputs]> = [];
    for (const p of planHostParts(context, fleetPart.outputs.shared)) hostRuns.push([p.input.host.name, (await runPart(p.input)).outputs.host as HostOutputs]);
    const part = planTenantParts(context, Object.fromEntries(hostRuns))[0]!;
    const gatewayOf = async (input: PartInput) => (await runPart(input)).named(`${part.input.tenant.name}-gateway`);

    const kept = await gatewayOf(part.input);
    expect(kept.inputs.healthcheck).toMatchObject({ interval: "30s", startInterval: "1s", startPeriod: "1m0s", retries: 3 });
    expect(kept.options.ignoreChanges).toEqual(["healthcheck"]);
    // Control: with its image changing, the same container takes the program's health check.
    const renewed = await gatewayOf({ ...part.input, renewHealthCheck: true });
    expect(renewed.inputs.healthcheck).toEqual(kept.inputs.healthcheck);
    expect(renewed.options.ignoreChanges).toBeUndefined();
  });
});

describe("what a host's pending changes make new for its tenants' previews", () => {
  const step = (op: string, name: string) => ({ op, name });
  it("a new proxy container: its id; a new server: its id, and on Hetzner its addresses, endpoint and shell; a new host key: the key and shell", () => {
    expect(hostOutputsChangedBy([step("replace", "a-proxy-traefik")], "a", "local")).toEqual(["proxy.containerId"]);
    expect(hostOutputsChangedBy([step("replace", "a-server")], "a", "local")).toEqual(["serverId"]);
    expect(hostOutputsChangedBy([step("create-replacement", "a-server")], "a", "hetzner")).toEqual(["endpoint", "ipv4", "ipv6", "serverId", "shell"]);
    expect(hostOutputsChangedBy([step("replace", "a-host-key")], "a", "hetzner")).toEqual(["shell", "sshHostKey"]);
  });
  it("updates in place, other hosts' resources and unchanged steps make nothing new", () => {
    expect(hostOutputsChangedBy([step("update", "a-proxy-traefik"), step("same", "a-server"), step("replace", "b-proxy-traefik"), step("replace", "a-backup-job")], "a", "hetzner")).toEqual([]);
  });
});
