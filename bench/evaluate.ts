/**
 * Program evaluation time under mocks for fleets of 10, 100 and 1,000 tenants: validation of tenants.yaml, the plan
 * model, and the registration of every resource, as `pulumi preview` would run it before talking to providers.
 * Two tables: the whole fleet in one program (the layout before the split, still index.ts), and the split fleet as
 * bin/agentpod runs it: its planning of every stack's input and fingerprint (all tenants), then the program of one
 * tenant's stack, one host's stack and the fleet's own stack, which is all a one-tenant change evaluates.
 * Usage: npm run bench [-- 10 100 1000]. Prints one line per size; run it twice, the machines are shared and noisy.
 */
import { performance } from "node:perf_hooks";
import { stringify } from "yaml";
import { planModelKeys } from "../fleet/modelKeys";
import { parseSettings } from "../fleet/settings";
import { checkTenantsFile } from "../fleet/validate";
import { planHostParts, planTenantParts, type PartPlanContext } from "../stack/parts";
import type { FleetRecord, PartInput } from "../stack/program";
import { PROD_CONFIG, PROD_SECRETS, prodConfigFor, runFleet, runMocked } from "../test/support/mockFleet";

export function syntheticFleet(tenants: number): string {
  const perHost = 40; // ccx63: 48 vCPU, 192 GB; 40 basic tenants use 40 CPUs and 80Gi
  const hosts = Math.max(1, Math.ceil(tenants / perHost));
  return stringify({
    defaults: { image: "ghcr.io/openclaw/openclaw:2026.9.6", plan: "basic" },
    hosts: Array.from({ length: hosts }, (_, h) => ({ name: `host-${h}`, location: "fsn1", serverType: "ccx63" })),
    tenants: Array.from({ length: tenants }, (_, t) => ({ name: `tenant-${t}`, host: `host-${Math.floor(t / perHost)}`, ...(t % 3 === 0 ? { plan: "pro" } : {}) })).map((t, i) =>
      i % 3 === 0 ? { ...t, plan: undefined } : t,
    ),
  });
}

const ms = (from: number, to: number) => (to - from).toFixed(0);

/** The split fleet: bin/agentpod's planning of all stacks, then one stack of each kind under mocks. */
async function splitFleet(size: number): Promise<string> {
  const yaml = syntheticFleet(size);
  const config = prodConfigFor(yaml);
  const values = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith("agentpod:")).map(([k, v]) => [k.slice("agentpod:".length), v]));
  const secretsSet = new Set(PROD_SECRETS.filter((k) => k.startsWith("agentpod:")).map((k) => k.slice("agentpod:".length)));
  const t0 = performance.now();
  const settings = parseSettings({ stack: "prod", values, secretsSet });
  const check = checkTenantsFile(yaml, { file: "tenants.yaml", domainSuffix: "agents.example.com", zone: "agents.example.com" });
  if (!check.fleet) throw new Error(check.issues.map((i) => i.message).join("\n"));
  const modelKeys = planModelKeys(check.fleet, { tenantKeys: new Set(settings.tenantModelKeys), sharedKeys: new Set() }, "prod");
  const secrets = Object.fromEntries([...secretsSet].map((k) => [k, values[k]!]));
  const record: FleetRecord = { hosts: {}, tenants: {} };
  const context: PartPlanContext = { fleetStack: "prod", settings, secrets, fleet: check.fleet, modelKeys, record, permissions: {}, codeDigest: "bench" };
  const hosts = planHostParts(context, { backupPassword: "bench", sshKeyIds: ["1"], deployRunnerFirewallId: "1000001" });
  const hostOutputs = Object.fromEntries(
    check.fleet.hosts.map((h) => [h.name, { endpoint: "ssh://root@203.0.113.10", shell: { kind: "ssh" as const, address: "203.0.113.10", user: "root", hostKey: "ecdsa-sha2-nistp256 AAAA" }, serverId: "1", ipv4: "203.0.113.10", ipv6: "2001:db8::1", sshHostKey: "ecdsa-sha2-nistp256 AAAA", proxy: { containerName: "agentpod-traefik", containerId: "c0ffee" } }]),
  );
  const tenants = planTenantParts(context, hostOutputs);
  const t1 = performance.now();
  const part = async (input: PartInput) => {
    const start = performance.now();
    const run = await runMocked(async () => (await import("../stack/program")).partProgram(input), { stack: "prod", config: PROD_CONFIG, secretKeys: PROD_SECRETS });
    if (run.error) throw run.error;
    return { ms: performance.now() - start, resources: run.resources.length };
  };
  const tenant = await part(tenants[tenants.length - 1]!.input);
  const host = await part(hosts[hosts.length - 1]!.input);
  const fleet = await part({ kind: "fleet", settings, secrets, record });
  return `${String(size).padStart(7)}  ${String(hosts.length + tenants.length + 1).padStart(6)}  ${ms(t0, t1).padStart(11)}  ${tenant.ms.toFixed(0).padStart(9)} (${tenant.resources})  ${host.ms.toFixed(0).padStart(7)} (${host.resources})  ${fleet.ms.toFixed(0).padStart(8)} (${fleet.resources})`;
}

async function main() {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  console.log(`program evaluation under mocks (node ${process.version}, ${new Date().toISOString()}; command: npm run bench -- ${(sizes.length ? sizes : [10, 100, 1000]).join(" ")})`);
  console.log("\nwhole fleet in one program (stack/program.ts agentpodProgram, index.ts):");
  console.log("tenants  resources  validate_ms  evaluate_ms  (registered_ms  outputs_ms)");
  for (const size of sizes.length ? sizes : [10, 100, 1000]) {
    const yaml = syntheticFleet(size);
    const t0 = performance.now();
    const check = checkTenantsFile(yaml, { file: "tenants.yaml", domainSuffix: "agents.example.com", zone: "agents.example.com" });
    const t1 = performance.now();
    if (check.issues.length) throw new Error(check.issues.map((i) => i.message).join("\n"));
    const run = await runFleet({ tenantsYaml: yaml });
    const t2 = performance.now();
    if (run.error) throw run.error;
    console.log(
      `${String(size).padStart(7)}  ${String(run.resources.length).padStart(9)}  ${(t1 - t0).toFixed(0).padStart(11)}  ${(t2 - t1).toFixed(0).padStart(11)}  (${run.timings.programMs.toFixed(0).padStart(12)}  ${run.timings.settledMs.toFixed(0).padStart(10)})`,
    );
  }
  console.log("\nsplit fleet (bin/agentpod): planning every stack's input and fingerprint, then one stack of each kind (its resources):");
  console.log("tenants  stacks  planning_ms  tenant_ms       host_ms       fleet_ms");
  for (const size of sizes.length ? sizes : [10, 100, 1000]) console.log(await splitFleet(size));
}

if (require.main === module) main().catch((error) => {
  console.error(error);
  process.exit(1);
});
