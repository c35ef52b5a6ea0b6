/**
 * `agentpod migrate` on the real engine (issue #10): a fleet built in the layout before the split — one stack holding
 * everything, from the whole-fleet program (stack/program.ts `agentpodProgram`) — becomes the fleet stack, a stack per
 * host and a stack per tenant, and nothing is replaced or deleted: the same containers (ids and start times), the
 * same gateway tokens, the tenant data in place, every tenant answering through its host's Traefik, and then `preview`
 * and `up` find nothing to do. Two local servers, one real OpenClaw gateway (its token is checked by a handshake) and
 * two stand-ins. Each test builds on the previous one; own prefix and port.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CACHE_DIR, engineEnvironment } from "../../cli/engine";
import { TENANT_DATA_ROOT } from "../../fleet/cloudInit";
import { localServerObjectNames } from "../../fleet/naming";
import { splitDeployment } from "../../fleet/stackSplit";
import { SINGLE_STACK_FIXTURE, trimmedState } from "../support/stateFixture";
import { REPO, createLocalFleet, docker, getVia, handshake, isPortFree, localDomain, removeFleetObjects, waitFor, type LocalFleet } from "../support/localFleet";

const FLEET = "migr";
const PORT = 18780;
const GATEWAY = "agentpod/openclaw:2026.9.6";
const STANDIN = "agentpod/standin:1";
/** ant runs the real gateway (its token is checked by the gateway itself); bee and cat are stand-ins. */
const HOST_OF: Record<string, string> = { ant: "local-a", bee: "local-a", cat: "local-b" };
const TENANTS = Object.keys(HOST_OF);
const HOSTS = ["local-a", "local-b"];
const TENANTS_FILE = `
defaults:
  image: ${STANDIN}
  plan: small
plans:
  small: { cpus: 0.5, memory: 2Gi }
hosts:
  - { name: local-a, location: fsn1, serverType: ccx33 }
  - { name: local-b, location: fsn1, serverType: ccx33 }
tenants:
  - { name: ant, host: local-a, image: "${GATEWAY}" }
  - { name: bee, host: local-a }
  - { name: cat, host: local-b }
`;
/** What the tenants keep in their data directories across the migration. */
const MARKER = "written-before-the-migration";

let fleet: LocalFleet;
let tokensBefore: Record<string, string>;
let containersBefore: Record<string, string>;
let stateBefore: string;

const container = (tenant: string) => `${FLEET}-${tenant}`;
const address = (tenant: string) => fleet.address(HOST_OF[tenant]!);
const healthz = (tenant: string) => getVia(fleet.httpsPort, localDomain(tenant), "/healthz", address(tenant));
const answers = (tenant: string) => waitFor(`${tenant} /healthz through its proxy`, async () => ((await healthz(tenant)).status === 200 ? true : undefined), 180_000);
const ready = (tenant: string) =>
  waitFor(`${tenant} /readyz through its proxy`, async () => ((await getVia(fleet.httpsPort, localDomain(tenant), "/readyz", address(tenant))).status === 200 ? true : undefined), 180_000);
/** A file in the tenant's data directory, read on its host's disk (not through the container). */
const onHostDisk = (tenant: string, file: string) =>
  docker(["exec", localServerObjectNames(FLEET, HOST_OF[tenant]!).container, "sh", "-c", `cat ${TENANT_DATA_ROOT}/${tenant}/${file} 2>/dev/null || echo missing`]);

/**
 * Every container of the fleet, name -> "id startedAt": the local servers on this machine's engine and, on each
 * server's own engine, the proxy, the backup job and the gateways. A recreated or restarted container changes its entry.
 */
function containers(): Record<string, string> {
  const all: Record<string, string> = {};
  const record = (lines: string, where: string) => {
    for (const line of lines.split("\n").filter(Boolean)) {
      const [name, id, started] = line.split(" ");
      all[`${where}/${name!.replace(/^\//, "")}`] = `${id} ${started}`;
    }
  };
  const format = "{{.Name}} {{.Id}} {{.State.StartedAt}}";
  const servers = docker(["ps", "-aq", "--filter", `name=^${FLEET}-host-`]).split("\n").filter(Boolean);
  record(docker(["inspect", "--format", format, ...servers]), "machine");
  for (const host of HOSTS) {
    const ids = fleet.docker(host, ["ps", "-aq", "--filter", `name=^${FLEET}-`]).split("\n").filter(Boolean);
    record(fleet.docker(host, ["inspect", "--format", format, ...ids]), host);
  }
  return all;
}

/** The Pulumi CLI on the test project, as an operator runs it (same backend and passphrase as agentpod). */
function pulumi(args: string[], cwd = fleet.dir): string {
  const env = { ...process.env, ...engineEnvironment(fleet.stack, fleet.dir) };
  const result = spawnSync(path.join(CACHE_DIR, "bin", "pulumi"), [...args, "--cwd", cwd], { encoding: "utf8", env, maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}
/** The stack's state as `pulumi stack export` prints it: secrets stay ciphertext. */
const exportState = (stack: string) => pulumi(["stack", "export", "--stack", stack]);
const stackNames = () => (JSON.parse(pulumi(["stack", "ls", "--json"])) as Array<{ name: string }>).map((s) => s.name.split("/").pop()!).sort();
/** Each resource of an exported state as "<urn> <id>" (secrets are encrypted anew by an import: their ciphertext differs). */
const identities = (exported: string) => (JSON.parse(exported).deployment.resources as Array<{ urn: string; id?: string }>).map((r) => `${r.urn} ${r.id ?? ""}`).sort();
const resourcesOf = (stack: string) => (JSON.parse(exportState(stack)).deployment.resources ?? []) as Array<{ urn: string; type: string }>;

beforeAll(() => {
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use: the migration fleet needs it`);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  fleet.writeTenants(TENANTS_FILE);
});

afterAll(() => {
  // After a successful migration `destroy` removes the stacks; whatever is left, the fleet's objects go with its servers.
  fleet?.agentpod(["destroy", "--yes"], { allowFailure: true });
  removeFleetObjects(FLEET);
  fleet?.dispose();
});

describe("agentpod migrate: a fleet in one stack becomes a stack per host and per tenant, nothing recreated", () => {
  test("a. the fleet in the old layout: one stack, built by the whole-fleet program on the real engine", async () => {
    // Under tsx, as bin/agentpod runs (test/support/wholeFleetUp.ts: the Automation API with agentpodProgram inline).
    const built = spawnSync(path.join(REPO, "node_modules", ".bin", "tsx"), [path.join(REPO, "test", "support", "wholeFleetUp.ts"), fleet.dir, fleet.stack], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      timeout: 20 * 60_000,
    });
    expect(built.status, `${built.stdout.slice(-6000)}\n${built.stderr.slice(-3000)}`).toBe(0);
    for (const tenant of TENANTS) await answers(tenant);
    await ready("ant");

    const outputs = JSON.parse(pulumi(["stack", "output", "--json", "--show-secrets", "--stack", fleet.stack])) as Record<string, unknown>;
    expect(outputs.record).toBeUndefined(); // the old layout: no record of stacks
    expect(Object.keys(outputs.tenants as object).sort()).toEqual(TENANTS);
    tokensBefore = outputs.gatewayTokens as Record<string, string>;
    expect(Object.keys(tokensBefore).sort()).toEqual(TENANTS);
    expect(await handshake(fleet.httpsPort, localDomain("ant"), tokensBefore.ant!, address("ant"))).toEqual({ challenge: true, ok: true, outcome: "hello-ok" });

    // Data in the tenants' data directories: the real gateway's and a stand-in's on the other host.
    for (const tenant of ["ant", "cat"]) {
      fleet.execIn(HOST_OF[tenant]!, container(tenant), `echo ${MARKER}-${tenant} > /home/node/.openclaw/migration-marker`);
      expect(onHostDisk(tenant, "migration-marker")).toBe(`${MARKER}-${tenant}`);
    }
    containersBefore = containers();
    // Control: the identity covers every container of the fleet (2 servers; per host a proxy and a backup job; 3 gateways).
    expect(Object.keys(containersBefore).sort()).toEqual(
      [
        `machine/${FLEET}-host-local-a`,
        `machine/${FLEET}-host-local-b`,
        ...HOSTS.flatMap((h) => [`${h}/${FLEET}-traefik`, `${h}/${FLEET}--backup`]),
        ...TENANTS.map((t) => `${HOST_OF[t]}/${container(t)}`),
      ].sort(),
    );
    stateBefore = exportState(fleet.stack);
    expect(stackNames()).toEqual([fleet.stack]);
    expect(resourcesOf(fleet.stack).filter((r) => r.type === "agentpod:index:TenantGateway")).toHaveLength(3);

    // The split of this real state places every resource (the unit test splits its trimmed copy, the fixture).
    const deployment = JSON.parse(stateBefore).deployment;
    const split = splitDeployment(deployment, { fleetStack: fleet.stack, hosts: HOSTS, tenants: HOST_OF });
    expect(split.unassigned).toEqual([]);
    // UPDATE_ENGINE_FIXTURES=1 rewrites the fixture from this run's state (secrets are ciphertext in it, and then removed).
    if (process.env.UPDATE_ENGINE_FIXTURES === "1") writeFileSync(SINGLE_STACK_FIXTURE, `${JSON.stringify(trimmedState(JSON.parse(stateBefore), { projectDir: fleet.dir }), null, 2)}\n`);
  });

  test("b. `agentpod up` on the old layout refuses, names `agentpod migrate`, and changes nothing", () => {
    const up = fleet.agentpod(["up", "--yes"], { allowFailure: true });
    expect(up.status).toBe(1);
    expect(up.stderr).toContain(`stack ${fleet.stack} holds the whole fleet in one stack`);
    expect(up.stderr).toContain(`run \`agentpod migrate --stack ${fleet.stack}\` first; nothing was changed`);
    expect(exportState(fleet.stack)).toBe(stateBefore);
    expect(stackNames()).toEqual([fleet.stack]);
    expect(containers()).toEqual(containersBefore);
  });

  test("b2. migrate refuses, and puts the whole stack back, when the new stacks would replace anything (here: an edit of tenants.yaml never applied)", () => {
    // bee's image changed in tenants.yaml after the last `up`: its stack's preview replaces bee's gateway.
    fleet.writeTenants(TENANTS_FILE.replace("  - { name: bee, host: local-a }", `  - { name: bee, host: local-a, image: "agentpod/standin:release-1" }`));
    let refused;
    try {
      refused = fleet.agentpod(["migrate", "--yes"], { allowFailure: true });
    } finally {
      fleet.writeTenants(TENANTS_FILE);
    }
    expect(refused.status, `${refused.stdout}\n${refused.stderr}`).toBe(1);
    expect(refused.stderr).toContain(`replace bee-gateway (stack ${fleet.stack}.tenant.bee)`);
    expect(refused.stderr).toContain(`stack ${fleet.stack} holds the whole fleet again, as before (the fleet and hosts stage had been applied, without replacing or deleting anything)`);
    // Back as it was: one stack with every resource (same URNs and ids), the same containers.
    expect(stackNames()).toEqual([fleet.stack]);
    expect(identities(exportState(fleet.stack))).toEqual(identities(stateBefore));
    expect(containers()).toEqual(containersBefore);
  });

  test("c. `agentpod migrate` moves the state into a stack per host and per tenant", () => {
    const migrate = fleet.agentpod(["migrate", "--yes"], { allowFailure: true });
    expect(migrate.status, `${migrate.stdout}\n${migrate.stderr}`).toBe(0);
    expect(migrate.stdout).toContain(`splitting stack ${fleet.stack}: 2 host(s), 3 tenant(s)`);
    expect(migrate.stdout).toContain("nothing replaced or deleted");
    expect(migrate.stdout).toContain(`stack ${fleet.stack} is now 6 stacks`);

    const parts = [...HOSTS.map((h) => `${fleet.stack}.host.${h}`), ...TENANTS.map((t) => `${fleet.stack}.tenant.${t}`)];
    expect(stackNames()).toEqual([fleet.stack, ...parts].sort());
    // Each stack holds its own part: the fleet stack only the fleet-wide resources.
    expect(resourcesOf(fleet.stack).filter((r) => r.type.startsWith("agentpod:index:"))).toEqual([]);
    expect(resourcesOf(fleet.stack).map((r) => r.type)).toContain("pulumi-nodejs:dynamic/agentpod:BackupKey");
    for (const host of HOSTS) {
      const types = resourcesOf(`${fleet.stack}.host.${host}`).map((r) => `${r.type}::${r.urn.split("::").pop()}`);
      expect(types).toEqual(expect.arrayContaining([`agentpod:index:LocalServerHost::${host}`, `agentpod:index:HostProxy::${host}-proxy`, `agentpod:index:HostBackup::${host}-backup`]));
      expect(types.filter((t) => t.startsWith("agentpod:index:TenantGateway"))).toEqual([]);
    }
    for (const tenant of TENANTS) {
      const types = resourcesOf(`${fleet.stack}.tenant.${tenant}`).map((r) => `${r.type}::${r.urn.split("::").pop()}`);
      expect(types).toEqual(expect.arrayContaining([`agentpod:index:TenantGateway::${tenant}`, `pulumi:providers:docker::${HOST_OF[tenant]}-docker`]));
      expect(types.filter((t) => t.startsWith("agentpod:index:TenantGateway")).length).toBe(1);
    }
  });

  test("d. after the migration: the same containers, tokens and data, and every tenant answers through its proxy", async () => {
    expect(containers()).toEqual(containersBefore);
    const tokensAfter = JSON.parse(fleet.agentpod(["outputs", "--show-secrets"]).stdout).gatewayTokens as Record<string, string>;
    expect(tokensAfter).toEqual(tokensBefore);
    for (const tenant of ["ant", "cat"]) {
      expect(onHostDisk(tenant, "migration-marker")).toBe(`${MARKER}-${tenant}`);
      expect(fleet.execIn(HOST_OF[tenant]!, container(tenant), "cat /home/node/.openclaw/migration-marker").trim()).toBe(`${MARKER}-${tenant}`);
    }
    for (const tenant of TENANTS) expect((await healthz(tenant)).status, tenant).toBe(200);
    // The real gateway still takes the token it had, and refuses another tenant's (the control).
    expect(await handshake(fleet.httpsPort, localDomain("ant"), tokensAfter.ant!, address("ant"))).toEqual({ challenge: true, ok: true, outcome: "hello-ok" });
    expect(await handshake(fleet.httpsPort, localDomain("ant"), tokensAfter.bee!, address("ant"))).toMatchObject({ ok: false });
  });

  test("e. then preview shows no change, up runs no stack, status is healthy, and migrate has nothing to do", () => {
    const preview = fleet.agentpod(["preview"]);
    expect(preview.stdout).toContain("agentpod: no changes");
    const up = fleet.agentpod(["up", "--yes"]);
    expect(up.stdout).toContain(`agentpod: ${fleet.stack} is up (no stack's inputs changed)`);
    const status = fleet.agentpod(["status"]);
    expect(status.stdout).toContain("all 3 tenants running and healthy");
    const again = fleet.agentpod(["migrate", "--yes"]);
    expect(again.stdout).toContain(`stack ${fleet.stack} is already split into stacks per host and tenant; nothing to do`);
    expect(containers()).toEqual(containersBefore);
  });
});
