/**
 * Pinned SSH host keys, with the real OpenSSH: the key pair AgentPod generates is one OpenSSH reads (ssh-keygen derives
 * the same public key from the private one), it reaches cloud-init, and a real sshd serving it is accepted by a client
 * given pinnedHostKeyOptions, while the same client pinned to any other key refuses the server (positive and negative
 * on the same server). Also: the docker CLI never reaches an ssh:// engine without the pin.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { renderCloudInit } from "../../fleet/cloudInit";
import { HOST_KEY_ALGORITHM, knownHostsLine, pinnedHostKeyOptions } from "../../fleet/sshHostKeys";
import { dockerCommand } from "../../providers/dockerCli";
import { generateHostKeyPair } from "../../providers/hostSshKey";

const dir = mkdtempSync(path.join(tmpdir(), "agentpod-sshd-"));
const pinned = generateHostKeyPair();
const other = generateHostKeyPair();
let sshd: ChildProcess | undefined;
let port = 0;

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port: p } = server.address() as { port: number };
      server.close(() => resolve(p));
    });
  });

beforeAll(async () => {
  const hostKey = path.join(dir, "host_key");
  writeFileSync(hostKey, pinned.privateKeyPem, { mode: 0o600 });
  expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "client")]).status).toBe(0);
  writeFileSync(path.join(dir, "authorized_keys"), spawnSync("cat", [path.join(dir, "client.pub")], { encoding: "utf8" }).stdout);
  chmodSync(path.join(dir, "authorized_keys"), 0o600);
  mkdirSync("/run/sshd", { recursive: true });
  port = await freePort();
  const config = path.join(dir, "sshd_config");
  writeFileSync(
    config,
    [`Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${hostKey}`, `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`, "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no", `PidFile ${path.join(dir, "sshd.pid")}`, ""].join("\n"),
  );
  sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  // Ready when it accepts a TCP connection.
  for (let i = 0; i < 50; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = require("node:net").connect(port, "127.0.0.1");
      socket.on("connect", () => (socket.destroy(), resolve(true)));
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("sshd did not start");
});

afterAll(() => {
  sshd?.kill();
  rmSync(dir, { recursive: true, force: true });
});

const sshAs = (publicKey: string) =>
  spawnSync("ssh", [...pinnedHostKeyOptions(publicKey), "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-i", path.join(dir, "client"), "-p", String(port), "root@127.0.0.1", "echo pinned-ok"], {
    encoding: "utf8",
    timeout: 30_000,
  });

describe("pinned SSH host keys", () => {
  test("the generated pair is one OpenSSH reads: ssh-keygen derives the same public key from the private one", () => {
    expect(pinned.publicKey.startsWith(`${HOST_KEY_ALGORITHM} `)).toBe(true);
    expect(pinned.privateKeyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    const derived = spawnSync("ssh-keygen", ["-y", "-f", path.join(dir, "host_key")], { encoding: "utf8" });
    expect(derived.status, derived.stderr).toBe(0);
    expect(derived.stdout.trim().split(" ").slice(0, 2).join(" ")).toBe(pinned.publicKey);
    expect(other.publicKey).not.toBe(pinned.publicKey);
  });

  test("a real sshd serving the key is accepted by a client pinned to it", () => {
    const result = sshAs(pinned.publicKey);
    expect(result.stderr).not.toContain("Host key verification failed");
    expect(result.stdout.trim()).toBe("pinned-ok");
  });

  test("the same server is refused by a client pinned to any other key, whatever the user's known_hosts says", () => {
    const result = sshAs(other.publicKey);
    expect(result.status).not.toBe(0);
    expect(result.stdout).not.toContain("pinned-ok");
    expect(result.stderr).toContain("Host key verification failed");
  });

  test("cloud-init gives the server exactly that key, and generates none of its own", () => {
    const config = parse(renderCloudInit(pinned).replace(/^#cloud-config\n/, ""));
    expect(config.ssh_keys).toEqual({ ecdsa_private: pinned.privateKeyPem.trim() + "\n", ecdsa_public: pinned.publicKey });
    expect(config.ssh_genkeytypes).toEqual([]);
    expect(config.ssh_deletekeys).toBe(true);
    expect(renderCloudInit()).not.toContain("ssh_keys");
  });

  test("the docker CLI reaches an ssh:// engine only through a pinned connection, and refuses one without the pin", () => {
    const command = dockerCommand("ssh://root@203.0.113.10", ["network", "connect", "agentpod-acme", "agentpod-traefik"], pinned.publicKey);
    expect(command.file).toBe("ssh");
    expect(command.args.slice(0, pinnedHostKeyOptions(pinned.publicKey).length)).toEqual(pinnedHostKeyOptions(pinned.publicKey));
    expect(command.args.slice(-2)).toEqual(["root@203.0.113.10", "'docker' 'network' 'connect' 'agentpod-acme' 'agentpod-traefik'"]);
    expect(() => dockerCommand("ssh://root@203.0.113.10", ["ps"])).toThrow(/without its pinned SSH host key/);
    expect(dockerCommand("unix:///run/agentpod/servers/x/docker.sock", ["ps"])).toEqual({ file: "docker", args: ["--host", "unix:///run/agentpod/servers/x/docker.sock", "ps"] });
    expect(knownHostsLine("203.0.113.10", pinned.publicKey)).toBe(`203.0.113.10 ${pinned.publicKey}`);
  });
});
