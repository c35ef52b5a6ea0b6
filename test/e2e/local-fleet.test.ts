/**
 * The local target on the real engine: bin/agentpod drives the real Pulumi engine and Docker provider, requests go
 * through the real Traefik of each local server to real OpenClaw gateways. Two hosts, as tenants.local.yaml has.
 * Each test builds on the previous one (one fleet, in order). The fleet uses its own prefix ("e2e") and port, so
 * it runs beside a developer's own local stack.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { GATEWAY_HEALTH_TIMING, GATEWAY_TMPFS } from "../../fleet/gateway";
import { createLocalFleet, localDomain, docker, getVia, handshake, isPortFree, removeFleetObjects, stepsOf, tcpProbeScript, waitFor, type LocalFleet } from "../support/localFleet";

const FLEET = "e2e";
const PORT = 18080;

/** The gateway's image; also where a probe needs Node.js (the stand-in image is one static binary). */
const OPENCLAW_IMAGE = "agentpod/openclaw:2026.9.6";
const tenantsFile = (tenants: string, plans = "") => `${plans}
defaults:
  image: ${OPENCLAW_IMAGE}
hosts:
  - name: local-a
    location: fsn1
    serverType: ccx33
  - name: local-b
    location: fsn1
    serverType: ccx33
tenants:
${tenants}`;

const THREE = `  - name: alpha
    host: local-a
  - name: bravo
    host: local-a
  - name: charlie
    host: local-b
`;
const HOSTS = ["local-a", "local-b"];
/** Paths a gateway tries to write: only its state directory (the data volume) and its scratch tmpfs may take it. */
const WRITE_PROBES: Record<string, "refused" | "writable"> = {
  "/e2e-probe": "refused",
  "/usr/e2e-probe": "refused",
  "/app/e2e-probe": "refused",
  "/home/node/e2e-probe": "refused",
  "/etc/agentpod/openclaw.json": "refused",
  "/home/node/.openclaw/e2e-probe": "writable",
  "/tmp/e2e-probe": "writable",
  "/home/node/.cache/e2e-probe": "writable",
};
const HOST_OF: Record<string, string> = { alpha: "local-a", bravo: "local-a", charlie: "local-b", delta: "local-b" };

let fleet: LocalFleet;
let tokens: Record<string, string> = {};
let proxyBefore: Record<string, { id: string; started: string }>;

const host = (tenant: string) => localDomain(tenant);
const address = (tenant: string) => fleet.address(HOST_OF[tenant]!);
const inspect = (tenant: string, format: string) => fleet.docker(HOST_OF[tenant]!, ["inspect", `${FLEET}-${tenant}`, "--format", format], { allowFailure: true });
const execIn = (container: string, script: string) => fleet.execIn(HOST_OF[container.slice(FLEET.length + 1)]!, container, script);
const changedSteps = (json: string) => stepsOf(json).filter((s) => s.op !== "same");
const ready = (tenant: string) =>
  waitFor(`${tenant} ready through Traefik`, async () => ((await getVia(fleet.httpsPort, host(tenant), "/readyz", address(tenant))).status === 200 ? true : undefined), 180_000);
const proxyState = () =>
  Object.fromEntries(HOSTS.map((h) => [h, { id: fleet.docker(h, ["inspect", `${FLEET}-traefik`, "--format", "{{.Id}}"]), started: fleet.docker(h, ["inspect", `${FLEET}-traefik`, "--format", "{{.State.StartedAt}}"]) }]));
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
      // Healthy containers get their route once Traefik sees the health event, and a new host's first certificate
      // once the ACME server has validated the DNS-01 challenge (a trusted answer needs both): allow it that time.
      const health = await waitFor(`${tenant} /healthz through Traefik`, async () => {
        const answer = await getVia(fleet.httpsPort, host(tenant), "/healthz", address(tenant));
        return answer.status === 200 ? answer : undefined;
      }, 180_000);
      expect(JSON.parse(health.body)).toMatchObject({ ok: true });
      expect(inspect(tenant, "{{.State.Health.Status}}")).toBe("healthy");
    }
    expect((await getVia(fleet.httpsPort, localDomain("nobody"), "/healthz", address("alpha"))).status).toBe(404);
    // Each host's proxy routes its own tenants only.
    expect((await getVia(fleet.httpsPort, host("charlie"), "/healthz", address("alpha"))).status).toBe(404);

    tokens = readTokens();
    expect(Object.keys(tokens).sort()).toEqual(["alpha", "bravo", "charlie"]);
    expect(new Set(Object.values(tokens)).size).toBe(3);
    for (const tenant of ["alpha", "bravo", "charlie"]) {
      await ready(tenant);
      const own = await handshake(fleet.httpsPort, host(tenant), tokens[tenant]!, address(tenant));
      expect(own, tenant).toEqual({ challenge: true, ok: true, outcome: "hello-ok" });
    }
    const foreign = await handshake(fleet.httpsPort, host("alpha"), tokens.bravo!, address("alpha"));
    expect(foreign.challenge).toBe(true);
    expect(foreign.ok).toBe(false);
    expect(foreign.outcome).toMatch(/AUTH_TOKEN_MISMATCH|1008/);

    // Hardening as docker sees it.
    expect(inspect("alpha", "{{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} {{.HostConfig.Init}} {{.HostConfig.PidsLimit}} {{.Config.User}}")).toBe(
      "[ALL] [no-new-privileges:true] true 512 1000:1000",
    );
    // The health check as the server's engine (Docker 26) runs it: every 30 s, and every second while starting, so a
    // restarted gateway is healthy again as soon as it answers (with the 30 s interval alone, not before 30 s).
    const seconds = (ns: number) => ns / 1e9;
    const healthcheck = JSON.parse(inspect("alpha", "{{json .Config.Healthcheck}}")) as { Interval: number; StartInterval: number; StartPeriod: number; Retries: number };
    expect([seconds(healthcheck.Interval), seconds(healthcheck.StartInterval), seconds(healthcheck.StartPeriod), healthcheck.Retries]).toEqual([
      GATEWAY_HEALTH_TIMING.intervalSeconds,
      GATEWAY_HEALTH_TIMING.startIntervalSeconds,
      GATEWAY_HEALTH_TIMING.startPeriodSeconds,
      GATEWAY_HEALTH_TIMING.retries,
    ]);
    fleet.docker(HOST_OF.alpha!, ["restart", `${FLEET}-alpha`]);
    const restarted = Date.now();
    expect(inspect("alpha", "{{.State.Health.Status}}")).toBe("starting");
    await waitFor("alpha healthy again after a restart", async () => (inspect("alpha", "{{.State.Health.Status}}") === "healthy" ? true : undefined), 60_000);
    expect(Date.now() - restarted).toBeLessThan(GATEWAY_HEALTH_TIMING.intervalSeconds * 1000);
    proxyBefore = proxyState();
    expect(Object.values(proxyBefore).every((p) => p.id !== "")).toBe(true);
  });

  test("a2. the gateway's root is read-only: / and /usr refuse writes, its config is read-only, its state directory and scratch take them", () => {
    expect(inspect("alpha", "{{.HostConfig.ReadonlyRootfs}}")).toBe("true");
    expect(JSON.parse(inspect("alpha", "{{json .HostConfig.Tmpfs}}"))).toEqual(GATEWAY_TMPFS);
    // `: >>` creates or appends nothing: the same probe for every path, harmless where it succeeds.
    const probe = (tenant: string) =>
      execIn(`${FLEET}-${tenant}`, `for p in ${Object.keys(WRITE_PROBES).join(" ")}; do if (: >> "$p") 2>/dev/null; then echo "$p writable"; else echo "$p refused"; fi; done`).trim().split("\n");
    const expected = Object.entries(WRITE_PROBES).map(([p, outcome]) => `${p} ${outcome}`);
    for (const tenant of ["alpha", "charlie"]) expect(probe(tenant), tenant).toEqual(expected);
    // The refusal is the read-only filesystem's, not a permission of the user (who owns its home).
    expect(execIn(`${FLEET}-alpha`, "touch /home/node/probe 2>&1 || true")).toMatch(/Read-only file system/);
    // OpenClaw reads its config from the read-only mount and says where to change it.
    expect(JSON.parse(execIn(`${FLEET}-alpha`, "cat /etc/agentpod/openclaw.json")).gateway.controlUi.allowedOrigins).toEqual([`https://${localDomain("alpha")}:${fleet.httpsPort}`]);
    const configSet = execIn(`${FLEET}-alpha`, "node dist/index.js config set gateway.controlUi.allowInsecureAuth true 2>&1; echo exit=$?");
    expect(configSet).toMatch(/externally managed/);
    expect(configSet.trim().split("\n").at(-1)).not.toBe("exit=0");
    execIn(`${FLEET}-alpha`, "echo kept-on-a-read-only-root > /home/node/.openclaw/e2e-readonly-marker");
  });

  test("a second preview right after `up` shows no change (no perpetual diff that would restart tenants)", () => {
    expect(changedSteps(fleet.agentpod(["preview", "--json"]).stdout)).toEqual([]);
  });

  test("b. a plan change alters only that tenant, in the preview and for real, and its data survives", async () => {
    execIn(`${FLEET}-alpha`, "echo kept-across-plan-change > /home/node/.openclaw/e2e-marker");
    const containerBefore = inspect("alpha", "{{.Id}}");
    fleet.writeTenants(tenantsFile(THREE.replace("  - name: alpha\n    host: local-a\n", "  - name: alpha\n    host: local-a\n    plan: pro\n")));
    const changed = changedSteps(fleet.agentpod(["preview", "--json"]).stdout);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((s) => s.name.startsWith("alpha-")), JSON.stringify(changed)).toBe(true);
    expect(changed.map((s) => s.name)).toContain("alpha-gateway");

    fleet.agentpod(["up", "--yes"]);
    expect(inspect("alpha", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}")).toBe(`${4 * 1024 ** 3} 2000000000 1024`);
    expect(inspect("bravo", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}")).toBe(`${2 * 1024 ** 3} 1000000000`);
    expect(execIn(`${FLEET}-alpha`, "cat /home/node/.openclaw/e2e-marker").trim()).toBe("kept-across-plan-change");
    // A new container (a CPU change replaces it), again read-only, with what was written on the old one's state.
    expect(inspect("alpha", "{{.Id}}")).not.toBe(containerBefore);
    expect(inspect("alpha", "{{.HostConfig.ReadonlyRootfs}}")).toBe("true");
    expect(execIn(`${FLEET}-alpha`, "cat /home/node/.openclaw/e2e-readonly-marker").trim()).toBe("kept-on-a-read-only-root");
    await waitFor("alpha /healthz after the plan change", async () => ((await getVia(fleet.httpsPort, host("alpha"), "/healthz", address("alpha"))).status === 200 ? true : undefined), 30_000);
  });

  test("b2. a memory-only plan change updates the running container in place: same container, same start time", async () => {
    const withAlpha = (plan: string) => THREE.replace("  - name: alpha\n    host: local-a\n", `  - name: alpha\n    host: local-a\n    plan: ${plan}\n`);
    // The built-in plans as written out (basic's request limit is the default; a disk never shrinks, so each keeps its own), and pro-xl with more memory only.
    const plans = "plans:\n  basic: { cpus: 1, memory: 2Gi, disk: 5Gi }\n  pro: { cpus: 2, memory: 4Gi, pids: 1024, requestsPerMinute: 1200, disk: 10Gi }\n  pro-xl: { cpus: 2, memory: 6Gi, pids: 1024, requestsPerMinute: 1200, disk: 10Gi }\n";
    const before = inspect("alpha", "{{.Id}} {{.State.StartedAt}}");
    fleet.writeTenants(tenantsFile(withAlpha("pro-xl"), plans));
    const changed = changedSteps(fleet.agentpod(["preview", "--json"]).stdout);
    expect(changed.map((s) => [s.op, s.name])).toEqual([["update", "alpha-gateway"]]);
    fleet.agentpod(["up", "--yes"]);
    expect(inspect("alpha", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}")).toBe(`${6 * 1024 ** 3} 2000000000`);
    expect(inspect("alpha", "{{.Id}} {{.State.StartedAt}}")).toBe(before);
    expect((await getVia(fleet.httpsPort, host("alpha"), "/healthz", address("alpha"))).status).toBe(200);
    fleet.writeTenants(tenantsFile(withAlpha("pro")));
    fleet.agentpod(["up", "--yes"]);
    expect(inspect("alpha", "{{.Id}} {{.State.StartedAt}} {{.HostConfig.Memory}}")).toBe(`${before} ${4 * 1024 ** 3}`);
  });

  test("c. adding a tenant creates only its resources, and it answers", async () => {
    const four = THREE.replace("  - name: alpha\n    host: local-a\n", "  - name: alpha\n    host: local-a\n    plan: pro\n") + "  - name: delta\n    host: local-b\n";
    fleet.writeTenants(tenantsFile(four));
    // A new tenant is a new stack: besides its resources, only that stack's providers (its host's docker provider).
    const changed = changedSteps(fleet.agentpod(["preview", "--json"]).stdout).filter((s) => !s.type.startsWith("pulumi:providers:"));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((s) => s.op === "create" && (s.name === "delta" || s.name.startsWith("delta-"))), JSON.stringify(changed)).toBe(true);
    fleet.agentpod(["up", "--yes"]);
    await waitFor("delta /healthz through Traefik", async () => ((await getVia(fleet.httpsPort, host("delta"), "/healthz", address("delta"))).status === 200 ? true : undefined), 30_000);
  });

  test("d. removing a tenant removes its container and network and keeps its data on the host's data volume", async () => {
    execIn(`${FLEET}-charlie`, "echo charlie-data > /home/node/.openclaw/e2e-marker");
    const withoutCharlie =
      THREE.replace("  - name: alpha\n    host: local-a\n", "  - name: alpha\n    host: local-a\n    plan: pro\n").replace("  - name: charlie\n    host: local-b\n", "") + "  - name: delta\n    host: local-b\n";
    fleet.writeTenants(tenantsFile(withoutCharlie));
    fleet.agentpod(["up", "--yes"]);
    expect(fleet.docker("local-b", ["ps", "-a", "-q", "--filter", `name=^${FLEET}-charlie$`])).toBe("");
    expect(fleet.docker("local-b", ["network", "ls", "-q", "--filter", `name=^${FLEET}-charlie$`])).toBe("");
    expect(docker(["exec", `${FLEET}-host-local-b`, "cat", "/mnt/agentpod/tenants/charlie/e2e-marker"])).toBe("charlie-data");
    expect((await getVia(fleet.httpsPort, host("charlie"), "/healthz", address("charlie"))).status).toBe(404);
    expect((await getVia(fleet.httpsPort, host("delta"), "/healthz", address("delta"))).status).toBe(200);
  });

  test("e. reordering and reformatting the tenants file previews no change", () => {
    fleet.writeTenants(`# Same fleet, reordered and reformatted, with comments.
tenants:
  - {name: delta, host: local-b}     # newest
  - name: bravo
    host: local-a
  - host: local-a
    name: alpha
    plan: pro
hosts: [{name: local-b, serverType: ccx33, location: fsn1}, {name: local-a, serverType: ccx33, location: fsn1}]
defaults: {image: "${OPENCLAW_IMAGE}"}
`);
    const changed = changedSteps(fleet.agentpod(["preview", "--json"]).stdout);
    expect(changed).toEqual([]);
  });

  test("bad input: the engine refuses the file with every problem at file:line:column, and nothing changes", () => {
    const containers = () => HOSTS.flatMap((h) => fleet.docker(h, ["ps", "-q", "--no-trunc"]).split("\n")).sort();
    const containersBefore = containers();
    fleet.writeTenants(tenantsFile("  - name: alpha\n    host: local-a\n    plan: prro\n  - name: Bravo\n    host: local-a\n"));
    for (const command of [["preview"], ["up", "--yes"]]) {
      const result = fleet.agentpod(command, { allowFailure: true });
      expect(result.status, command.join(" ")).toBe(1);
      // up streams the engine's diagnostics to stdout, preview to stderr: each problem once in all the operator sees.
      const seen = result.stdout + result.stderr;
      expect(seen).toContain("tenants.yaml has 2 problems; nothing was changed:");
      expect(seen.match(/tenants\.yaml:\d+:\d+ tenants\[0\]\.plan: unknown plan "prro"\. Did you mean "pro"\?/g)).toHaveLength(1);
      expect(seen.match(/tenants\.yaml:\d+:\d+ tenants\[1\]\.name: must be a DNS label/g)).toHaveLength(1);
    }
    expect(containers()).toEqual(containersBefore);
    fleet.writeTenants(tenantsFile("  - { name: delta, host: local-b }\n  - { name: bravo, host: local-a }\n  - { name: alpha, host: local-a, plan: pro }\n"));
    expect(changedSteps(fleet.agentpod(["preview", "--json"]).stdout)).toEqual([]);
  });

  test("f. tenant A cannot reach tenant B's gateway", () => {
    const bravoIp = inspect("bravo", `{{(index .NetworkSettings.Networks "${FLEET}-bravo").IPAddress}}`);
    const alphaIp = inspect("alpha", `{{(index .NetworkSettings.Networks "${FLEET}-alpha").IPAddress}}`);
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

  test("f2. Traefik holds no Docker API: a container-create call from its position is refused; with the socket the same call succeeds", () => {
    const traefik = `${FLEET}-traefik`;
    expect(fleet.docker("local-a", ["inspect", traefik, "--format", "{{json .Mounts}}"])).not.toContain("docker.sock");
    const create =
      `node -e "const r=require('http').request({socketPath:'/var/run/docker.sock',path:'/containers/create?name=${FLEET}-escape',method:'POST',headers:{'content-type':'application/json'}},` +
      `res=>{console.log('status',res.statusCode);res.resume()});r.on('error',e=>console.log('refused',e.code));r.end(JSON.stringify({Image:'${OPENCLAW_IMAGE}'}))"`;
    const run = (position: string[]) => fleet.docker("local-a", ["run", "--rm", "--user", "0", ...position, "--entrypoint", "sh", OPENCLAW_IMAGE, "-c", create]);
    // Traefik's position: its mounts and its network namespace, as root like Traefik.
    expect(run(["--volumes-from", traefik, "--network", `container:${traefik}`])).toBe("refused ENOENT");
    // Positive control: the same call where the engine's socket is mounted creates the container.
    expect(run(["-v", "/var/run/docker.sock:/var/run/docker.sock"])).toBe("status 201");
    fleet.docker("local-a", ["rm", "--force", `${FLEET}-escape`]);
  });

  test("f3. tenants are fenced: not the host, the metadata address, private ranges, other tenants or the proxy's internals; the internet is open", () => {
    const server = `${FLEET}-host-local-a`;
    const onServer = (script: string) => docker(["exec", server, "sh", "-c", script]);
    // Stand-ins where the real targets do not exist here, inside the server: an "internet" host (198.51.100.10, a
    // documentation address) that also answers as the metadata service (169.254.169.254), reached through the
    // server's forwarding like the real ones; and a service listening on the host itself.
    onServer(`set -eu
      docker run -d --name ${FLEET}-internet --network none agentpod/standin:1 >/dev/null
      docker run -d --name ${FLEET}-hostsvc --network host --entrypoint node ${OPENCLAW_IMAGE} -e "require('net').createServer((s) => s.end()).listen(18999)" >/dev/null
      pid=$(docker inspect -f '{{.State.Pid}}' ${FLEET}-internet)
      ip link add apinet0 type veth peer name apinet1
      ip link set apinet1 netns $pid
      ip addr add 198.51.100.1/24 dev apinet0 && ip link set apinet0 up
      nsenter -t $pid -n sh -c 'ip addr add 198.51.100.10/24 dev apinet1 && ip addr add 169.254.169.254/32 dev apinet1 && ip link set apinet1 up && ip route add default via 198.51.100.1'
      ip route add 169.254.169.254/32 via 198.51.100.10`);
    const fromAlpha = (address: string, port: number) => execIn(`${FLEET}-alpha`, tcpProbeScript(address, port)).trim();
    const fromHost = (address: string, port: number) => fleet.execIn("local-a", `${FLEET}-hostsvc`, tcpProbeScript(address, port)).trim();
    const gatewayOf = (tenant: string) => inspect(tenant, `{{(index .NetworkSettings.Networks "${FLEET}-${tenant}").Gateway}}`);
    const ipOf = (tenant: string) => inspect(tenant, `{{(index .NetworkSettings.Networks "${FLEET}-${tenant}").IPAddress}}`);
    const serverAddress = docker(["inspect", server, "--format", "{{(index .NetworkSettings.Networks \"agentpod-registry\").IPAddress}}"]);
    const registry = docker(["inspect", "agentpod-registry", "--format", "{{(index .NetworkSettings.Networks \"agentpod-registry\").IPAddress}}"]);
    const proxyOnAlpha = fleet.docker("local-a", ["inspect", `${FLEET}-traefik`, "--format", `{{(index .NetworkSettings.Networks "${FLEET}-alpha").IPAddress}}`]);
    for (const address of [gatewayOf("alpha"), serverAddress, registry, proxyOnAlpha]) expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    // The internet is open (the probe works, and so does forwarding); the metadata address is not.
    expect(fromAlpha("198.51.100.10", 18789)).toBe("open");
    expect(fromAlpha("169.254.169.254", 18789)).toBe("timeout");
    expect(fromHost("169.254.169.254", 18789)).toBe("open");
    // The host's own services, on the tenant network's gateway and on the server's own address.
    expect(fromHost("127.0.0.1", 18999)).toBe("open");
    expect(fromHost(gatewayOf("alpha"), 18999)).toBe("open");
    expect(fromAlpha(gatewayOf("alpha"), 18999)).toBe("timeout");
    expect(fromAlpha(serverAddress, 18999)).toBe("timeout");
    // A private neighbour of the server (this machine's registry, where the servers pull from).
    expect(fromHost(registry, 5000)).toBe("open");
    expect(fromAlpha(registry, 5000)).toBe("timeout");
    // Another tenant: unreachable; the tenant's own gateway answers.
    expect(fromAlpha(ipOf("alpha"), 18789)).toBe("open");
    expect(fromAlpha(ipOf("bravo"), 18789)).not.toBe("open");
    // The proxy: its entrypoint on the tenant's network, nothing else (its ping port is on its own loopback).
    expect(fromAlpha(proxyOnAlpha, 80)).toBe("open");
    expect(fromAlpha(proxyOnAlpha, 8082)).not.toBe("open");
    fleet.docker("local-a", ["rm", "--force", `${FLEET}-internet`, `${FLEET}-hostsvc`]);
    onServer("ip link del apinet0 2>/dev/null; ip route del 169.254.169.254/32 2>/dev/null; true");
  });

  test("f4. health-based routing: a gateway that stops answering gets no traffic (503 at once), and traffic returns when it is healthy", async () => {
    const status = async () => (await getVia(fleet.httpsPort, host("bravo"), "/healthz", address("bravo"))).status;
    expect(await status()).toBe(200);
    fleet.docker("local-a", ["pause", `${FLEET}-bravo`]);
    try {
      await waitFor("bravo taken out of the proxy's rotation", async () => ((await status()) === 503 ? true : undefined), 60_000);
      expect((await getVia(fleet.httpsPort, host("alpha"), "/healthz", address("alpha"))).status).toBe(200);
    } finally {
      fleet.docker("local-a", ["unpause", `${FLEET}-bravo`]);
    }
    await waitFor("bravo back in rotation", async () => ((await status()) === 200 ? true : undefined), 60_000);
  });

  test("f5. a request limit per tenant: a plan's requestsPerMinute rewrites only its route; a burst past it gets 429 for that tenant alone", async () => {
    const plans = "plans:\n  basic: { cpus: 1, memory: 2Gi, disk: 5Gi }\n  pro: { cpus: 2, memory: 4Gi, pids: 1024, requestsPerMinute: 1200, disk: 10Gi }\n  metered: { cpus: 1, memory: 2Gi, requestsPerMinute: 60, disk: 5Gi }\n";
    const fleetWith = (bravoPlan: string) => tenantsFile(`  - { name: delta, host: local-b }\n  - { name: bravo, host: local-a, plan: ${bravoPlan} }\n  - { name: alpha, host: local-a, plan: pro }\n`, plans);
    const before = inspect("bravo", "{{.Id}} {{.State.StartedAt}}");
    fleet.writeTenants(fleetWith("metered"));
    expect(changedSteps(fleet.agentpod(["preview", "--json"]).stdout).map((s) => [s.op, s.name])).toEqual([["update", "bravo-route"]]);
    fleet.agentpod(["up", "--yes"]);
    expect(inspect("bravo", "{{.Id}} {{.State.StartedAt}}")).toBe(before);
    const burst = async (tenant: string) => {
      const answers = await Promise.all(Array.from({ length: 80 }, () => getVia(fleet.httpsPort, host(tenant), "/healthz", address(tenant))));
      return { ok: answers.filter((a) => a.status === 200).length, limited: answers.filter((a) => a.status === 429).length };
    };
    // Traefik reloads the route file within a moment: wait until the limit bites, then measure both in one second.
    await waitFor("bravo's request limit in force", async () => ((await burst("bravo")).limited > 0 ? true : undefined), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 10_000)); // the bucket refills (a burst of 50)
    const [bravo, alpha] = await Promise.all([burst("bravo"), burst("alpha")]);
    expect(bravo.limited, JSON.stringify(bravo)).toBeGreaterThan(0);
    expect(bravo.ok + bravo.limited).toBe(80);
    expect(alpha, "the other tenant on the same proxy, in the same second").toEqual({ ok: 80, limited: 0 });
    fleet.writeTenants(fleetWith("basic"));
    fleet.agentpod(["up", "--yes"]);
    expect(inspect("bravo", "{{.Id}} {{.State.StartedAt}}")).toBe(before);
  });

  test("g. the proxy was neither replaced nor restarted by any of it", () => {
    expect(proxyState()).toEqual(proxyBefore);
  });

  test("a Traefik upgrade recreates only Traefik: no tenant container is touched, and every tenant answers again", async () => {
    // A second tag of the same Traefik, pushed to the registry the servers pull from (a new version would do the same).
    const upgraded = "agentpod/traefik:v3.7.15-e2e";
    docker(["tag", "agentpod/traefik:v3.7.15", `127.0.0.1:5000/${upgraded}`]);
    docker(["push", "--quiet", `127.0.0.1:5000/${upgraded}`]);
    const tenants = ["alpha", "bravo", "delta"];
    const before = Object.fromEntries(tenants.map((t) => [t, inspect(t, "{{.Id}} {{.State.StartedAt}}")]));
    fleet.setConfig("traefikImage", upgraded);
    // (The engine also re-registers its default providers when the stack's config changes: not a resource.)
    const changed = changedSteps(fleet.agentpod(["preview", "--json"]).stdout).filter((s) => !s.type.startsWith("pulumi:providers:"));
    // Traefik is replaced on each host, and each tenant's attachment to it follows the new container: nothing else.
    expect(new Set(changed.map((s) => s.name.replace(/^(alpha|bravo|delta)-/, "<tenant>-").replace(/^local-[ab]-/, "<host>-")))).toEqual(
      new Set(["<host>-proxy-traefik", "<tenant>-proxy-attachment"]),
    );
    fleet.agentpod(["up", "--yes"]);
    for (const h of HOSTS) expect(fleet.docker(h, ["inspect", `${FLEET}-traefik`, "--format", "{{.Config.Image}}"])).toBe(upgraded);
    for (const t of tenants) {
      expect(inspect(t, "{{.Id}} {{.State.StartedAt}}"), t).toBe(before[t]);
      await waitFor(`${t} through the new Traefik`, async () => ((await getVia(fleet.httpsPort, host(t), "/healthz", address(t))).status === 200 ? true : undefined), 30_000);
    }
    proxyBefore = proxyState();
  });

  test("h. destroy removes the fleet and its servers, keeps the hosts' data volumes with every tenant's data, and says so", () => {
    const destroyed = fleet.agentpod(["destroy", "--yes"]);
    // The hosts' data volumes, and the fleet key its backups are encrypted with.
    expect(destroyed.stdout).toMatch(/Retained \(protected, still in the stacks\): backup-key, local-a-data, local-b-data/);
    expect(docker(["ps", "-a", "-q", "--filter", `name=^${FLEET}-host-`])).toBe("");
    const volumes = docker(["volume", "ls", "-q", "--filter", `name=^${FLEET}-host-`]).split("\n").sort();
    expect(volumes).toEqual([`${FLEET}-host-local-a-data`, `${FLEET}-host-local-b-data`]);
    const data = docker(["run", "--rm", "-v", `${FLEET}-host-local-b-data:/data:ro`, "--entrypoint", "ls", "agentpod/debian-base:bookworm", "/data/tenants"]);
    expect(data.split("\n").sort()).toEqual(["charlie", "delta"]);
  });
});
