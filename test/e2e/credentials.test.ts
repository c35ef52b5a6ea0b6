/**
 * Per-tenant credentials on the real engine: one local server with two real OpenClaw gateways. A tenant's own model
 * key, set with the documented `pulumi config set --secret --path` line, reaches that tenant's container only and is
 * nowhere in plain text in the exported state; `agentpod tenant rotate-token` gives one tenant a new gateway token
 * (the old one is refused through Traefik, the new one works with the official OpenClaw client) while the other
 * tenant keeps its token and its container. Each test builds on the previous one; own prefix and port.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CACHE_DIR, engineEnvironment } from "../../cli/engine";
import { stackNameOf } from "../../fleet/stackSplit";
import { createLocalFleet, getVia, handshake, isPortFree, localDomain, removeFleetObjects, tenantsOnOneHost, waitFor, type LocalFleet } from "../support/localFleet";

const FLEET = "cred";
const PORT = 18380;
const HOST = "host-a";
// A fake key, shaped like none of the real formats; what must be in ant's container and nowhere else.
const ANT_KEY = "fake-model-key-of-ant-7c1e5b";

const TENANTS = tenantsOnOneHost(HOST, ["ant", "bee"]);

let fleet: LocalFleet;
const container = (tenant: string) => `${FLEET}-${tenant}`;
const domain = (tenant: string) => localDomain(tenant);
const envOf = (tenant: string) => JSON.parse(fleet.docker(HOST, ["inspect", container(tenant), "--format", "{{json .Config.Env}}"])) as string[];
const identity = (tenant: string) => fleet.docker(HOST, ["inspect", container(tenant), "--format", "{{.Id}} {{.State.StartedAt}}"]);
const readTokens = () => JSON.parse(fleet.agentpod(["outputs", "--show-secrets"]).stdout).gatewayTokens as Record<string, string>;
const stackFile = () => readFileSync(path.join(fleet.dir, `Pulumi.${fleet.stack}.yaml`), "utf8");
const ready = (tenant: string) =>
  waitFor(`${tenant} /readyz through the proxy`, async () => ((await getVia(fleet.httpsPort, domain(tenant), "/readyz", fleet.address(HOST))).status === 200 ? true : undefined), 180_000);
/** The Pulumi CLI, as an operator runs it on this project's local stack (same backend and passphrase as agentpod). */
function pulumi(args: string[]): string {
  const env = { ...process.env, ...engineEnvironment(fleet.stack, fleet.dir) };
  const result = spawnSync(path.join(CACHE_DIR, "bin", "pulumi"), [...args, "--cwd", fleet.dir], { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}
/** The official OpenClaw client inside the tenant's own container, where the gateway's URL is loopback. */
const officialClient = (tenant: string, token: string) =>
  spawnSync("docker", ["--host", fleet.engine(HOST), "exec", container(tenant), "node", "dist/index.js", "gateway", "health", "--url", "ws://127.0.0.1:18789", "--token", token, "--json"], {
    encoding: "utf8",
    timeout: 120_000,
  });

beforeAll(() => {
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use: the credentials fleet needs it`);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  fleet.writeTenants(TENANTS);
});

afterAll(() => {
  fleet?.agentpod(["destroy", "--yes"], { allowFailure: true });
  removeFleetObjects(FLEET);
  fleet?.dispose();
});

describe("per-tenant credentials on the real engine", () => {
  test("a tenant's own model key, set with the documented command, is in its container only and never in plain text in the state", async () => {
    pulumi(["stack", "init", fleet.stack]);
    pulumi(["config", "set", "--secret", "--path", "agentpod:tenantModelKeys.ant", ANT_KEY, "--stack", fleet.stack]);
    expect(stackFile()).toMatch(/agentpod:tenantModelKeys:\n\s+ant:\n\s+secure: v1:/);
    expect(stackFile()).not.toContain(ANT_KEY);

    const up = fleet.agentpod(["up", "--yes"]);
    expect(up.stdout + up.stderr).not.toContain(ANT_KEY);
    await ready("ant");
    await ready("bee");
    expect(envOf("ant")).toContain(`ANTHROPIC_API_KEY=${ANT_KEY}`);
    expect(envOf("bee").filter((e) => e.startsWith("ANTHROPIC_API_KEY=") || e.includes(ANT_KEY))).toEqual([]);

    // Every stack of the fleet: its own, its host's and each tenant's (the key's home is ant's stack).
    const [antState, ...others] = [stackNameOf(fleet.stack, { kind: "tenant", tenant: "ant" }), stackNameOf(fleet.stack, { kind: "tenant", tenant: "bee" }), stackNameOf(fleet.stack, { kind: "host", host: HOST }), fleet.stack].map((stack) =>
      pulumi(["stack", "export", "--stack", stack]),
    );
    expect(antState).toContain(`"name": "${container("ant")}"`); // control: this is the state of ant's container
    expect(antState).toContain("ciphertext"); // its secrets are there, encrypted
    for (const state of [antState!, ...others]) expect(state).not.toContain(ANT_KEY);
    expect(fleet.agentpod(["outputs", "--show-secrets"]).stdout).not.toContain(ANT_KEY);
  });

  test("rotate-token refuses an unknown tenant, and a non-local stack without --yes; nothing changes", () => {
    const before = stackFile();
    const unknown = fleet.agentpod(["tenant", "rotate-token", "bea", "--yes"], { allowFailure: true });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('agentpod: no tenant "bea" in tenants.yaml. Did you mean "bee"? Tenants: ant, bee. Nothing was changed');
    const noYes = fleet.agentpod(["tenant", "rotate-token", "ant"], { allowFailure: true });
    expect(noYes.status).toBe(2);
    expect(noYes.stderr).toContain(`refusing to apply stack ${fleet.stack} without --yes`);
    expect(stackFile()).toBe(before);
  });

  test("rotate-token: the tenant's old token is refused and the new one works with the official client; the other tenant keeps its token and container", async () => {
    const tokens = readTokens();
    const beeBefore = identity("bee");
    const antBefore = identity("ant");
    // Controls: before the rotation the old token is accepted, through Traefik and by the official client.
    expect(await handshake(fleet.httpsPort, domain("ant"), tokens.ant!, fleet.address(HOST))).toMatchObject({ ok: true, outcome: "hello-ok" });
    expect(officialClient("ant", tokens.ant!).status).toBe(0);

    const rotated = fleet.agentpod(["tenant", "rotate-token", "ant", "--yes"]);
    expect(rotated.stdout).toContain("ant has a new gateway token");
    expect(stackFile()).toMatch(/agentpod:tokenRotations:\n\s+ant: "?\d{4}-\d\d-\d\dT/);
    const after = readTokens();
    expect(after.ant).toMatch(/^[0-9a-f]{64}$/);
    expect(after.ant).not.toBe(tokens.ant);
    expect(after.bee).toBe(tokens.bee);
    expect(identity("bee")).toBe(beeBefore);
    expect(identity("ant")).not.toBe(antBefore);
    await ready("ant");

    expect(await handshake(fleet.httpsPort, domain("ant"), tokens.ant!, fleet.address(HOST))).toMatchObject({ ok: false, outcome: "AUTH_TOKEN_MISMATCH" });
    expect(await handshake(fleet.httpsPort, domain("ant"), after.ant!, fleet.address(HOST))).toMatchObject({ ok: true, outcome: "hello-ok" });
    expect(await handshake(fleet.httpsPort, domain("bee"), tokens.bee!, fleet.address(HOST))).toMatchObject({ ok: true, outcome: "hello-ok" });
    const old = officialClient("ant", tokens.ant!);
    expect(old.status, old.stdout + old.stderr).not.toBe(0);
    const fresh = officialClient("ant", after.ant!);
    expect(fresh.status, fresh.stdout + fresh.stderr).toBe(0);
    expect(officialClient("bee", tokens.bee!).status).toBe(0);
    // The recreated gateway still has its own model key.
    expect(envOf("ant")).toContain(`ANTHROPIC_API_KEY=${ANT_KEY}`);
  });
});
