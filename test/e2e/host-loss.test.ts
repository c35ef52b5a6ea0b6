/**
 * Hosts you can lose, on the real engine: two local servers with two real OpenClaw gateways each, each gateway with
 * state written through OpenClaw itself (a cron job it stores in its SQLite database) and a marker file. Host B's
 * server and its disk are destroyed abruptly; `agentpod status` names the lost host and the command to run;
 * `agentpod host replace B` brings its tenants back with their state and tokens while host A's tenants answer
 * throughout and are not touched. Then a move that carries its data, data ownership, and purge.
 * Each test builds on the previous one (one fleet, in order); own prefix and port, beside a developer's stack.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLocalFleet, localDomain, docker, dockerAsync, getVia, handshake, isPortFree, probeLoop, removeFleetObjects, waitFor, type LocalFleet } from "../support/localFleet";

const FLEET = "drill";
const PORT = 18180;
const A = "host-a";
const B = "host-b";
const PLACEMENT: Record<string, string> = { ant: A, bee: A, cat: B, dog: B };

// Half a core per gateway: on this 2-core machine, gateways starting on one host must not starve the other host's
// tenants (a real server has its own cores), or the probe loop would measure the machine, not the recovery.
const tenantsFile = (placement: Record<string, string>) => `
defaults:
  image: agentpod/openclaw:2026.9.6
  plan: drill
plans:
  drill: { cpus: 0.5, memory: 2Gi }
hosts:
  - { name: ${A}, location: fsn1, serverType: ccx33 }
  - { name: ${B}, location: fsn1, serverType: ccx33 }
tenants:
${Object.entries(placement)
  .map(([name, host]) => `  - { name: ${name}, host: ${host} }`)
  .join("\n")}
`;

let fleet: LocalFleet;
let tokens: Record<string, string> = {};
let placement = { ...PLACEMENT };
const container = (tenant: string) => `${FLEET}-${tenant}`;
const domain = (tenant: string) => localDomain(tenant);
const target = (tenant: string, host = placement[tenant]!) => ({ port: fleet.httpsPort, host: domain(tenant), address: fleet.address(host) });
const answers = async (tenant: string, host = placement[tenant]!) => (await getVia(fleet.httpsPort, domain(tenant), "/healthz", fleet.address(host))).status;
const readyThroughProxy = (tenant: string) =>
  waitFor(`${tenant} /readyz through its host's proxy`, async () => ((await getVia(fleet.httpsPort, domain(tenant), "/readyz", fleet.address(placement[tenant]!))).status === 200 ? true : undefined), 180_000);
const openclaw = (tenant: string, args: string) => fleet.execIn(placement[tenant]!, container(tenant), `node dist/index.js ${args}`);
/** State written through OpenClaw itself: a disabled cron job, which the gateway stores in its SQLite database. */
const writeState = (tenant: string) => openclaw(tenant, `cron add drill-${tenant} --every 24h --disabled --command true --description "state of ${tenant}" --json`);
const readState = (tenant: string) =>
  (JSON.parse(openclaw(tenant, "cron list --all --json")).jobs as Array<{ name: string; description?: string }>).filter((j) => j.name.startsWith("drill-")).map((j) => `${j.name}: ${j.description}`);
const marker = (tenant: string) => fleet.execIn(placement[tenant]!, container(tenant), "cat /home/node/.openclaw/drill-marker").trim();
const identity = (tenant: string) => fleet.docker(placement[tenant]!, ["inspect", container(tenant), "--format", "{{.Id}} {{.State.StartedAt}}"]);
const readTokens = () => JSON.parse(fleet.agentpod(["outputs", "--show-secrets"]).stdout).gatewayTokens as Record<string, string>;
const tenantsOn = (host: string) => Object.keys(placement).filter((t) => placement[t] === host);

beforeAll(() => {
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use: the drill needs it`);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
});

afterAll(() => {
  fleet?.agentpod(["destroy", "--yes"], { allowFailure: true });
  removeFleetObjects(FLEET);
  fleet?.dispose();
});

describe("host loss, recovery and moves on the real engine", () => {
  test("two local servers come up, each with its own engine, address and proxy; every gateway holds state written through OpenClaw", async () => {
    fleet.writeTenants(tenantsFile(placement));
    fleet.agentpod(["up", "--yes"]);
    expect(fleet.address(A)).not.toBe(fleet.address(B));
    // Every tenant first: each host's proxy serves HTTPS once its first certificate is in (its tenants' stacks run at once).
    for (const tenant of Object.keys(placement)) await readyThroughProxy(tenant);
    for (const tenant of Object.keys(placement)) {
      // Each answers on its own host's address only.
      const other = placement[tenant] === A ? B : A;
      expect(await answers(tenant, other)).toBe(404);
      writeState(tenant);
      fleet.execIn(placement[tenant]!, container(tenant), `echo marker-of-${tenant} > /home/node/.openclaw/drill-marker`);
      expect(readState(tenant)).toEqual([`drill-${tenant}: state of ${tenant}`]);
    }
    // Tenant data is a directory on the host's data volume, as on Hetzner.
    expect(docker(["exec", `${FLEET}-host-${B}`, "cat", "/mnt/agentpod/tenants/cat/drill-marker"])).toBe("marker-of-cat");
    tokens = readTokens();
    expect(Object.keys(tokens).sort()).toEqual(["ant", "bee", "cat", "dog"]);
  });

  test("a live host is not replaced: `host replace` refuses and changes nothing; an unknown host is refused too", () => {
    const before = identity("cat");
    const alive = fleet.agentpod(["host", "replace", B], { allowFailure: true });
    expect(alive.status).toBe(1);
    expect(alive.stderr).toContain(`host ${B} is not lost: its Docker engine answers`);
    expect(alive.stderr).toContain(`agentpod host replace ${B} --stack ${fleet.stack} --force`);
    const unknown = fleet.agentpod(["host", "replace", "host-z"], { allowFailure: true });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(`host "host-z" is not a host of stack ${fleet.stack} (its hosts: ${A}, ${B}); nothing was changed`);
    expect(identity("cat")).toBe(before);
  });

  test("host B dies abruptly; status names it and the command; host replace brings its tenants back with their state, while host A answers throughout", async () => {
    const untouched = Object.fromEntries(tenantsOn(A).map((t) => [t, identity(t)]));
    const probe = probeLoop(tenantsOn(A).map((t) => target(t)));
    // The way a server dies: no clean shutdown, and its disk is gone with it. (Asynchronous like everything while the
    // probe loop runs: removing a disk full of image layers takes seconds, and a synchronous call would freeze it.)
    await dockerAsync(["kill", "--signal", "KILL", `${FLEET}-host-${B}`]);
    await dockerAsync(["rm", "--force", `${FLEET}-host-${B}`]);
    await dockerAsync(["volume", "rm", `${FLEET}-host-${B}-disk`]);

    const status = await fleet.agentpodAsync(["status"], { allowFailure: true });
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/cat\s+host-b\s+drill\s+down/);
    expect(status.stdout).toMatch(/dog\s+host-b\s+drill\s+down/);
    expect(status.stdout).toContain(`host ${B} does not answer`);
    expect(status.stdout).toContain(`agentpod host replace ${B} --stack ${fleet.stack}`);

    // Asynchronous, so the probe loop runs during the replace (a synchronous call would freeze it).
    const replacing = { started: Date.now(), ended: Infinity };
    const replaced = await fleet.agentpodAsync(["host", "replace", B]);
    replacing.ended = Date.now();
    expect(replaced.stdout).toContain(`host ${B} replaced; its tenants are back: cat, dog`);
    for (const tenant of tenantsOn(B)) {
      await readyThroughProxy(tenant);
      expect(readState(tenant)).toEqual([`drill-${tenant}: state of ${tenant}`]);
      expect(marker(tenant)).toBe(`marker-of-${tenant}`);
      const own = await handshake(fleet.httpsPort, domain(tenant), tokens[tenant]!, fleet.address(B));
      expect(own, tenant).toEqual({ challenge: true, ok: true, outcome: "hello-ok" });
    }
    const { requests, failures, during } = await probe.stop();
    // The loop really ran while the replace did: at least one probe per second of it, each through host A's proxy.
    expect(during(replacing), `probes during the replace (${requests} in all)`).toBeGreaterThan((replacing.ended - replacing.started) / 1000);
    expect(failures, "host A's tenants answered every probe during the whole drill").toEqual([]);
    // Host A's tenants were not touched: same containers, same start times.
    for (const [tenant, before] of Object.entries(untouched)) expect(identity(tenant)).toBe(before);
    expect(readTokens()).toEqual(tokens);
    expect(fleet.agentpod(["status"]).stdout).toContain("all 4 tenants running and healthy");
    expect(JSON.parse(fleet.agentpod(["preview", "--json"]).stdout).steps.filter((s: { op: string }) => s.op !== "same")).toEqual([]);
  });

  test("a hand edit of `host:` is refused at preview with the command that carries the data; nothing changes", () => {
    const before = identity("dog");
    fleet.writeTenants(tenantsFile({ ...placement, dog: A }));
    const preview = fleet.agentpod(["preview"], { allowFailure: true });
    expect(preview.status).toBe(1);
    expect(preview.stderr).toContain(`tenant dog would move from host ${B} to ${A} without its data`);
    expect(preview.stderr).toContain(`agentpod tenant move dog ${A} --stack ${fleet.stack}`);
    const up = fleet.agentpod(["up", "--yes"], { allowFailure: true });
    expect(up.status).toBe(1);
    expect(identity("dog")).toBe(before);
    fleet.writeTenants(tenantsFile(placement));
  });

  test("`tenant move` carries the data: the gateway on the new host starts with it, the old copy stays, no empty gateway ever answers", async () => {
    const moving = "dog";
    // Every 200 from the new host must come from a gateway that has the data.
    let emptyAnswers = 0;
    let newHostAnswers = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        if ((await getVia(fleet.httpsPort, domain(moving), "/healthz", fleet.address(A))).status === 200) {
          newHostAnswers++;
          const data = fleet.docker(A, ["exec", container(moving), "cat", "/home/node/.openclaw/drill-marker"], { allowFailure: true });
          if (data !== `marker-of-${moving}`) emptyAnswers++;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const moved = await fleet.agentpodAsync(["tenant", "move", moving, A]);
    placement = { ...placement, [moving]: A };
    await readyThroughProxy(moving);
    watching = false;
    await watch;
    expect(moved.stdout).toContain(`${moving} moved from ${B} to ${A} with its data`);
    expect(newHostAnswers).toBeGreaterThan(0);
    expect(emptyAnswers).toBe(0);
    expect(readState(moving)).toEqual([`drill-${moving}: state of ${moving}`]);
    expect(marker(moving)).toBe(`marker-of-${moving}`);
    expect(await answers(moving, B)).toBe(404);
    const own = await handshake(fleet.httpsPort, domain(moving), tokens[moving]!, fleet.address(A));
    expect(own).toEqual({ challenge: true, ok: true, outcome: "hello-ok" });
    // The old copy stays on the old host until purged, and status says so.
    expect(docker(["exec", `${FLEET}-host-${B}`, "cat", "/mnt/agentpod/tenants/dog/drill-marker"])).toBe("marker-of-dog");
    const status = fleet.agentpod(["status"]);
    expect(status.stdout).toMatch(/retained data that no tenant owns[\s\S]*host-b\s+dog\s+\d/);
  });

  test("data has an owner: a new tenant named like a removed one is refused until its data is adopted or purged", async () => {
    fleet.execIn(A, container("bee"), "echo bee-private > /home/node/.openclaw/private");
    const { bee: _removed, ...withoutBee } = placement;
    fleet.writeTenants(tenantsFile(withoutBee));
    fleet.agentpod(["up", "--yes"]);
    expect(await answers("bee", A)).toBe(404);
    // A new customer gets the name: refused, and nothing is created for it.
    fleet.writeTenants(tenantsFile(placement));
    for (const command of [["preview"], ["up", "--yes"]]) {
      const refused = fleet.agentpod(command, { allowFailure: true });
      expect(refused.status, command.join(" ")).toBe(1);
      expect(refused.stderr).toContain(`data of a tenant named bee already exists on host ${A}`);
      expect(refused.stderr).toContain(`agentpod up --adopt bee --stack ${fleet.stack}`);
      expect(refused.stderr).toContain(`agentpod tenant purge bee --host ${A} --stack ${fleet.stack}`);
    }
    expect(fleet.docker(A, ["ps", "-a", "-q", "--filter", `name=^${container("bee")}$`])).toBe("");
    // Positive control: adopted deliberately, the same data comes back.
    fleet.agentpod(["up", "--yes", "--adopt", "bee"]);
    await readyThroughProxy("bee");
    expect(fleet.execIn(A, container("bee"), "cat /home/node/.openclaw/private").trim()).toBe("bee-private");
  });

  test("purge refuses a declared tenant, asks before deleting, then deletes only that data", () => {
    const declared = fleet.agentpod(["tenant", "purge", "bee", "--host", A, "--yes"], { allowFailure: true });
    expect(declared.status).toBe(1);
    expect(declared.stderr).toContain(`tenant bee is still in tenants.yaml on host ${A}`);
    const unconfirmed = fleet.agentpod(["tenant", "purge", "dog", "--host", B], { allowFailure: true });
    expect(unconfirmed.status).toBe(1);
    expect(unconfirmed.stderr).toContain("not confirmed: nothing was deleted");
    expect(docker(["exec", `${FLEET}-host-${B}`, "ls", "/mnt/agentpod/tenants"]).split("\n")).toContain("dog");
    const purged = fleet.agentpod(["tenant", "purge", "dog", "--host", B, "--yes"]);
    expect(purged.stdout).toMatch(/purged \/mnt\/agentpod\/tenants\/dog \(.+\) on host host-b/);
    expect(docker(["exec", `${FLEET}-host-${B}`, "ls", "/mnt/agentpod/tenants"]).split("\n")).toEqual(["cat"]);
    expect(marker("dog")).toBe("marker-of-dog");
    expect(fleet.agentpod(["status"]).stdout).not.toContain("retained data that no tenant owns");
  });
});
