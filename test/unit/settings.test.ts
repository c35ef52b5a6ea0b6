/** Stack settings (`agentpod:` Pulumi config): parsed as plain data, every problem reported with the command to run. */
import { describe, expect, it } from "vitest";
import { DEFAULT_LOCAL_TRAEFIK_IMAGE, DEFAULT_TRAEFIK_IMAGE, SettingsError, parseSettings, type ConfigValues } from "../../fleet/settings";

const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsKeyForTestsOnly ops@example.com";
const PROD_VALUES = {
  target: "hetzner",
  zone: "Agents.Example.com",
  cloudflareZoneId: "0123456789abcdef0123456789abcdef",
  acmeEmail: "ops@example.com",
  adminSshKeys: JSON.stringify([SSH_KEY]),
  adminCidrs: JSON.stringify(["203.0.113.0/24", "2001:db8:1234::/48"]),
  deployPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----",
  anthropicApiKey: "sk-ant-test-key",
  backupEndpoint: "https://hel1.your-objectstorage.com",
  backupBucket: "agentpod-backups",
  backupAccessKeyId: "TESTACCESSKEY",
  backupSecretAccessKey: "test-secret",
  cloudflareDnsToken: "cf-dns-token",
};
const PROD_SECRETS = ["deployPrivateKey", "anthropicApiKey", "backupAccessKeyId", "backupSecretAccessKey", "cloudflareDnsToken"];
const DEFAULT_SCHEDULE = { intervalSeconds: 3600, keepLast: 10, keepHourly: 24, keepDaily: 7, keepWeekly: 4 };

const prod = (values: Record<string, string | undefined>, secrets = PROD_SECRETS, stackFileText?: string): ConfigValues => ({
  stack: "prod",
  values: { ...PROD_VALUES, ...values },
  secretsSet: new Set(secrets),
  ...(stackFileText !== undefined && { stackFileText }),
});

/** The issues parseSettings throws, as "<file>[:line] <key>: <message>" lines. */
function problems(input: ConfigValues): string[] {
  try {
    parseSettings(input);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as SettingsError).issues.map((i) => `${i.file}${i.line ? `:${i.line}` : ""} ${i.key}: ${i.message}`);
  }
  throw new Error("expected a SettingsError");
}

describe("parseSettings", () => {
  it("parses a valid prod configuration, with defaults", () => {
    expect(parseSettings(prod({}))).toEqual({
      target: "hetzner",
      stack: "prod",
      tenantsFile: "tenants.yaml",
      traefikImage: DEFAULT_TRAEFIK_IMAGE,
      zone: "agents.example.com",
      cloudflareZoneId: "0123456789abcdef0123456789abcdef",
      adminSshKeys: [SSH_KEY],
      adminCidrs: ["203.0.113.0/24", "2001:db8:1234::/48"],
      acmeEmail: "ops@example.com",
      acmeChallenge: "dns-01",
      dnsProxied: false,
      serverImage: "ubuntu-24.04",
      tenantModelKeys: [],
      tokenRotations: {},
      backup: { endpoint: "https://hel1.your-objectstorage.com", bucket: "agentpod-backups", schedule: DEFAULT_SCHEDULE, image: "agentpod/backup:1" },
    });
  });

  it("parses a valid local configuration, with defaults", () => {
    const values = { target: "local", httpPort: "18080", hostAddresses: JSON.stringify({ "local-b": "127.77.0.2" }) };
    expect(parseSettings({ stack: "local", values, secretsSet: new Set() })).toEqual({
      target: "local",
      stack: "local",
      tenantsFile: "tenants.yaml",
      traefikImage: DEFAULT_LOCAL_TRAEFIK_IMAGE,
      tenantModelKeys: [],
      tokenRotations: {},
      fleet: "agentpod",
      httpPort: 18080,
      httpsPort: 8443,
      hostAddresses: { "local-b": "127.77.0.2" },
      dockerHost: "unix:///var/run/docker.sock",
      serverImage: "agentpod/server:1",
      backup: { endpoint: "http://agentpod-s3:7070", bucket: "agentpod-backups", schedule: DEFAULT_SCHEDULE, image: "agentpod/backup:1" },
    });
  });

  it("refuses a host address off loopback, and the retired dockerHosts setting", () => {
    expect(problems({ stack: "local", values: { target: "local", hostAddresses: JSON.stringify({ b: "10.0.0.2" }), dockerHosts: "{}" }, secretsSet: new Set() })).toEqual([
      'Pulumi.local.yaml agentpod:dockerHosts: unknown setting for target local. Did you mean "dockerHost"?',
      'Pulumi.local.yaml agentpod:hostAddresses.b: "10.0.0.2" is not a loopback address (127.x.y.z): local servers listen on loopback only',
    ]);
  });

  it("reports every missing prod key at once, each with the command that sets it", () => {
    expect(problems({ stack: "prod", values: { target: "hetzner" }, secretsSet: new Set() })).toEqual([
      "Pulumi.prod.yaml agentpod:zone: is required: pulumi config set agentpod:zone agents.example.com --stack prod",
      "Pulumi.prod.yaml agentpod:cloudflareZoneId: is required: pulumi config set agentpod:cloudflareZoneId ZONE_ID --stack prod (ZONE_ID: the 32 hex digit id on the zone's overview page in Cloudflare)",
      "Pulumi.prod.yaml agentpod:adminSshKeys: is required, a list: pulumi config set --path 'agentpod:adminSshKeys[0]' 'ssh-ed25519 AAAA... ops@example.com' --stack prod",
      "Pulumi.prod.yaml agentpod:adminCidrs: is required, a list: pulumi config set --path 'agentpod:adminCidrs[0]' 203.0.113.0/24 --stack prod",
      "Pulumi.prod.yaml agentpod:acmeEmail: is required: pulumi config set agentpod:acmeEmail ops@example.com --stack prod",
      "Pulumi.prod.yaml agentpod:cloudflareDnsToken: is required for Let's Encrypt DNS-01 (agentpod:acmeChallenge dns-01, the default): a Cloudflare token with Zone:DNS:Edit on the zone only: pulumi config set --secret agentpod:cloudflareDnsToken --stack prod" +
        " (or, for a fleet that stays well under 50 tenants per registered domain with unproxied records: pulumi config set agentpod:acmeChallenge http-01 --stack prod)",
      "Pulumi.prod.yaml agentpod:deployPrivateKey: is required (the SSH key AgentPod deploys with): cat deploy_key | pulumi config set --secret agentpod:deployPrivateKey --stack prod",
      "Pulumi.prod.yaml agentpod:backupEndpoint: is required (the S3 endpoint backups go to, in another location than the hosts): pulumi config set agentpod:backupEndpoint https://hel1.your-objectstorage.com --stack prod",
      "Pulumi.prod.yaml agentpod:backupBucket: is required (the bucket backups go to): pulumi config set agentpod:backupBucket agentpod-backups --stack prod",
      "Pulumi.prod.yaml agentpod:backupAccessKeyId: is required (the object store's credentials): pulumi config set --secret agentpod:backupAccessKeyId --stack prod",
      "Pulumi.prod.yaml agentpod:backupSecretAccessKey: is required (the object store's credentials): pulumi config set --secret agentpod:backupSecretAccessKey --stack prod",
    ]);
  });

  it("refuses a missing or unknown target before anything else", () => {
    expect(problems({ stack: "dev", values: {}, secretsSet: new Set() })).toEqual([
      'Pulumi.dev.yaml agentpod:target: must be "local" or "hetzner": pulumi config set agentpod:target local --stack dev',
    ]);
    expect(problems({ stack: "dev", values: { target: "aws" }, secretsSet: new Set() })).toEqual([
      'Pulumi.dev.yaml agentpod:target: must be "local" or "hetzner", not "aws": pulumi config set agentpod:target local --stack dev',
    ]);
  });

  it("refuses a secret stored in plain text, once, with the command that encrypts it", () => {
    expect(problems(prod({}, ["anthropicApiKey", "backupAccessKeyId", "backupSecretAccessKey", "cloudflareDnsToken"]))).toEqual([
      "Pulumi.prod.yaml agentpod:deployPrivateKey: is a secret but is stored in plain text: pulumi config set --secret agentpod:deployPrivateKey --stack prod",
    ]);
    expect(problems(prod({ openaiApiKey: "sk-test", dnsProxied: "true" }, PROD_SECRETS.filter((k) => k !== "cloudflareDnsToken")))).toEqual([
      "Pulumi.prod.yaml agentpod:cloudflareDnsToken: is a secret but is stored in plain text: pulumi config set --secret agentpod:cloudflareDnsToken --stack prod",
      "Pulumi.prod.yaml agentpod:openaiApiKey: is a secret but is stored in plain text: pulumi config set --secret agentpod:openaiApiKey --stack prod",
    ]);
  });

  it("DNS-01 (one wildcard per zone) is the default and needs the scoped Cloudflare token; HTTP-01 is chosen explicitly and not behind Cloudflare's proxy", () => {
    const noToken = { ...PROD_VALUES, cloudflareDnsToken: undefined };
    const withoutToken = (values: Record<string, string | undefined>) => ({ stack: "prod", values: { ...noToken, ...values }, secretsSet: new Set(PROD_SECRETS.filter((k) => k !== "cloudflareDnsToken")) });
    expect(problems(withoutToken({}))).toEqual([
      "Pulumi.prod.yaml agentpod:cloudflareDnsToken: is required for Let's Encrypt DNS-01 (agentpod:acmeChallenge dns-01, the default): a Cloudflare token with Zone:DNS:Edit on the zone only: pulumi config set --secret agentpod:cloudflareDnsToken --stack prod" +
        " (or, for a fleet that stays well under 50 tenants per registered domain with unproxied records: pulumi config set agentpod:acmeChallenge http-01 --stack prod)",
    ]);
    expect(parseSettings(withoutToken({ acmeChallenge: "http-01" }))).toMatchObject({ acmeChallenge: "http-01" });
    expect(parseSettings(prod({}))).toMatchObject({ acmeChallenge: "dns-01" });
    expect(problems(prod({ acmeChallenge: "http-01", dnsProxied: "true" }))).toEqual([
      "Pulumi.prod.yaml agentpod:acmeChallenge: http-01 cannot pass through Cloudflare's proxy (dnsProxied is true): use dns-01",
    ]);
    expect(problems(prod({ acmeChallenge: "tls-alpn-01" }))).toEqual([
      'Pulumi.prod.yaml agentpod:acmeChallenge: must be dns-01 (one wildcard per zone, the default) or http-01 (one certificate per tenant), not "tls-alpn-01"',
    ]);
  });

  it("refuses SSH open to the whole internet", () => {
    expect(problems(prod({ adminCidrs: JSON.stringify(["203.0.113.0/24", "0.0.0.0/0", "::/0"]) }))).toEqual([
      "Pulumi.prod.yaml agentpod:adminCidrs[1]: opens SSH to the whole internet: list your office or VPN ranges instead",
      "Pulumi.prod.yaml agentpod:adminCidrs[2]: opens SSH to the whole internet: list your office or VPN ranges instead",
    ]);
  });

  it("refuses an unknown key, with a did-you-mean", () => {
    expect(problems(prod({ adminCidr: "203.0.113.0/24" }))).toEqual(['Pulumi.prod.yaml agentpod:adminCidr: unknown setting for target hetzner. Did you mean "adminCidrs"?']);
    expect(problems({ stack: "local", values: { target: "local", htppPort: "8080", zone: "agents.example.com" }, secretsSet: new Set() })).toEqual([
      'Pulumi.local.yaml agentpod:htppPort: unknown setting for target local. Did you mean "httpPort"?',
      "Pulumi.local.yaml agentpod:zone: unknown setting for target local.",
    ]);
  });

  it("points at the line of the key when the stack file has it", () => {
    const stackFile = [
      "# Stack prod",
      "config:",
      "  agentpod:target: hetzner",
      "  agentpod:cloudflareZoneId: 0123456789ABCDEF",
      "  agentpod:zonee: agents.example.com",
      "  agentpod:traefikImage: traefik:latest",
      "  agentpod:deployPrivateKey: -----BEGIN OPENSSH PRIVATE KEY-----",
    ].join("\n");
    const values = { cloudflareZoneId: "0123456789ABCDEF", zonee: "agents.example.com", traefikImage: "traefik:latest", deployPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" };
    expect(problems(prod(values, ["anthropicApiKey", "backupAccessKeyId", "backupSecretAccessKey", "cloudflareDnsToken"], stackFile))).toEqual([
      'Pulumi.prod.yaml:5 agentpod:zonee: unknown setting for target hetzner. Did you mean "zone"?',
      "Pulumi.prod.yaml:7 agentpod:deployPrivateKey: is a secret but is stored in plain text: pulumi config set --secret agentpod:deployPrivateKey --stack prod",
      expect.stringMatching(/^Pulumi\.prod\.yaml:6 agentpod:traefikImage: tag "latest" moves/),
      "Pulumi.prod.yaml:4 agentpod:cloudflareZoneId: must be the 32 hex digit zone id shown in the Cloudflare dashboard",
    ]);
  });

  it("formats all problems in one error message", () => {
    const error = (() => {
      try {
        parseSettings({ stack: "prod", values: { target: "hetzner" }, secretsSet: new Set() });
        return undefined;
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/^stack configuration has 11 problems; nothing was changed:\n {2}Pulumi\.prod\.yaml agentpod:zone: is required/);
    expect(error?.message.split("\n").filter((l) => l.startsWith("  Pulumi.prod.yaml "))).toHaveLength(11);
  });

  it("validates the backup settings, each problem naming its setting; a local stack needs none of them", () => {
    expect(problems(prod({ backupEndpoint: "hel1.example.com", backupBucket: "Backups_1", backupInterval: "5", backupKeepDaily: "-1", backupImage: "backup:latest" }))).toEqual([
      'Pulumi.prod.yaml agentpod:backupEndpoint: "hel1.example.com" is not an endpoint URL such as https://hel1.your-objectstorage.com',
      'Pulumi.prod.yaml agentpod:backupBucket: "Backups_1" is not an S3 bucket name (3-63 lowercase letters, digits, dots and dashes)',
      'Pulumi.prod.yaml agentpod:backupInterval: "5" is not an interval of at least a minute such as 30m, 1h or 1d: pulumi config set agentpod:backupInterval 1h --stack prod',
      'Pulumi.prod.yaml agentpod:backupKeepDaily: must be a whole number of snapshots to keep (0-1000), not "-1"',
      expect.stringMatching(/^Pulumi\.prod\.yaml agentpod:backupImage: tag "latest" moves/),
    ]);
    expect(problems(prod({ backupAccessKeyId: "AKIA", backupSecretAccessKey: "s" }, ["deployPrivateKey", "anthropicApiKey", "cloudflareDnsToken"]))).toEqual([
      "Pulumi.prod.yaml agentpod:backupAccessKeyId: is a secret but is stored in plain text: pulumi config set --secret agentpod:backupAccessKeyId --stack prod",
      "Pulumi.prod.yaml agentpod:backupSecretAccessKey: is a secret but is stored in plain text: pulumi config set --secret agentpod:backupSecretAccessKey --stack prod",
    ]);
    const local = parseSettings({ stack: "local", values: { target: "local", backupInterval: "30m", backupKeepWeekly: "0" }, secretsSet: new Set() });
    expect(local.backup.schedule).toEqual({ intervalSeconds: 1800, keepLast: 10, keepHourly: 24, keepDaily: 7, keepWeekly: 0 });
  });

  it("refuses any /0 in adminCidrs, typos such as 10.0.0.0/0 included (the policy pack checks the firewall again)", () => {
    expect(() => parseSettings(prod({ adminCidrs: JSON.stringify(["10.0.0.0/0"]) }))).toThrow(/adminCidrs\[0\]: opens SSH to the whole internet/);
  });

  it("reads the tenants' own model keys (names only, never a value) and the token rotations, on both targets", () => {
    const keys = JSON.stringify({ umbrella: "sk-umbrella-secret", acme: "sk-acme-secret" });
    const rotations = JSON.stringify({ acme: "2026-12-02T04:00:00.000Z" });
    const parsed = parseSettings(prod({ tenantModelKeys: keys, tokenRotations: rotations }, [...PROD_SECRETS, "tenantModelKeys"]));
    expect(parsed).toMatchObject({ tenantModelKeys: ["acme", "umbrella"], tokenRotations: { acme: "2026-12-02T04:00:00.000Z" } });
    expect(JSON.stringify(parsed)).not.toContain("-secret");
    const local = parseSettings({ stack: "local", values: { target: "local", tenantModelKeys: keys, tokenRotations: rotations }, secretsSet: new Set(["tenantModelKeys"]) });
    expect(local).toMatchObject({ tenantModelKeys: ["acme", "umbrella"], tokenRotations: { acme: "2026-12-02T04:00:00.000Z" } });
  });

  it("refuses tenant model keys stored in plain text, or malformed, without repeating a value", () => {
    const keys = JSON.stringify({ acme: "sk-acme-secret" });
    // The whole map in plain text: the generic refusal, with the command of the map.
    expect(problems(prod({ tenantModelKeys: keys }))).toEqual([
      "Pulumi.prod.yaml agentpod:tenantModelKeys: is a secret but is stored in plain text: pulumi config set --secret agentpod:tenantModelKeys --stack prod",
    ]);
    // One entry in plain text beside a secure one (the map is then a secret as a whole): found in the stack file.
    const stackFile = ["config:", "  agentpod:tenantModelKeys:", "    acme:", "      secure: v1:abc", "    globex: sk-globex-plain", ""].join("\n");
    const mixed = JSON.stringify({ acme: "sk-acme-secret", globex: "sk-globex-plain" });
    const messages = problems(prod({ tenantModelKeys: mixed }, [...PROD_SECRETS, "tenantModelKeys"], stackFile));
    expect(messages).toEqual([
      "Pulumi.prod.yaml agentpod:tenantModelKeys.globex: is stored in plain text in Pulumi.prod.yaml: set it again as a secret (pulumi config set --secret --path 'agentpod:tenantModelKeys.globex' --stack prod), then rotate that key: it has been readable",
    ]);
    // The whole map as one encrypted value, and entries set one by one with --secret --path: accepted.
    const whole = ["config:", "  agentpod:tenantModelKeys:", "    secure: v1:abc", ""].join("\n");
    expect(parseSettings(prod({ tenantModelKeys: keys }, [...PROD_SECRETS, "tenantModelKeys"], whole))).toMatchObject({ tenantModelKeys: ["acme"] });
    const each = ["config:", "  agentpod:tenantModelKeys:", "    acme:", "      secure: v1:abc", ""].join("\n");
    expect(parseSettings(prod({ tenantModelKeys: keys }, [...PROD_SECRETS, "tenantModelKeys"], each))).toMatchObject({ tenantModelKeys: ["acme"] });
    // Malformed: not a map, or an empty key.
    const secrets = [...PROD_SECRETS, "tenantModelKeys"];
    expect(problems(prod({ tenantModelKeys: '"sk-plain-string"' }, secrets))).toEqual([
      "Pulumi.prod.yaml agentpod:tenantModelKeys: must map tenant names to their model keys, one secret per tenant: pulumi config set --secret --path 'agentpod:tenantModelKeys.<tenant>' --stack prod",
    ]);
    expect(problems(prod({ tenantModelKeys: JSON.stringify({ acme: " ", globex: 42 }) }, secrets))).toEqual([
      "Pulumi.prod.yaml agentpod:tenantModelKeys.acme: must be the tenant's model API key, a non-empty string: pulumi config set --secret --path 'agentpod:tenantModelKeys.acme' --stack prod",
      "Pulumi.prod.yaml agentpod:tenantModelKeys.globex: must be the tenant's model API key, a non-empty string: pulumi config set --secret --path 'agentpod:tenantModelKeys.globex' --stack prod",
    ]);
    for (const message of messages) expect(message).not.toContain("sk-");
  });

  it("refuses malformed token rotations with the command that writes them", () => {
    for (const bad of ["[1]", JSON.stringify({ acme: 3 }), JSON.stringify({ acme: "" }), "not json"]) {
      expect(problems(prod({ tokenRotations: bad }))).toEqual([
        "Pulumi.prod.yaml agentpod:tokenRotations: must map tenant names to a rotation value (a timestamp), as `agentpod tenant rotate-token <tenant> --stack prod` writes it",
      ]);
    }
  });
});
