/**
 * Program evaluation time under mocks for fleets of 10, 100 and 1,000 tenants: validation of tenants.yaml, the plan
 * model, and the registration of every resource, as `pulumi preview` would run it before talking to providers.
 * Usage: npm run bench [-- 10 100 1000]. Prints one line per size; run it twice, the machines are shared and noisy.
 */
import { performance } from "node:perf_hooks";
import { stringify } from "yaml";
import { checkTenantsFile } from "../fleet/validate";
import { runFleet } from "../test/support/mockFleet";

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

async function main() {

  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  console.log(`program evaluation under mocks (node ${process.version}, ${new Date().toISOString()})`);
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
}

if (require.main === module) main().catch((error) => {
  console.error(error);
  process.exit(1);
});
