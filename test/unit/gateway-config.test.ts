/**
 * The gateway's config reaches its read-only container as a host file: the script that writes it (run here with
 * sh on a scratch directory, as root like on a host), and the digest that replaces the container when it changes.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { GATEWAY_CONFIG_DIR, GATEWAY_CONFIG_PATH, GATEWAY_STATE_DIR, GATEWAY_TMPFS, gatewayConfigDigest, renderGatewayConfig } from "../../fleet/gateway";
import { HOST_GATEWAY_CONFIG_ROOT, gatewayConfigDir, removeGatewayConfigScript, writeGatewayConfigScript } from "../../fleet/hostScripts";

describe("the config file on the host", () => {
  const root = mkdtempSync(path.join(tmpdir(), "agentpod-gateway-config-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const run = (script: string, input = "") => spawnSync("sh", ["-c", script.replaceAll(HOST_GATEWAY_CONFIG_ROOT, root)], { input, encoding: "utf8" });
  const config = renderGatewayConfig({ publicOrigin: "https://acme.agents.example.com", trustedProxies: ["172.30.1.0/24"] });

  test("is written whole, readable by the gateway's UID alone, rewritten in place, and removed", () => {
    expect(gatewayConfigDir("acme")).toBe(`${HOST_GATEWAY_CONFIG_ROOT}/acme`);
    expect(GATEWAY_CONFIG_PATH).toBe(`${GATEWAY_CONFIG_DIR}/openclaw.json`);
    const first = run(writeGatewayConfigScript("acme"), "first\n");
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout + first.stderr).toBe(""); // nothing of the content is ever printed
    expect(run(writeGatewayConfigScript("acme"), config).status).toBe(0);
    const dir = path.join(root, "acme");
    expect(readdirSync(dir)).toEqual(["openclaw.json"]); // no temporary file left where the gateway reads
    expect(readFileSync(path.join(dir, "openclaw.json"), "utf8")).toBe(config);
    const file = statSync(path.join(dir, "openclaw.json"));
    expect([file.uid, file.gid, file.mode & 0o777]).toEqual([1000, 1000, 0o600]);
    const folder = statSync(dir);
    expect([folder.uid, folder.mode & 0o777]).toEqual([1000, 0o700]);
    expect(run(writeGatewayConfigScript("initech"), "other\n").status).toBe(0);
    expect(run(removeGatewayConfigScript("acme")).status).toBe(0);
    expect(readdirSync(root)).toEqual(["initech"]);
    // Removing what is gone already is not an error (a delete retried after a lost server).
    expect(run(removeGatewayConfigScript("acme")).status).toBe(0);
  });

  test("a failed write says why, without the content", () => {
    const blocked = run(`touch ${HOST_GATEWAY_CONFIG_ROOT}/blocked; ${writeGatewayConfigScript("blocked")}`, "secret-value-123\n");
    expect(blocked.status).not.toBe(0);
    expect(blocked.stderr).toMatch(/blocked/);
    expect(blocked.stderr + blocked.stdout).not.toContain("secret-value-123");
  });
});

describe("the config digest", () => {
  test("follows the content and the key, and is not a plain hash of the content", () => {
    const digest = gatewayConfigDigest("{\"a\":1}", "token-a");
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(gatewayConfigDigest("{\"a\":1}", "token-a")).toBe(digest);
    expect(gatewayConfigDigest("{\"a\":2}", "token-a")).not.toBe(digest);
    expect(gatewayConfigDigest("{\"a\":1}", "token-b")).not.toBe(digest);
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    expect(digest).not.toBe(createHash("sha256").update("{\"a\":1}").digest("hex"));
  });
});

describe("the gateway's writable places", () => {
  test("scratch is tmpfs, bounded, not executable, and never the state directory", () => {
    expect(Object.keys(GATEWAY_TMPFS).sort()).toEqual(["/home/node/.cache", "/tmp"]);
    for (const [where, options] of Object.entries(GATEWAY_TMPFS)) {
      const flags = options.split(",");
      expect(flags, where).toEqual(expect.arrayContaining(["noexec", "nosuid", "nodev"]));
      expect(flags.find((f) => f.startsWith("size=")), where).toMatch(/^size=\d+m$/);
      expect(GATEWAY_STATE_DIR.startsWith(where), where).toBe(false);
    }
  });
});
