/**
 * How the deploy reaches its hosts: the fleet's deploy-runner firewall (under mocks: Hetzner cannot run here) and
 * scripts/ci/deploy-runner-access.sh, the deploy workflow's opening and closing of it, run for real (bash, curl, jq)
 * against a stand-in for the Hetzner API on loopback that answers as the API documents.
 */
import { execFile, execFileSync } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { deployRunnerFirewallName } from "../../fleet/naming";
import { compareRuns, runFleet, type FleetRun } from "../support/mockFleet";
import { readFileSync } from "node:fs";

const EXAMPLE = readFileSync("tenants.yaml", "utf8");
const SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "ci", "deploy-runner-access.sh");

describe("the deploy-runner firewall (mocks)", () => {
  let fleet: FleetRun;
  beforeAll(async () => {
    fleet = await runFleet({ tenantsYaml: EXAMPLE });
    if (fleet.error) throw fleet.error;
  });

  test("one per fleet, named in fleet/naming.ts, created without rules, its rules left to the workflow", () => {
    const firewalls = fleet.ofType("hcloud:index/firewall:Firewall").filter((f) => f.name === "deploy-runner-firewall");
    expect(firewalls).toHaveLength(1);
    const firewall = firewalls[0]!;
    expect(firewall.inputs.name).toBe(deployRunnerFirewallName("agentpod"));
    expect(firewall.inputs.name).toBe("agentpod--deploy-runner");
    expect(firewall.inputs.rules ?? []).toEqual([]);
    expect(firewall.options.ignoreChanges).toEqual(["rules"]);
    // A host's own firewall is the program's, adminCidrs included: its rules are not ignored.
    expect(fleet.named("fsn1-a-firewall").options.ignoreChanges).toBeUndefined();
    expect(fleet.named("fsn1-a-firewall").inputs.rules.find((r: { port: string }) => r.port === "22").sourceIps).toEqual(["203.0.113.0/24"]);
  });

  test("applied to every server beside the server's own firewall, and its id is a stack output for the workflow", () => {
    const id = Number(fleet.outputs.deployRunnerFirewall.id);
    expect(Number.isInteger(id)).toBe(true);
    expect(fleet.outputs.deployRunnerFirewall.name).toBe("agentpod--deploy-runner");
    const servers = fleet.ofType("hcloud:index/server:Server");
    expect(servers.map((s) => s.name).sort()).toEqual(["fsn1-a-server", "fsn1-b-server"]);
    for (const server of servers) {
      // Its own firewall (adminCidrs, 80, 443) first, then the fleet's deploy-runner firewall.
      const [own, runner] = server.inputs.firewallIds as number[];
      expect(server.inputs.firewallIds).toHaveLength(2);
      expect(runner).toBe(id);
      expect(Number.isInteger(own) && own !== id).toBe(true);
    }
  });

  test("a new host gets it too, and adding one changes no other server", async () => {
    const grown = EXAMPLE.replace("tenants:\n", "  - name: fsn1-c\n    location: fsn1\n    serverType: cx42\n\ntenants:\n");
    const after = await runFleet({ tenantsYaml: grown });
    if (after.error) throw after.error;
    const id = Number(after.outputs.deployRunnerFirewall.id);
    expect(id).toBe(Number(fleet.outputs.deployRunnerFirewall.id));
    expect(after.named("fsn1-c-server").inputs.firewallIds).toContain(id);
    const diff = compareRuns(fleet, after);
    expect(diff.added).toContain("fsn1-c-server");
    expect(Object.keys(diff.changed).filter((n) => n.endsWith("-server") || n.endsWith("firewall"))).toEqual([]);
  });

  test("the local target has none (no Hetzner there)", async () => {
    const local = await runFleet({ tenantsYaml: readFileSync("tenants.local.yaml", "utf8"), stack: "local" });
    if (local.error) throw local.error;
    expect(local.ofType("hcloud:index/firewall:Firewall")).toEqual([]);
    expect(local.outputs.deployRunnerFirewall).toBeUndefined();
  });
});

/** A stand-in for the parts of the Hetzner API the script calls, recording every request. */
class FakeHetzner {
  readonly requests: Array<{ method: string; url: string; auth: string | undefined; body: any }> = [];
  rules: unknown[] = [{ direction: "in", protocol: "tcp", port: "22", source_ips: ["192.0.2.99/32"], description: "left by a killed run" }];
  /** How each new action ends after one "running" answer. */
  outcome: "success" | "error" = "success";
  token = "test-token";
  private readonly actions = new Map<number, number>();
  private nextAction = 40;
  private server!: Server;
  endpoint = "";

  async start() {
    this.server = createServer(async (req, res) => {
      const body = await readBody(req);
      this.requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      const reply = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (req.headers.authorization !== `Bearer ${this.token}`) return reply(401, { error: { code: "unauthorized", message: "unable to authenticate" } });
      const setRules = /^\/v1\/firewalls\/(\d+)\/actions\/set_rules$/.exec(req.url!);
      if (req.method === "POST" && setRules) {
        if (setRules[1] !== "4711") return reply(404, { error: { code: "not_found", message: "Firewall with ID '" + setRules[1] + "' not found" } });
        this.rules = body.rules;
        const ids = [this.nextAction++, this.nextAction++]; // set_rules, then apply_firewall on the servers
        ids.forEach((id) => this.actions.set(id, 0));
        return reply(201, { actions: ids.map((id) => ({ id, command: "set_firewall_rules", status: "running", progress: 0, error: null })) });
      }
      const action = /^\/v1\/firewalls\/actions\/(\d+)$/.exec(req.url!);
      if (req.method === "GET" && action && this.actions.has(Number(action[1]))) {
        const polls = this.actions.get(Number(action[1]))! + 1;
        this.actions.set(Number(action[1]), polls);
        const status = polls < 2 ? "running" : this.outcome;
        return reply(200, { action: { id: Number(action[1]), status, error: status === "error" ? { code: "action_failed", message: "firewall could not be applied" } : null } });
      }
      return reply(404, { error: { code: "not_found", message: `no route ${req.method} ${req.url}` } });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  stop() {
    return new Promise((resolve) => this.server.close(resolve));
  }
}

function readBody(req: IncomingMessage): Promise<any> {
  return new Promise((resolve) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => resolve(text ? JSON.parse(text) : undefined));
  });
}

/** Runs the script asynchronously (the stand-in answers from this process). */
function access(command: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", [SCRIPT, command], { env: { PATH: process.env.PATH!, ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("scripts/ci/deploy-runner-access.sh against a stand-in Hetzner API", () => {
  const api = new FakeHetzner();
  let env: Record<string, string>;
  beforeAll(async () => {
    await api.start();
    env = { HCLOUD_ENDPOINT: api.endpoint, HCLOUD_TOKEN: "test-token", FIREWALL_ID: "4711", RUNNER_ADDRESS: "198.51.100.7", RUN_LABEL: "acme/fleet run 99", POLL_SECONDS: "0.1" };
  });
  afterAll(() => api.stop());

  test("passes ShellCheck", () => {
    expect(execFileSync("shellcheck", [SCRIPT], { encoding: "utf8" })).toBe("");
  });

  test("open replaces every rule with port 22 from the runner's /32 and waits until Hetzner applied it; close clears them", async () => {
    const opened = await access("open", env);
    expect(opened.stderr).toBe("");
    expect(opened.code).toBe(0);
    expect(api.rules).toEqual([{ direction: "in", protocol: "tcp", port: "22", source_ips: ["198.51.100.7/32"], description: "deploy runner acme/fleet run 99" }]);
    // Both actions polled until they left "running"; the token went in the header only.
    const polled = api.requests.filter((r) => r.method === "GET").map((r) => r.url);
    expect(polled).toEqual(["/v1/firewalls/actions/40", "/v1/firewalls/actions/40", "/v1/firewalls/actions/41", "/v1/firewalls/actions/41"]);
    expect(api.requests.every((r) => r.auth === "Bearer test-token")).toBe(true);
    expect(opened.stdout).toMatch(/opening port 22 to 198\.51\.100\.7\/32 through firewall 4711[\s\S]*open: applied/);

    const closed = await access("close", { HCLOUD_ENDPOINT: api.endpoint, HCLOUD_TOKEN: "test-token", FIREWALL_ID: "4711", POLL_SECONDS: "0.1" });
    expect(closed.code).toBe(0);
    expect(api.rules).toEqual([]);
    expect(api.requests.filter((r) => r.method === "POST").map((r) => r.url)).toEqual(["/v1/firewalls/4711/actions/set_rules", "/v1/firewalls/4711/actions/set_rules"]);
  });

  test("a failed action, a wrong token, an unknown firewall or a missing address fail loudly", async () => {
    api.outcome = "error";
    const failed = await access("open", env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/Hetzner action \d+ ended 'error': \{"code":"action_failed"/);
    api.outcome = "success";

    const unauthorized = await access("close", { ...env, HCLOUD_TOKEN: "wrong" });
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toContain("POST /firewalls/4711/actions/set_rules: HTTP 401: unauthorized: unable to authenticate");

    const unknown = await access("close", { ...env, FIREWALL_ID: "12" });
    expect(unknown.stderr).toContain("HTTP 404: not_found: Firewall with ID '12' not found");

    const before = api.requests.length;
    for (const [changes, message] of [
      [{ HCLOUD_TOKEN: "" }, "HCLOUD_TOKEN is not set"],
      [{ FIREWALL_ID: "" }, "FIREWALL_ID must be the numeric id"],
      [{ RUNNER_ADDRESS: "198.51.100.7/0" }, "RUNNER_ADDRESS is not an IPv4 address"],
    ] as const) {
      const refused = await access("open", { ...env, ...changes });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(message);
    }
    // Refused before any call: nothing was changed.
    expect(api.requests.length).toBe(before);
  });
});
