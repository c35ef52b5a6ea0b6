/**
 * The local target on the real engine: bin/agentpod drives the real Pulumi engine and Docker provider, requests go
 * through the real Traefik to real OpenClaw gateways. Each test builds on the previous one (one fleet, in order).
 * The fleet uses its own prefix ("e2e") and port, so it runs beside a developer's own local stack.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createLocalFleet,
  docker,
  execIn,
  getVia,
  handshake,
  inspect,
  isPortFree,
  removeFleetObjects,
  stepsOf,
  waitFor,
  type LocalFleet,
} from "../support/localFleet";

const FLEET = "e2e";
const PORT = 18080;

const tenantsFile = (tenants: string) => `
defaults:
  image: agentpod/openclaw:2026.9.6
hosts:
  - name: local
    location: fsn1
    serverType: ccx33
tenants:
${tenants}`;

const THREE = `  - name: alpha
    host: local
  - name: bravo
    host: local
  - name: charlie
    host: local
`;

let fleet: LocalFleet;
let tokens: Record<string, string> = {};
let proxyBefore: { id: string; started: string };

const host = (tenant: string) => `${tenant}.localhost`;
const changedSteps = (json: string) => stepsOf(json).filter((s) => s.op !== "same");
const ready = (tenant: string) => waitFor(`${tenant} ready through Traefik`, async () => ((await getVia(PORT, host(tenant), "/readyz")).status === 200 ? true : undefined), 180_000);
const proxyState = () => ({ id: inspect(`${FLEET}-traefik`, "{{.Id}}"), started: inspect(`${FLEET}-traefik`, "{{.State.StartedAt}}") });
const readTokens = () => JSON.parse(fleet.agentpod(["outputs", "--show-secrets"]).stdout).gatewayTokens as Record<string, string>;

beforeAll(() => {
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use: the end-to-end fleet needs it`);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
});

afterAll(() => {
  fleet?.agentpod(["destroy", "--yes"], { allowFailure: true });
  removeFleetObjects(FLEET);
  fleet?.dispose();
});

describe("local fleet on the real engine", () => {
  test("a. three tenants come up; each answers for its own host name only; WebSocket handshakes use each tenant's token", async () => {
    fleet.writeTenants(tenantsFile(THREE));
    const up = fleet.agentpod(["up", "--yes"]);
    expect(up.stdout).toContain("is up");
    for (const tenant of ["alpha", "bravo", "charlie"]) {
      // Healthy containers get their route once Traefik sees the health event: allow it a moment.
      const health = await waitFor(`${tenant} /healthz through Traefik`, async () => {
        const answer = await getVia(PORT, host(tenant), "/healthz");
        return answer.status === 200 ? answer : undefined;
      }, 30_000);
      expect(JSON.parse(health.body)).toMatchObject({ ok: true });
      expect(inspect(`${FLEET}-${tenant}`, "{{.State.Health.Status}}")).toBe("healthy");
    }
    expect((await getVia(PORT, "nobody.localhost", "/healthz")).status).toBe(404);

    tokens = readTokens();
    expect(Object.keys(tokens).sort()).toEqual(["alpha", "bravo", "charlie"]);
    expect(new Set(Object.values(tokens)).size).toBe(3);
    for (const tenant of ["alpha", "bravo", "charlie"]) {
      await ready(tenant);
      const own = await handshake(PORT, host(tenant), tokens[tenant]!);
      expect(own, tenant).toEqual({ challenge: true, ok: true, outcome: "hello-ok" });
    }
    const foreign = await handshake(PORT, host("alpha"), tokens.bravo!);
    expect(foreign.challenge).toBe(true);
    expect(foreign.ok).toBe(false);
    expect(foreign.outcome).toMatch(/AUTH_TOKEN_MISMATCH|1008/);

    // Hardening as docker sees it.
    expect(inspect(`${FLEET}-alpha`, "{{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} {{.HostConfig.Init}} {{.HostConfig.PidsLimit}} {{.Config.User}}")).toBe(
      "[ALL] [no-new-privileges:true] true 512 1000:1000",
    );
    proxyBefore = proxyState();
    expect(proxyBefore.id).not.toBe("");
  });

  test("a second preview right after `up` shows no change (no perpetual diff that would restart tenants)", () => {
    expect(changedSteps(fleet.agentpod(["preview", "--json"]).stdout)).toEqual([]);
  });

  test("b. a plan change alters only that tenant, in the preview and for real, and its data survives", async () => {
    execIn(`${FLEET}-alpha`, "echo kept-across-plan-change > /home/node/.openclaw/e2e-marker");
    fleet.writeTenants(tenantsFile(THREE.replace("  - name: alpha\n    host: local\n", "  - name: alpha\n    host: local\n    plan: pro\n")));
    const changed = changedSteps(fleet.agentpod(["preview", "--json"]).stdout);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((s) => s.name.startsWith("alpha-")), JSON.stringify(changed)).toBe(true);
    expect(changed.map((s) => s.name)).toContain("alpha-gateway");

    fleet.agentpod(["up", "--yes"]);
    expect(inspect(`${FLEET}-alpha`, "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}")).toBe(`${4 * 1024 ** 3} 2000000000 1024`);
    expect(inspect(`${FLEET}-bravo`, "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}")).toBe(`${2 * 1024 ** 3} 1000000000`);
    expect(execIn(`${FLEET}-alpha`, "cat /home/node/.openclaw/e2e-marker").trim()).toBe("kept-across-plan-change");
    await waitFor("alpha /healthz after the plan change", async () => ((await getVia(PORT, host("alpha"), "/healthz")).status === 200 ? true : undefined), 30_000);
  });

  test("c. adding a tenant creates only its resources, and it answers", async () => {
    const four = THREE.replace("  - name: alpha\n    host: local\n", "  - name: alpha\n    host: local\n    plan: pro\n") + "  - name: delta\n    host: local\n";
    fleet.writeTenants(tenantsFile(four));
    const changed = changedSteps(fleet.agentpod(["preview", "--json"]).stdout);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((s) => s.op === "create" && (s.name === "delta" || s.name.startsWith("delta-"))), JSON.stringify(changed)).toBe(true);
    fleet.agentpod(["up", "--yes"]);
    await waitFor("delta /healthz through Traefik", async () => ((await getVia(PORT, host("delta"), "/healthz")).status === 200 ? true : undefined), 30_000);
  });

  test("d. removing a tenant removes its container and network and keeps its volume and data", async () => {
    execIn(`${FLEET}-charlie`, "echo charlie-data > /home/node/.openclaw/e2e-marker");
    const withoutCharlie = THREE.replace("  - name: alpha\n    host: local\n", "  - name: alpha\n    host: local\n    plan: pro\n").replace("  - name: charlie\n    host: local\n", "") + "  - name: delta\n    host: local\n";
    fleet.writeTenants(tenantsFile(withoutCharlie));
    fleet.agentpod(["up", "--yes"]);
    expect(docker(["ps", "-a", "-q", "--filter", `name=^${FLEET}-charlie$`])).toBe("");
    expect(docker(["network", "ls", "-q", "--filter", `name=^${FLEET}-charlie$`])).toBe("");
    expect(docker(["volume", "ls", "-q", "--filter", `name=^${FLEET}-charlie-data$`])).toBe(`${FLEET}-charlie-data`);
    const data = docker(["run", "--rm", "-v", `${FLEET}-charlie-data:/data:ro`, "--entrypoint", "cat", "agentpod/debian-base:bookworm", "/data/e2e-marker"]);
    expect(data).toBe("charlie-data");
    expect((await getVia(PORT, host("charlie"), "/healthz")).status).toBe(404);
  });

  test("e. reordering and reformatting the tenants file previews no change", () => {
    fleet.writeTenants(`# Same fleet, reordered and reformatted, with comments.
tenants:
  - {name: delta, host: local}     # newest
  - name: bravo
    host: local
  - host: local
    name: alpha
    plan: pro
hosts: [{name: local, serverType: ccx33, location: fsn1}]
defaults: {image: "agentpod/openclaw:2026.9.6"}
`);
    const changed = changedSteps(fleet.agentpod(["preview", "--json"]).stdout);
    expect(changed).toEqual([]);
  });

  test("bad input: the engine refuses the file with every problem at file:line:column, and nothing changes", () => {
    const containersBefore = docker(["ps", "-q", "--no-trunc", "--filter", `name=^${FLEET}-`]).split("\n").sort();
    fleet.writeTenants(tenantsFile("  - name: alpha\n    host: local\n    plan: prro\n  - name: Bravo\n    host: local\n"));
    for (const command of [["preview"], ["up", "--yes"]]) {
      const result = fleet.agentpod(command, { allowFailure: true });
      expect(result.status, command.join(" ")).toBe(1);
      expect(result.stderr).toContain("tenants.yaml has 2 problems; nothing was changed:");
      expect(result.stderr).toMatch(/tenants\.yaml:\d+:\d+ tenants\[0\]\.plan: unknown plan "prro"\. Did you mean "pro"\?/);
      expect(result.stderr).toMatch(/tenants\.yaml:\d+:\d+ tenants\[1\]\.name: must be a DNS label/);
    }
    expect(docker(["ps", "-q", "--no-trunc", "--filter", `name=^${FLEET}-`]).split("\n").sort()).toEqual(containersBefore);
    fleet.writeTenants(tenantsFile("  - { name: delta, host: local }\n  - { name: bravo, host: local }\n  - { name: alpha, host: local, plan: pro }\n"));
    expect(changedSteps(fleet.agentpod(["preview", "--json"]).stdout)).toEqual([]);
  });

  test("f. tenant A cannot reach tenant B's gateway", () => {
    const bravoIp = inspect(`${FLEET}-bravo`, `{{(index .NetworkSettings.Networks "${FLEET}-bravo").IPAddress}}`);
    const alphaIp = inspect(`${FLEET}-alpha`, `{{(index .NetworkSettings.Networks "${FLEET}-alpha").IPAddress}}`);
    expect(bravoIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const probe = (url: string) =>
      execIn(
        `${FLEET}-alpha`,
        `node -e "fetch('${url}', {signal: AbortSignal.timeout(3000)}).then(r => console.log('status', r.status), e => console.log('unreachable', e.cause?.code ?? e.name))"`,
      ).trim();
    expect(probe(`http://${alphaIp}:18789/healthz`)).toBe("status 200"); // the probe itself works
    expect(probe(`http://${bravoIp}:18789/healthz`)).toMatch(/^unreachable/);
    expect(probe(`http://${FLEET}-bravo:18789/healthz`)).toMatch(/^unreachable/);
  });

  test("g. the proxy was neither replaced nor restarted by any of it", () => {
    expect(proxyState()).toEqual(proxyBefore);
  });

  test("h. destroy removes the fleet, keeps the data volumes and says so", () => {
    const destroyed = fleet.agentpod(["destroy", "--yes"]);
    expect(destroyed.stdout).toMatch(/Retained data volumes.*e2e-alpha-data/s);
    expect(docker(["ps", "-a", "-q", "--filter", `name=^${FLEET}-`])).toBe("");
    const volumes = docker(["volume", "ls", "-q", "--filter", `name=^${FLEET}-`]).split("\n").sort();
    expect(volumes).toEqual([`${FLEET}-alpha-data`, `${FLEET}-bravo-data`, `${FLEET}-charlie-data`, `${FLEET}-delta-data`]);
  });
});
