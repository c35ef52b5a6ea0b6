/**
 * The pull-request preview runs without any access to the hosts (no deploy key, no route through their firewalls):
 * `agentpod preview --no-host-access`. On the real engine with a local fleet whose only host is paused (its engine and
 * its shell do not answer), that preview still succeeds, opens no connection to the host, and names the check it left
 * to `up`: whether the host already holds data of a new tenant's name. The same check is shown to be real beside
 * it: with the host answering, the preview refuses that data, and `up` refuses it too, creating nothing for the
 * tenant. Own prefix and port.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tenantDataDir } from "../../fleet/hostScripts";
import { localServerNames } from "../../fleet/localServers";
import { createLocalFleet, docker, isPortFree, removeFleetObjects, stepsOf, type LocalFleet } from "../support/localFleet";

const FLEET = "blind";
const PORT = 18680;
const HOST = "host-a";
/** One host and the named tenants on the built-in basic plan. */
const tenants = (names: string[]) =>
  [
    "defaults: { image: agentpod/openclaw:2026.9.6 }",
    `hosts: [{ name: ${HOST}, location: fsn1, serverType: ccx33 }]`,
    "tenants:",
    ...names.map((n) => `  - { name: ${n}, host: ${HOST} }`),
    "",
  ].join("\n");

let fleet: LocalFleet;
const server = localServerNames(FLEET, HOST).container;
const paused = () => docker(["inspect", server, "--format", "{{.State.Paused}}"]) === "true";

beforeAll(() => {
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use: the ${FLEET} fleet needs it`);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  fleet.writeTenants(tenants(["ant"]));
});

afterAll(() => {
  if (fleet && paused()) docker(["unpause", server], { allowFailure: true });
  fleet?.agentpod(["destroy", "--yes"], { allowFailure: true });
  removeFleetObjects(FLEET);
  fleet?.dispose();
});

describe("preview without host access (the pull-request preview)", () => {
  test("with the host unreachable, the preview succeeds and names the host check it left to up", () => {
    fleet.agentpod(["up", "--yes"]);
    // Data of a tenant named newt that this stack does not own (a removed tenant's, another stack's), then newt added.
    docker(["exec", server, "sh", "-c", `mkdir -p ${tenantDataDir("newt")} && echo retained > ${tenantDataDir("newt")}/MEMORY.md && chown -R 1000:1000 ${tenantDataDir("newt")}`]);
    fleet.writeTenants(tenants(["ant", "newt"]));

    docker(["pause", server]);
    expect(paused()).toBe(true);
    // Control: the host's shell and engine really do not answer now (a paused engine accepts a connection and never
    // answers: hence the time limit).
    expect(spawnSync("docker", ["exec", server, "true"], { timeout: 10_000 }).status).not.toBe(0);
    const engine = spawnSync("docker", ["--host", fleet.engine(HOST), "version", "--format", "{{.Server.Version}}"], { encoding: "utf8", timeout: 5_000 });
    expect(engine.status === 0 && engine.stdout.trim() !== "").toBe(false);

    const started = Date.now();
    const preview = fleet.agentpod(["preview", "--no-host-access"]);
    const seconds = (Date.now() - started) / 1000;
    expect(preview.status).toBe(0);
    expect(preview.stdout).toMatch(/\+\s+pulumi-nodejs:dynamic\/agentpod:TenantDataDirectory\s+newt-data-dir/);
    expect(preview.stdout).toMatch(/\+\s+docker:index\/container:Container\s+newt-gateway/);
    expect(preview.stderr).toContain("agentpod: preview without host access (--no-host-access): no connection was opened to any host.");
    expect(preview.stderr).toContain(`  - tenant newt on host ${HOST}`);
    expect(preview.stderr).toContain(`\`agentpod up --stack ${fleet.stack}\` checks each on its host before the tenant's gateway is created`);
    // ant's claim exists already: only the new one is named.
    expect(preview.stderr).not.toContain("tenant ant on host");

    const json = fleet.agentpod(["preview", "--no-host-access", "--json"]);
    expect(JSON.parse(json.stdout).uncheckedOnHosts).toEqual([{ tenant: "newt", host: HOST }]);
    const steps = stepsOf(json.stdout);
    expect(steps.filter((s) => s.op === "create").map((s) => s.name)).toContain("newt-data-dir");
    // The flag itself changes nothing: ant's stack, whose inputs are as they were, is not even previewed.
    expect(steps.filter((s) => s.name.startsWith("ant-")).map((s) => `${s.op} ${s.name}`)).toEqual([]);
    expect(steps.filter((s) => s.op !== "same" && s.op !== "create").map((s) => `${s.op} ${s.name}`)).toEqual([]);
    console.log(`preview --no-host-access with the host paused: ${seconds.toFixed(1)} s`);
  });

  test("up refuses the same flag: only a preview may run without the hosts", () => {
    const refused = fleet.agentpod(["up", "--yes", "--no-host-access"], { allowFailure: true });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/Unknown option '--no-host-access'/);
  });

  test("with the host answering, the same check refuses the data at preview, and up refuses it before newt's gateway exists", () => {
    docker(["unpause", server]);
    expect(paused()).toBe(false);
    const preview = fleet.agentpod(["preview"], { allowFailure: true });
    expect(preview.status).not.toBe(0);
    expect(preview.stdout + preview.stderr).toContain(`data of a tenant named newt already exists on host ${HOST}`);

    const up = fleet.agentpod(["up", "--yes"], { allowFailure: true });
    expect(up.status).not.toBe(0);
    expect(up.stdout + up.stderr).toContain(`data of a tenant named newt already exists on host ${HOST}`);
    const containers = fleet.docker(HOST, ["ps", "-a", "--format", "{{.Names}}"]).split("\n");
    expect(containers).toContain(`${FLEET}-ant`); // control: the listing is of the right engine
    expect(containers).not.toContain(`${FLEET}-newt`);
    expect(docker(["exec", server, "cat", `${tenantDataDir("newt")}/MEMORY.md`])).toBe("retained");
  });
});
