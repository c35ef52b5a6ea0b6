/**
 * What the program registers for production, input by input and option by option: hardening, routing, firewall,
 * DNS, secrets, and the resource options that keep innocent edits from destroying data.
 */
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { beforeAll, describe, expect, test } from "vitest";
import { PROD_CONFIG, PROD_SECRETS, compareRuns, runFleet, tenantKeyOf, type FleetRun } from "../support/mockFleet";
import { SECRET_SIG, plainOutputs, withoutSecrets } from "../support/secrecy";
import { createHash } from "node:crypto";
import { containerInputEffect } from "../../fleet/containerChanges";
import { gatewayConfigDigest } from "../../fleet/gateway";

const EXAMPLE = readFileSync("tenants.yaml", "utf8");
let fleet: FleetRun;

beforeAll(async () => {
  fleet = await runFleet({ tenantsYaml: EXAMPLE });
  if (fleet.error) throw fleet.error;
});

/** The public key the mocks give a host's HostSshKey (test/support/mockFleet.ts). */
const mockHostKey = (host: string) => `ecdsa-sha2-nistp256 ${Buffer.from(`public-of-${host}-host-key`).toString("base64")}`;
const label = (container: { inputs: Record<string, any> }, name: string) =>
  (container.inputs.labels as Array<{ label: string; value: string }>).find((l) => l.label === name)?.value;
const secretValue = (input: any) => {
  expect(input?.[SECRET_SIG]).toBeDefined(); // a Pulumi secret, encrypted in the state
  return input.value;
};

describe("tenant gateway container", () => {
  test("is hardened and limited by its plan", () => {
    const acme = fleet.named("acme-gateway").inputs; // plan pro: 2 CPUs, 4Gi
    expect(acme).toMatchObject({
      name: "agentpod-acme",
      image: "ghcr.io/openclaw/openclaw:2026.9.6",
      user: "1000:1000",
      restart: "unless-stopped",
      init: true,
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges:true"],
      memory: 4096,
      memorySwap: 4096,
      cpus: "2.0",
      wait: true,
      networksAdvanced: [{ name: "agentpod-acme" }],
      volumes: [
        { volumeName: "agentpod-acme-data", containerPath: "/home/node/.openclaw" },
        { hostPath: "/etc/agentpod/gateways/acme", containerPath: "/etc/agentpod", readOnly: true },
      ],
      // Read-only root; scratch space bounded and not executable.
      readOnly: true,
      tmpfs: {
        "/tmp": "rw,noexec,nosuid,nodev,size=64m",
        "/home/node/.cache": "rw,noexec,nosuid,nodev,size=64m,uid=1000,gid=1000,mode=0700",
      },
    });
    expect(acme.uploads).toBeUndefined();
    expect(acme.healthcheck.tests.join(" ")).toContain("http://127.0.0.1:18789/healthz");
    expect(fleet.named("acme-pids").inputs).toMatchObject({ limit: 1024, container: "agentpod-acme" });
    expect(fleet.named("initech-pids").inputs.limit).toBe(512);
  });

  test("is routed by Traefik for its domain on port 18789, over TLS, from a route file on its host", () => {
    const route = fleet.named("acme-route");
    expect(route.inputs.tenant).toBe("acme");
    expect(route.inputs.dockerHost).toBe("ssh://root@203.0.113.10");
    expect(route.options.dependsOn).toContain("acme-gateway");
    const http = parse(route.inputs.content).http;
    expect(http.routers.acme).toEqual({ rule: "Host(`acme.agents.example.com`)", entryPoints: ["websecure"], service: "acme", middlewares: ["acme-ratelimit"], tls: { certResolver: "letsencrypt", domains: [{ main: "*.agents.example.com" }] } });
    expect(http.services.acme.loadBalancer).toEqual({ servers: [{ url: "http://agentpod-acme:18789" }], healthCheck: { path: "/healthz", interval: "5s", unhealthyInterval: "1s", timeout: "3s" } });
    // acme's plan names no request limit: the default 600 a minute, all its clients together, bursts of 100.
    expect(http.middlewares["acme-ratelimit"].rateLimit).toEqual({ average: 600, period: "1m", burst: 100, sourceCriterion: { requestHost: true } });
    // The container carries no route: a route change never recreates it.
    const acme = fleet.named("acme-gateway");
    expect(JSON.stringify(acme.inputs.labels)).not.toContain("traefik");
  });

  test("gets its token and its provider's model key as secrets, by variable name", () => {
    const envs: string[] = secretValue(fleet.named("acme-gateway").inputs.envs);
    const names = envs.map((e) => e.split("=")[0]);
    expect(names).toEqual(expect.arrayContaining(["OPENCLAW_GATEWAY_TOKEN", "ANTHROPIC_API_KEY", "OPENCLAW_CONFIG_PATH"]));
    expect(names).not.toContain("OPENAI_API_KEY");
    const umbrella: string[] = secretValue(fleet.named("umbrella-gateway").inputs.envs);
    expect(umbrella.map((e) => e.split("=")[0])).toContain("OPENAI_API_KEY");
    expect(umbrella.map((e) => e.split("=")[0])).not.toContain("ANTHROPIC_API_KEY");
    expect(envs).toContain("OPENCLAW_GATEWAY_TOKEN=token-of-acme-token");
  });

  test("is configured to trust its network's proxy and its own public origin, from a secret config file on its host", () => {
    const acme = fleet.named("acme-gateway");
    const network = fleet.named("acme-network");
    const file = fleet.named("acme-config");
    expect(file.inputs).toMatchObject({ tenant: "acme", dockerHost: "ssh://root@203.0.113.10", shell: { kind: "ssh", address: "203.0.113.10" } });
    const config = JSON.parse(secretValue(file.inputs.content));
    expect(config.gateway.controlUi.allowedOrigins).toEqual(["https://acme.agents.example.com"]);
    expect(config.gateway.trustedProxies).toHaveLength(1);
    expect(config.gateway.trustedProxies[0]).toMatch(/^172\.30\.\d+\.0\/24$/);
    expect(config.gateway.auth).toEqual({ mode: "token" });
    expect(network.inputs).toMatchObject({ name: "agentpod-acme", driver: "bridge" });
    // The container waits for its file, and its digest label follows the file's content without revealing it.
    expect(acme.options.dependsOn).toContain("acme-config");
    const digest = label(acme, "agentpod.config-digest");
    expect(digest).toBe(gatewayConfigDigest(secretValue(file.inputs.content), "token-of-acme-token"));
    expect(digest).not.toBe(createHash("sha256").update(secretValue(file.inputs.content)).digest("hex"));
    expect(label(fleet.named("initech-gateway"), "agentpod.config-digest")).not.toBe(digest);
  });

  test("a change of one tenant's config rewrites its file and replaces its container alone", async () => {
    const moved = EXAMPLE.replace("domain: acme.agents.example.com", "domain: chat.agents.example.com");
    expect(moved).not.toBe(EXAMPLE);
    const after = await runFleet({ tenantsYaml: moved });
    if (after.error) throw after.error;
    const diff = compareRuns(fleet, after);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed["acme-config"]).toEqual(["content"]);
    // The label is the only gateway input that follows the config; any label change replaces the container.
    expect(diff.changed["acme-gateway"]).toEqual(["labels"]);
    expect(containerInputEffect("labels")).toBe("replace");
    expect(Object.keys(diff.changed).filter((name) => !name.startsWith("acme-")), JSON.stringify(diff.changed)).toEqual([]);
  });

  test("gets its own network that the host's proxy joins", () => {
    const attachment = fleet.named("acme-proxy-attachment").inputs;
    expect(attachment).toMatchObject({ network: "agentpod-acme", container: "agentpod-traefik", dockerHost: "ssh://root@203.0.113.10" });
    expect(fleet.named("acme-gateway").options.dependsOn).toContain("acme-proxy-attachment");
  });
});

describe("no innocent edit destroys data", () => {
  test("tenant data volumes are retained and can never be replaced", () => {
    for (const volume of fleet.ofType("docker:index/volume:Volume").filter((v) => v.name.endsWith("-data"))) {
      expect(volume.options.retainOnDelete, volume.name).toBe(true);
      expect(volume.options.ignoreChanges, volume.name).toEqual(expect.arrayContaining(["labels", "driver", "driverOpts"]));
      expect(volume.inputs.name).toBe(`agentpod-${volume.name.replace(/-data$/, "")}-data`);
    }
    expect(fleet.named("acme-data").inputs.driverOpts).toEqual({ type: "none", o: "bind", device: "/mnt/agentpod/tenants/acme" });
    expect(fleet.named("acme-data").options.dependsOn).toContain("acme-data-dir");
  });

  test("servers ignore cloud-init, SSH key and image edits, and are protected", () => {
    for (const server of fleet.ofType("hcloud:index/server:Server")) {
      expect(server.options.protect).toBe(true);
      expect(server.options.ignoreChanges).toEqual(expect.arrayContaining(["userData", "sshKeys", "image"]));
      expect(server.inputs).toMatchObject({ deleteProtection: true, rebuildProtection: true, keepDisk: true });
    }
  });

  test("host data volumes are protected, retained and ignore location changes", () => {
    for (const volume of fleet.ofType("hcloud:index/volume:Volume")) {
      expect(volume.options).toMatchObject({ protect: true, retainOnDelete: true });
      expect(volume.options.ignoreChanges).toContain("location");
      expect(volume.inputs.deleteProtection).toBe(true);
    }
    expect(fleet.named("fsn1-a-data").inputs.size).toBe(100);
    expect(fleet.named("fsn1-b-data").inputs.size).toBe(50);
  });

  test("DNS records are deleted before they are replaced", () => {
    for (const record of fleet.ofType("cloudflare:index/dnsRecord:DnsRecord")) expect(record.options.deleteBeforeReplace).toBe(true);
  });

  test("a Traefik version change touches only the Traefik containers", async () => {
    const upgraded = await runFleet({ tenantsYaml: EXAMPLE, config: { ...PROD_CONFIG, "agentpod:traefikImage": "traefik:v3.8.0" } });
    const diff = compareRuns(fleet, upgraded);
    expect(diff).toEqual({ added: [], removed: [], changed: { "fsn1-a-proxy-traefik": ["image"], "fsn1-b-proxy-traefik": ["image"] } });
  });

  test("an SSH key change re-keys nothing that holds data", async () => {
    const rekeyed = await runFleet({
      tenantsYaml: EXAMPLE,
      config: { ...PROD_CONFIG, "agentpod:adminSshKeys": JSON.stringify(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINewKeyForTests new@example.com"]) },
    });
    const diff = compareRuns(fleet, rekeyed);
    expect(diff.added.every((n) => n.startsWith("admin-key-"))).toBe(true);
    expect(diff.removed.every((n) => n.startsWith("admin-key-"))).toBe(true);
    // The servers' sshKeys input changes, but it is in ignoreChanges: no replacement.
    expect(Object.keys(diff.changed)).toEqual(["fsn1-a-server", "fsn1-b-server"]);
    expect(diff.changed["fsn1-a-server"]).toEqual(["sshKeys"]);
  });
});

describe("hosts", () => {
  test("firewall opens 22 only to admin CIDRs, 80 and 443 to everyone", () => {
    const rules: Array<{ port: string; sourceIps: string[]; direction: string }> = fleet.named("fsn1-a-firewall").inputs.rules;
    expect(rules.map((r) => r.port).sort()).toEqual(["22", "443", "80"]);
    expect(rules.find((r) => r.port === "22")!.sourceIps).toEqual(["203.0.113.0/24"]);
    expect(rules.find((r) => r.port === "80")!.sourceIps).toEqual(["0.0.0.0/0", "::/0"]);
    expect(rules.find((r) => r.port === "443")!.sourceIps).toEqual(["0.0.0.0/0", "::/0"]);
    expect(rules.every((r) => r.direction === "in")).toBe(true);
  });

  test("the Docker provider goes over SSH pinned to the host's own key, and waits for the readiness gate", () => {
    const provider = fleet.named("fsn1-a-docker");
    const publicKey = mockHostKey("fsn1-a");
    // The endpoint comes from the gate: nothing reaches the engine before the gate passed.
    expect(provider.inputs.host).toBe("ssh://root@203.0.113.10");
    expect(fleet.named("fsn1-a-ready").inputs.endpoint).toBe("ssh://root@203.0.113.10");
    // (Provider inputs reach the engine as JSON text.)
    const sshOpts: string[] = JSON.parse(provider.inputs.sshOpts);
    expect(sshOpts).toEqual(expect.arrayContaining(["StrictHostKeyChecking=yes", "UserKnownHostsFile=/dev/null", `KnownHostsCommand=/bin/echo %H ${publicKey}`]));
    expect(sshOpts.join(" ")).not.toContain("accept-new");
    // The gate runs over the same pinned SSH, as root, the same script a local server runs.
    const ready = fleet.named("fsn1-a-ready");
    expect(ready.type).toBe("pulumi-nodejs:dynamic/agentpod:HostReadiness");
    expect(ready.inputs.shell).toEqual({ kind: "ssh", address: "203.0.113.10", user: "root", hostKey: publicKey });
    expect(ready.inputs.script).toContain("docker info");
    expect(fleet.resources.some((r) => r.type.startsWith("command:"))).toBe(false);
  });

  test("each host's SSH host key is generated by the program, reaches cloud-init as a secret, and is an output", () => {
    expect(fleet.named("fsn1-a-host-key").type).toBe("pulumi-nodejs:dynamic/agentpod:HostSshKey");
    const userData: string = secretValue(fleet.named("fsn1-a-server").inputs.userData);
    expect(userData).toContain("docker.io");
    expect(userData).toContain(`  ecdsa_public: ${mockHostKey("fsn1-a")}`);
    expect(userData).toContain("    private-of-fsn1-a-host-key");
    expect(userData).toContain("ssh_genkeytypes: []");
    // Each host its own key; the public halves are outputs (for known_hosts), the private ones nowhere in plain text.
    expect(fleet.outputs.hosts["fsn1-a"].sshHostKey).toBe(mockHostKey("fsn1-a"));
    expect(fleet.outputs.hosts["fsn1-b"].sshHostKey).toBe(mockHostKey("fsn1-b"));
    expect(JSON.stringify(fleet.outputs)).not.toContain("private-of-");
  });

  test("the readiness gate grows the data volume's filesystem, and runs again when the volume grows", () => {
    const ready = fleet.named("fsn1-a-ready").inputs;
    const device = `/dev/disk/by-id/scsi-0HC_Volume_${"fsn1-a-data".length}`; // the mock volume's linuxDevice
    expect(ready.script).toContain(`mount -o discard,defaults ${device} /mnt/agentpod`);
    expect(ready.script).toContain(`resize2fs ${device}`);
    // The script names the volume's size: a bigger dataVolumeGb changes it and so re-runs the gate; so does a new server.
    expect(ready.script).toContain("# data volume: 100 GB");
    expect(ready.serverId).toBe("fsn1-a-server-id");
  });

  test("every Docker resource goes through its own host's provider", () => {
    const docker = fleet.resources.filter((r) => r.type.startsWith("docker:index/"));
    expect(docker.length).toBeGreaterThan(0);
    for (const r of docker) expect(r.options.provider, r.name).toMatch(/^fsn1-[ab]-docker$/);
    expect(fleet.named("umbrella-gateway").options.provider).toBe("fsn1-b-docker");
  });
});

describe("proxy", () => {
  test("Traefik: pinned, no dashboard, HTTP to HTTPS, routes from files, no Docker socket, certificates on the data volume", () => {
    const traefik = fleet.named("fsn1-a-proxy-traefik").inputs;
    expect(traefik.image).toBe("traefik:v3.7.15");
    const flags: string[] = traefik.command;
    expect(flags).toContain("--api.dashboard=false");
    expect(flags.some((f) => f.startsWith("--api.insecure"))).toBe(false);
    expect(flags).toContain("--providers.file.directory=/etc/traefik/routes");
    expect(flags.some((f) => f.startsWith("--providers.docker"))).toBe(false);
    expect(flags).toContain("--entrypoints.web.http.redirections.entrypoint.to=:443");
    expect(flags).toContain("--certificatesresolvers.letsencrypt.acme.caserver=https://acme-v02.api.letsencrypt.org/directory");
    expect(flags.join(" ")).not.toContain("Connection");
    expect(traefik.volumes).toContainEqual({ hostPath: "/etc/agentpod/traefik/routes", containerPath: "/etc/traefik/routes", readOnly: true });
    expect(traefik.volumes).toContainEqual({ hostPath: "/mnt/agentpod/proxy", containerPath: "/letsencrypt" });
    expect(JSON.stringify(traefik.volumes)).not.toContain("docker.sock");
    expect(traefik.ports).toEqual([{ internal: 80, external: 80 }, { internal: 443, external: 443 }]);
    expect(fleet.named("fsn1-a-proxy-traefik").options.ignoreChanges).toContain("networksAdvanced");
  });

  test("the default is DNS-01 through Cloudflare: one wildcard of the zone for every tenant's router, the token only as a secret", async () => {
    const traefik = fleet.named("fsn1-a-proxy-traefik");
    expect(traefik.inputs.command).toContain("--certificatesresolvers.letsencrypt.acme.dnschallenge.provider=cloudflare");
    expect(traefik.inputs.command.some((f: string) => f.includes("httpchallenge"))).toBe(false);
    expect(await pulumi.isSecret(traefik.declared.envs)).toBe(true);
    expect(secretValue(traefik.inputs.envs)).toEqual(["CF_DNS_API_TOKEN=cloudflare-dns-test-token"]);
    for (const tenant of ["acme", "globex", "umbrella"]) {
      const route = parse(fleet.named(`${tenant}-route`).inputs.content);
      expect(route.http.routers[tenant].tls, tenant).toEqual({ certResolver: "letsencrypt", domains: [{ main: "*.agents.example.com" }] });
    }
    // In no other resource than the proxies, and nowhere in plain text.
    for (const resource of fleet.resources) {
      if (!resource.name.endsWith("-proxy-traefik")) expect(JSON.stringify(resource.inputs), resource.name).not.toContain("cloudflare-dns-test-token");
      expect(JSON.stringify(withoutSecrets(resource.inputs)), resource.name).not.toContain("cloudflare-dns-test-token");
    }
    expect(JSON.stringify(await plainOutputs(fleet.raw))).not.toContain("cloudflare-dns-test-token");
  });

  test("HTTP-01 when chosen: one certificate per tenant name, no token in the proxy", async () => {
    const config: Record<string, string> = { ...PROD_CONFIG, "agentpod:acmeChallenge": "http-01" };
    delete config["agentpod:cloudflareDnsToken"];
    const perTenant = await runFleet({ tenantsYaml: EXAMPLE, config, secretKeys: PROD_SECRETS.filter((k) => k !== "agentpod:cloudflareDnsToken") });
    if (perTenant.error) throw perTenant.error;
    const traefik = perTenant.named("fsn1-a-proxy-traefik").inputs;
    expect(traefik.command).toContain("--certificatesresolvers.letsencrypt.acme.httpchallenge.entrypoint=web");
    expect(traefik.command.some((f: string) => f.includes("dnschallenge"))).toBe(false);
    expect(traefik.envs).toBeUndefined();
    expect(parse(perTenant.named("acme-route").inputs.content).http.routers.acme.tls).toEqual({ certResolver: "letsencrypt" });
  });

  test("proxied records with DNS-01: the records are proxied, the token still a secret", async () => {
    const proxied = await runFleet({ tenantsYaml: EXAMPLE, config: { ...PROD_CONFIG, "agentpod:dnsProxied": "true" } });
    if (proxied.error) throw proxied.error;
    const traefik = proxied.named("fsn1-a-proxy-traefik").inputs;
    expect(traefik.command).toContain("--certificatesresolvers.letsencrypt.acme.dnschallenge.provider=cloudflare");
    expect(secretValue(traefik.envs)).toEqual(["CF_DNS_API_TOKEN=cloudflare-dns-test-token"]);
    expect(proxied.named("acme-dns-a").inputs.proxied).toBe(true);
  });
});

describe("DNS", () => {
  test("one A and one AAAA record per tenant, at the tenant's host", () => {
    const records = fleet.ofType("cloudflare:index/dnsRecord:DnsRecord");
    expect(records).toHaveLength(2 * 6);
    expect(fleet.named("acme-dns-a").inputs).toMatchObject({ name: "acme.agents.example.com", type: "A", content: "203.0.113.10", zoneId: "0123456789abcdef0123456789abcdef", proxied: false, ttl: 1 });
    expect(fleet.named("acme-dns-aaaa").inputs).toMatchObject({ name: "acme.agents.example.com", type: "AAAA", content: "2001:db8::1" });
  });
});

describe("outputs and secrets", () => {
  test("per tenant URL, host and plan; tokens only as a secret", async () => {
    expect(fleet.outputs.tenants.acme).toEqual({ url: "https://acme.agents.example.com", host: "fsn1-a", plan: "pro", healthUrl: "https://acme.agents.example.com/healthz" });
    expect(Object.keys(fleet.outputs.tenants).sort()).toEqual(["acme", "globex", "hooli", "initech", "stark", "umbrella"]);
    const tokens = fleet.raw!.gatewayTokens as pulumi.Output<unknown>;
    expect(await (tokens as any).isSecret).toBe(true);
    expect(JSON.stringify(fleet.outputs.tenants)).not.toContain("token-of");
  });

  test("no secret appears in plain text in any resource input", () => {
    const secrets = ["sk-ant-test-key", "sk-test-openai-key", "token-of-", "BEGIN OPENSSH", "private-of-", tenantKeyOf(""), "cloudflare-dns-test-token"];
    for (const resource of fleet.resources) {
      const plain = JSON.stringify(withoutSecrets(resource.inputs));
      for (const secret of secrets) expect(plain, `${resource.name} leaks ${secret}`).not.toContain(secret);
    }
  });

  test("the fleet key of the backups is generated once, secret, and protected: destroy keeps it, so the backups stay readable", () => {
    const key = fleet.named("backup-key");
    expect(key.type).toBe("pulumi-nodejs:dynamic/agentpod:BackupKey");
    expect(key.options.protect).toBe(true);
  });

  test("tokens are generated per tenant and secret", async () => {
    const tenants = ["acme", "globex", "hooli", "initech", "stark", "umbrella"];
    const tokens = fleet.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/agentpod:GatewayToken");
    expect(tokens.map((t) => t.name).sort()).toEqual(tenants.map((t) => `${t}-token`));
    // The mock's token of each tenant (mockFleet.ts): what must never be readable.
    const tokenOf = (tenant: string) => `token-of-${tenant}-token`;

    // The stack output holds every tenant's token, as one secret.
    const output = fleet.raw!.gatewayTokens;
    expect(pulumi.Output.isInstance(output)).toBe(true);
    expect(await pulumi.isSecret(output)).toBe(true);
    expect(fleet.outputs.gatewayTokens).toEqual(Object.fromEntries(tenants.map((t) => [t, tokenOf(t)])));

    // Each gateway gets its own token, in an env list declared as a secret Output and sent to the engine as one.
    const containers = fleet.ofType("docker:index/container:Container");
    for (const tenant of tenants) {
      const gateway = fleet.named(`${tenant}-gateway`);
      expect(pulumi.Output.isInstance(gateway.declared.envs), tenant).toBe(true);
      expect(await pulumi.isSecret(gateway.declared.envs), tenant).toBe(true);
      const envs: string[] = secretValue(gateway.inputs.envs);
      expect(envs.filter((e) => e.startsWith("OPENCLAW_GATEWAY_TOKEN="))).toEqual([`OPENCLAW_GATEWAY_TOKEN=${tokenOf(tenant)}`]);
    }
    for (const container of containers.filter((c) => c.inputs.envs !== undefined)) secretValue(container.inputs.envs);

    // No token in plain text anywhere else: not in any resource's inputs outside a secret, not in a plain output.
    for (const resource of fleet.resources) {
      const plain = JSON.stringify(withoutSecrets(resource.inputs));
      for (const tenant of tenants) expect(plain, `${resource.name} has ${tenant}'s token in plain text`).not.toContain(tokenOf(tenant));
    }
    const outputs = JSON.stringify(await plainOutputs(fleet.raw));
    expect(outputs).toContain('"gatewayTokens":"[secret]"');
    expect(outputs).toContain("https://acme.agents.example.com"); // the plain outputs were read
    for (const tenant of tenants) expect(outputs).not.toContain(tokenOf(tenant));
  });
});
