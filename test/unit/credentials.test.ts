/**
 * Per-tenant credentials (issue 13, items 3 and 4): each tenant's own model key, the fleet-wide key only as an
 * explicit opt-in, production refusing a tenant with neither, and gateway token rotation. Pure logic first (no
 * Pulumi), then the program under mocks: what each container gets, that a key or a rotation changes one tenant
 * only, and that no key is ever readable in plain text in inputs or outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, test, vi } from "vitest";
import { containerInputEffect } from "../../fleet/containerChanges";
import { planModelKeys, sharedKeyWarning } from "../../fleet/modelKeys";
import { planFleet } from "../../fleet/plan";
import { renderSummaryMarkdown, renderSummaryText, summarizeFleetChanges } from "../../fleet/summary";
import { nextRotation, stepsBeyondRotation } from "../../fleet/tokenRotation";
import { loadFleet } from "../../fleet/validate";
import { PROD_CONFIG, PROD_SECRETS, compareRuns, runFleet, tenantKeyOf, tenantKeys } from "../support/mockFleet";
import { SECRET_SIG, plainOutputs, withoutSecrets } from "../support/secrecy";

const FLEET = `
hosts:
  - { name: fsn1-a, location: fsn1, serverType: cx42 }
tenants:
  - { name: acme, host: fsn1-a }
  - { name: globex, host: fsn1-a }
  - { name: umbrella, host: fsn1-a, modelProvider: openai }
`;
const OPTIONS = { file: "tenants.yaml", domainSuffix: "agents.example.com", zone: "agents.example.com" };
const plan = (yaml: string) => loadFleet(yaml, OPTIONS);
const withShared = (yaml: string, tenant: string) => yaml.replace(`{ name: ${tenant}, host: fsn1-a`, `{ name: ${tenant}, host: fsn1-a, sharedModelKey: true`);
const envsOf = (input: any): string[] => {
  expect(input?.[SECRET_SIG], "envs must be a secret").toBeDefined();
  return input.value;
};
const config = (keys: Record<string, string>, extra: Record<string, string> = {}) => ({ ...PROD_CONFIG, "agentpod:tenantModelKeys": JSON.stringify(keys), ...extra });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("where a tenant's model key comes from (pure)", () => {
  test("its own key first; the fleet-wide one only with the opt-in and when set; otherwise none", () => {
    const fleet = plan(withShared(FLEET, "globex").replace("modelProvider: openai", "modelProvider: openai, sharedModelKey: true"));
    const result = planModelKeys(fleet, { tenantKeys: new Set(["acme", "umbrella", "gone"]), sharedKeys: new Set(["anthropic"]) }, "prod");
    expect(result.sources).toEqual({ acme: "own", globex: "shared", umbrella: "own" });
    expect(result.problems).toEqual([]);
    expect(result.unused).toEqual(["gone"]);
  });

  test("a tenant with neither its own key nor the opt-in is a problem, with the exact command to run", () => {
    const result = planModelKeys(plan(withShared(FLEET, "umbrella")), { tenantKeys: new Set(["acme"]), sharedKeys: new Set(["anthropic"]) }, "prod");
    expect(result.sources).toEqual({ acme: "own", globex: "none", umbrella: "none" });
    expect(result.problems).toEqual([
      {
        key: "agentpod:tenantModelKeys.globex",
        message:
          "tenant globex (anthropic) has no model key of its own: pulumi config set --secret --path 'agentpod:tenantModelKeys.globex' --stack prod " +
          "(prompts for the key; sharing the fleet-wide anthropic key instead takes `sharedModelKey: true` on globex in tenants.yaml)",
      },
      // umbrella opted in, but the fleet-wide openai key is not set.
      { key: "agentpod:openaiApiKey", message: "is required by the tenants that share the fleet-wide openai key and have none of their own (umbrella): pulumi config set --secret agentpod:openaiApiKey --stack prod" },
    ]);
  });

  test("defaults.sharedModelKey opts every tenant in; a tenant can opt out", () => {
    const fleet = plan(FLEET.replace("hosts:", "defaults: { sharedModelKey: true }\nhosts:").replace("{ name: acme, host: fsn1-a }", "{ name: acme, host: fsn1-a, sharedModelKey: false }"));
    expect(fleet.tenants.map((t) => [t.name, t.sharedModelKey])).toEqual([["acme", false], ["globex", true], ["umbrella", true]]);
  });
});

describe("the summary warns about every tenant that shares a fleet-wide key", () => {
  const before = plan(FLEET);
  const after = plan(withShared(FLEET, "globex"));

  test("in text and markdown, with the command that gives it its own key; the opt-in itself is a change", () => {
    const summary = summarizeFleetChanges(before, after);
    expect(summary.warnings).toEqual([sharedKeyWarning({ name: "globex", modelProvider: "anthropic" })]);
    expect(summary.warnings[0]).toContain("pulumi config set --secret --path 'agentpod:tenantModelKeys.globex'");
    expect(summary.changes.map((c) => [c.name, c.what, c.effect])).toEqual([
      ["globex", "shares the fleet-wide anthropic key (sharedModelKey: true)", "container replaced unless it has a model key of its own, data kept"],
    ]);
    const text = renderSummaryText(summary);
    expect(text).toContain(`warning: globex opts in to the fleet-wide anthropic key (sharedModelKey: true), used while it has no key of its own: every tenant sharing it can read and spend it`);
    expect(renderSummaryMarkdown(summary)).toContain("> ⚠️ **Shared model key:** globex opts in");
  });

  test("also when nothing changes; and not at all without an opt-in (the control)", () => {
    expect(renderSummaryText(summarizeFleetChanges(after, after))).toMatch(/^no tenant changes\nwarning: globex opts in/);
    expect(renderSummaryMarkdown(summarizeFleetChanges(after, after))).toContain("Shared model key");
    expect(renderSummaryText(summarizeFleetChanges(before, before))).toBe("no tenant changes\n");
    expect(summarizeFleetChanges(before, before).warnings).toEqual([]);
  });
});

describe("token rotation values and what a rotation may change (pure)", () => {
  test("a rotation is the time, always later than the previous one", () => {
    const now = new Date("2026-12-02T04:00:00.000Z");
    expect(nextRotation(undefined, now)).toBe("2026-12-02T04:00:00.000Z");
    expect(nextRotation("2026-12-01T00:00:00.000Z", now)).toBe("2026-12-02T04:00:00.000Z");
    expect(nextRotation("2026-12-02T04:00:00.000Z", now)).toBe("2026-12-02T04:00:00.001Z");
    expect(nextRotation("2027-01-01T00:00:00.000Z", now)).toBe("2027-01-01T00:00:00.001Z");
    expect(nextRotation("manual", now)).toBe("2026-12-02T04:00:00.000Z");
  });

  test("only the tenant's token, gateway and pids limit may change", () => {
    const container = "docker:index/container:Container";
    const steps = [
      { op: "same", name: "globex-gateway", type: container },
      { op: "replace", name: "acme-token", type: "pulumi-nodejs:dynamic/agentpod:GatewayToken" },
      { op: "create-replacement", name: "acme-gateway", type: container },
      { op: "update", name: "acme-pids", type: "pulumi-nodejs:dynamic/agentpod:ContainerPidsLimit" },
      // The dynamic resources' provider takes the stack's config: the rotation's config change updates it.
      { op: "update", name: "default", type: "pulumi:providers:pulumi-nodejs" },
    ];
    expect(stepsBeyondRotation("acme", steps)).toEqual([]);
    const beyond = [
      { op: "update", name: "globex-gateway", type: container },
      { op: "create", name: "acmex-token", type: "pulumi-nodejs:dynamic/agentpod:GatewayToken" },
      { op: "update", name: "default", type: "pulumi:providers:docker" },
    ];
    expect(stepsBeyondRotation("acme", [...steps, ...beyond])).toEqual(beyond);
  });
});

describe("the program under mocks: production", () => {
  test("each tenant's container gets its own key, in the variable of its provider, as a secret; no other tenant's key", async () => {
    const run = await runFleet({ tenantsYaml: FLEET, config: config(tenantKeys(["acme", "globex", "umbrella"])), secretKeys: PROD_SECRETS });
    if (run.error) throw run.error;
    for (const [tenant, variable] of [["acme", "ANTHROPIC_API_KEY"], ["globex", "ANTHROPIC_API_KEY"], ["umbrella", "OPENAI_API_KEY"]] as const) {
      const gateway = run.named(`${tenant}-gateway`);
      expect(await pulumi.isSecret(gateway.declared.envs), tenant).toBe(true);
      const envs = envsOf(gateway.inputs.envs);
      expect(envs.filter((e) => e.includes("_API_KEY="))).toEqual([`${variable}=${tenantKeyOf(tenant)}`]);
      for (const other of ["acme", "globex", "umbrella"].filter((t) => t !== tenant)) expect(envs.join("\n")).not.toContain(tenantKeyOf(other));
      // The fleet-wide keys are set in this stack, and still reach no tenant that did not opt in.
      expect(envs.join("\n")).not.toContain("sk-ant-test-key");
    }
  });

  test("a tenant without its own key and without the opt-in is refused with the exact command; nothing is registered", async () => {
    const run = await runFleet({ tenantsYaml: FLEET, config: config(tenantKeys(["acme", "umbrella"])), secretKeys: PROD_SECRETS });
    expect(run.error?.message).toBe(
      "stack configuration has 1 problem; nothing was changed:\n" +
        "  Pulumi.prod.yaml agentpod:tenantModelKeys.globex: tenant globex (anthropic) has no model key of its own: pulumi config set --secret --path 'agentpod:tenantModelKeys.globex' --stack prod " +
        "(prompts for the key; sharing the fleet-wide anthropic key instead takes `sharedModelKey: true` on globex in tenants.yaml)",
    );
    expect(run.resources).toHaveLength(0);
    // No keys at all, not even fleet-wide ones: every tenant is named.
    const bare = Object.fromEntries(Object.entries(PROD_CONFIG).filter(([k]) => !/ApiKey|tenantModelKeys/.test(k)));
    const none = await runFleet({ tenantsYaml: FLEET, config: bare, secretKeys: PROD_SECRETS });
    expect(none.error?.message).toMatch(/has 3 problems/);
    for (const tenant of ["acme", "globex", "umbrella"]) expect(none.error?.message).toContain(`agentpod:tenantModelKeys.${tenant}: tenant ${tenant}`);
    expect(none.resources).toHaveLength(0);
  });

  test("the shared key reaches only a tenant that opted in and has none of its own, and preview warns about it", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const run = await runFleet({ tenantsYaml: withShared(withShared(FLEET, "globex"), "acme"), config: config(tenantKeys(["acme", "umbrella", "gone"])), secretKeys: PROD_SECRETS });
    if (run.error) throw run.error;
    expect(envsOf(run.named("globex-gateway").inputs.envs)).toContain("ANTHROPIC_API_KEY=sk-ant-test-key");
    expect(envsOf(run.named("acme-gateway").inputs.envs)).toContain(`ANTHROPIC_API_KEY=${tenantKeyOf("acme")}`); // its own key wins
    const warnings = warn.mock.calls.map((c) => String(c[0]));
    expect(warnings.filter((w) => w.includes("fleet-wide"))).toEqual([`warning: [runtime] ${sharedKeyWarning({ name: "globex", modelProvider: "anthropic" }, { uses: true, stack: "prod" })}`]);
    expect(warnings).toContain("warning: [runtime] agentpod:tenantModelKeys.gone is set but tenants.yaml has no tenant gone: it is unused; remove it with pulumi config rm --path 'agentpod:tenantModelKeys.gone' --stack prod");
    // Opted in, but the fleet-wide key is not set: refused with the command that sets it.
    const noShared = Object.fromEntries(Object.entries(config(tenantKeys(["acme", "umbrella"]))).filter(([k]) => k !== "agentpod:anthropicApiKey"));
    const refused = await runFleet({ tenantsYaml: withShared(FLEET, "globex"), config: noShared, secretKeys: PROD_SECRETS });
    expect(refused.error?.message).toContain("agentpod:anthropicApiKey: is required by the tenants that share the fleet-wide anthropic key and have none of their own (globex): pulumi config set --secret agentpod:anthropicApiKey --stack prod");
    expect(refused.resources).toHaveLength(0);
  });

  test("changing one tenant's key replaces exactly that tenant's container and changes nothing else", async () => {
    const keys = tenantKeys(["acme", "globex", "umbrella"]);
    const before = await runFleet({ tenantsYaml: FLEET, config: config(keys), secretKeys: PROD_SECRETS });
    const after = await runFleet({ tenantsYaml: FLEET, config: config({ ...keys, globex: "model-key-of-globex-rotated" }), secretKeys: PROD_SECRETS });
    if (before.error || after.error) throw before.error ?? after.error;
    expect(compareRuns(before, after)).toEqual({ added: [], removed: [], changed: { "globex-gateway": ["envs"] } });
    // A change of `envs` replaces the container (the Docker provider's ForceNew inputs: container-changes.test.ts).
    expect(containerInputEffect("envs")).toBe("replace");
    expect(envsOf(after.named("globex-gateway").inputs.envs)).toContain("ANTHROPIC_API_KEY=model-key-of-globex-rotated");
  });

  test("no model key appears in plain text in any input or output; the control finds them inside the secrets", async () => {
    const run = await runFleet({ tenantsYaml: withShared(FLEET, "globex"), config: config(tenantKeys(["acme", "umbrella"])), secretKeys: PROD_SECRETS });
    if (run.error) throw run.error;
    const values = [tenantKeyOf("acme"), tenantKeyOf("umbrella"), "sk-ant-test-key"];
    const inputs = JSON.stringify(run.resources.map((r) => r.inputs));
    for (const value of values) expect(inputs, "control: the key is registered, inside a secret").toContain(value);
    const plain = JSON.stringify(run.resources.map((r) => withoutSecrets(r.inputs)));
    const outputs = JSON.stringify(await plainOutputs(run.raw));
    expect(outputs).toContain("https://acme.agents.example.com"); // the plain outputs were read
    for (const value of values) {
      expect(plain).not.toContain(value);
      expect(outputs).not.toContain(value);
    }
  });

  test("a rotation recorded for one tenant changes that tenant's token alone", async () => {
    const keys = config(tenantKeys(["acme", "globex", "umbrella"]));
    const before = await runFleet({ tenantsYaml: FLEET, config: keys, secretKeys: PROD_SECRETS });
    const after = await runFleet({ tenantsYaml: FLEET, config: { ...keys, "agentpod:tokenRotations": JSON.stringify({ globex: "2026-12-02T04:00:00.000Z", gone: "x" }) }, secretKeys: PROD_SECRETS });
    if (before.error || after.error) throw before.error ?? after.error;
    // Under mocks a token's value does not depend on its rotation; on the real engine the new token replaces the
    // container (test/e2e/credentials.test.ts).
    expect(compareRuns(before, after)).toEqual({ added: [], removed: [], changed: { "globex-token": ["rotation"] } });
    expect(after.named("globex-token").inputs.rotation).toBe("2026-12-02T04:00:00.000Z");
    expect(after.named("acme-token").inputs.rotation).toBe("");
  });
});

describe("the program under mocks: local target", () => {
  test("a tenant's own key through the same config path; a tenant without one runs without a key", async () => {
    const run = await runFleet({
      tenantsYaml: FLEET,
      stack: "local",
      config: { "agentpod:target": "local", "agentpod:tenantModelKeys": JSON.stringify({ acme: "fake-local-key" }), "agentpod:anthropicApiKey": "sk-ant-shared" },
      secretKeys: ["agentpod:tenantModelKeys", "agentpod:anthropicApiKey"],
    });
    if (run.error) throw run.error;
    expect(envsOf(run.named("acme-gateway").inputs.envs)).toContain("ANTHROPIC_API_KEY=fake-local-key");
    // globex did not opt in: the fleet-wide key set in this stack does not reach it.
    expect(envsOf(run.named("globex-gateway").inputs.envs).filter((e) => e.includes("_API_KEY="))).toEqual([]);
  });
});

test("the FleetPlan of the example file opts no tenant in", () => {
  expect(planFleet({ hosts: [], tenants: [{ name: "a", host: "h" }] }, { domainSuffix: "x.example.com" }).tenants[0]!.sharedModelKey).toBe(false);
});
