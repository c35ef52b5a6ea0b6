/**
 * Stack settings (Pulumi config under `agentpod:`), validated as plain data before any resource is registered.
 * Errors name the stack file, the line where the key is (when it is there) and what to run instead.
 */
import { parse as parseYaml } from "yaml";
import { MODEL_PROVIDERS, type ModelProvider } from "./catalog";
import { didYouMean } from "./didYouMean";
import { DEFAULT_BACKUP_INTERVAL, DEFAULT_RETENTION, parseInterval, type BackupSchedule } from "./backup";
import { imagePinProblem } from "./images";
import { DEFAULT_SERVER_IMAGE } from "./localServers";
import { DEFAULT_FLEET, FLEET_PATTERN } from "./naming";

export type Target = "local" | "hetzner";

interface CommonSettings {
  readonly stack: string;
  /** Path of the tenants file, relative to the project. */
  readonly tenantsFile: string;
  readonly traefikImage: string;
  /** Tenants whose own model key is set (`agentpod:tenantModelKeys.<tenant>`, a secret). Only the names: never the values. */
  readonly tenantModelKeys: readonly string[];
  /**
   * Per tenant, the value that rotates its gateway token when it changes (`agentpod:tokenRotations.<tenant>`, set by
   * `agentpod tenant rotate-token`). Absent: never rotated.
   */
  readonly tokenRotations: Readonly<Record<string, string>>;
  readonly backup: BackupSettings;
}

/**
 * Where and how often tenants are backed up (fleet/backup.ts). Secrets (S3 keys, the fleet key) are not here: they
 * are read as Pulumi secrets by the program (stack/program.ts).
 */
export interface BackupSettings {
  /** S3 endpoint URL, e.g. https://fsn1.your-objectstorage.com (a location other than the hosts'). */
  readonly endpoint: string;
  readonly bucket: string;
  readonly schedule: BackupSchedule;
  /** Image of the per-host backup container (restic, sqlite3). */
  readonly image: string;
}

export const DEFAULT_LOCAL_BACKUP_ENDPOINT = "http://agentpod-s3:7070";
export const DEFAULT_LOCAL_BACKUP_BUCKET = "agentpod-backups";
export const DEFAULT_BACKUP_IMAGE = "agentpod/backup:1";
const BACKUP_KEYS = ["backupEndpoint", "backupBucket", "backupInterval", "backupKeepLast", "backupKeepHourly", "backupKeepDaily", "backupKeepWeekly", "backupImage"];

export interface LocalSettings extends CommonSettings {
  readonly target: "local";
  /** Prefix of Docker object names, so a second local fleet (the end-to-end tests) can share the engine. */
  readonly fleet: string;
  /** Port where each host's Traefik answers HTTP on the host's own loopback address; it redirects to httpsPort. */
  readonly httpPort: number;
  /** Port of HTTPS on the same address: https://<tenant>.agents.localhost:<port>, certificates from the local ACME server. */
  readonly httpsPort: number;
  /** This machine's Docker engine, which runs the local servers. */
  readonly dockerHost: string;
  /** Loopback address of each host, where overridden; the others derive theirs from their name (fleet/localServers.ts). */
  readonly hostAddresses: Readonly<Record<string, string>>;
  /** Image of the local servers (Docker-in-Docker). */
  readonly serverImage: string;
}

export interface HetznerSettings extends CommonSettings {
  readonly target: "hetzner";
  /** Cloudflare zone that holds the tenants' records, e.g. "agents.example.com". */
  readonly zone: string;
  readonly cloudflareZoneId: string;
  /** OpenSSH public keys allowed to log in as root. */
  readonly adminSshKeys: readonly string[];
  /** CIDRs from which port 22 is open. */
  readonly adminCidrs: readonly string[];
  readonly acmeEmail: string;
  /**
   * How Let's Encrypt checks the names: "dns-01" (default) issues one wildcard per zone on each host through
   * Cloudflare, so the fleet can grow past Let's Encrypt's 50 certificates per registered domain a week; "http-01"
   * issues one certificate per tenant (fine for fleets that stay well under that, with unproxied records).
   */
  readonly acmeChallenge: "dns-01" | "http-01";
  /** Proxy the records through Cloudflare (needs DNS-01). */
  readonly dnsProxied: boolean;
  readonly serverImage: string;
}

export type StackSettings = LocalSettings | HetznerSettings;

export interface SettingsIssue {
  readonly file: string;
  readonly line?: number;
  readonly key: string;
  readonly message: string;
}

export class SettingsError extends Error {
  constructor(readonly issues: readonly SettingsIssue[]) {
    super(
      `stack configuration has ${issues.length === 1 ? "1 problem" : `${issues.length} problems`}; nothing was changed:\n` +
        issues.map((i) => `  ${i.file}${i.line ? `:${i.line}` : ""} ${i.key}: ${i.message}`).join("\n"),
    );
    this.name = "SettingsError";
  }
}

/** What the settings are read from: plain values (JSON for lists and maps) and which secrets are set. */
export interface ConfigValues {
  readonly stack: string;
  readonly values: Readonly<Record<string, string | undefined>>;
  readonly secretsSet: ReadonlySet<string>;
  /** Text of Pulumi.<stack>.yaml, to point errors at a line. */
  readonly stackFileText?: string;
}

export const NAMESPACE = "agentpod";
const KNOWN_KEYS: Record<Target, readonly string[]> = {
  local: ["target", "tenantsFile", "traefikImage", "httpPort", "httpsPort", "dockerHost", "hostAddresses", "serverImage", "fleet", "tokenRotations", ...BACKUP_KEYS],
  hetzner: ["target", "tenantsFile", "traefikImage", "zone", "cloudflareZoneId", "adminSshKeys", "adminCidrs", "acmeEmail", "acmeChallenge", "dnsProxied", "serverImage", "cloudflareDnsToken", "deployPrivateKey", "tokenRotations", ...BACKUP_KEYS],
};
/** Backup secrets: the object store's keys and (optional: generated otherwise) the fleet key restic encrypts with. */
export const BACKUP_SECRET_KEYS = ["backupAccessKeyId", "backupSecretAccessKey", "backupPassword"] as const;
const SECRET_KEYS = new Set(["cloudflareDnsToken", "deployPrivateKey", "tenantModelKeys", ...BACKUP_SECRET_KEYS, ...Object.values(MODEL_PROVIDERS).map((p) => p.configKey)]);

export const DEFAULT_TRAEFIK_IMAGE = "traefik:v3.7.15";
export const DEFAULT_LOCAL_TRAEFIK_IMAGE = "agentpod/traefik:v3.7.15";

export function parseSettings(input: ConfigValues): StackSettings {
  const file = `Pulumi.${input.stack}.yaml`;
  const issues: SettingsIssue[] = [];
  const lineOf = (key: string) => {
    const index = input.stackFileText?.split("\n").findIndex((line) => line.trimStart().startsWith(`${NAMESPACE}:${key}:`));
    return index === undefined || index < 0 ? undefined : index + 1;
  };
  const problem = (key: string, message: string) => issues.push({ file, key: `${NAMESPACE}:${key}`, message, ...(lineOf(key) ? { line: lineOf(key)! } : {}) });
  const value = (key: string) => input.values[key];
  const required = (key: string, example: string, note?: string) => {
    const v = value(key);
    if (v === undefined || v === "") problem(key, `is required: pulumi config set ${NAMESPACE}:${key} ${example} --stack ${input.stack}${note ? ` (${note})` : ""}`);
    return v ?? "";
  };
  const list = (key: string, example: string): string[] => {
    const raw = value(key);
    if (raw === undefined) {
      problem(key, `is required, a list: pulumi config set --path '${NAMESPACE}:${key}[0]' ${example} --stack ${input.stack}`);
      return [];
    }
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((x) => typeof x === "string")) return parsed as string[];
    } catch {
      /* reported below */
    }
    problem(key, `must be a non-empty list of strings: pulumi config set --path '${NAMESPACE}:${key}[0]' ${example} --stack ${input.stack}`);
    return [];
  };

  const target = value("target");
  if (target !== "local" && target !== "hetzner") {
    problem("target", `must be "local" or "hetzner"${target ? `, not "${target}"` : ""}: pulumi config set ${NAMESPACE}:target local --stack ${input.stack}`);
    throw new SettingsError(issues);
  }
  for (const key of Object.keys(input.values)) {
    if (!KNOWN_KEYS[target].includes(key) && !SECRET_KEYS.has(key)) {
      problem(key, `unknown setting for target ${target}.${didYouMean(key, [...KNOWN_KEYS[target], ...SECRET_KEYS])}`);
    }
  }
  for (const key of SECRET_KEYS) {
    if (input.values[key] !== undefined && !input.secretsSet.has(key)) {
      problem(key, `is a secret but is stored in plain text: pulumi config set --secret ${NAMESPACE}:${key} --stack ${input.stack}`);
    }
  }
  const tenantModelKeys = tenantKeyNames(input, problem);
  const tokenRotations = rotations(input, problem);
  const tenantsFile = value("tenantsFile") ?? "tenants.yaml";
  const traefikImage = value("traefikImage") ?? (target === "local" ? DEFAULT_LOCAL_TRAEFIK_IMAGE : DEFAULT_TRAEFIK_IMAGE);
  const imageProblem = imagePinProblem(traefikImage, false, "");
  if (imageProblem) problem("traefikImage", imageProblem);

  if (target === "local") {
    const port = (key: string, fallback: string) => {
      const text = value(key) ?? fallback;
      const number = Number(text);
      if (!Number.isInteger(number) || number < 1 || number > 65535) problem(key, `must be a TCP port (1-65535), not "${text}"`);
      return number;
    };
    const httpPort = port("httpPort", "8080");
    const httpsPort = port("httpsPort", "8443");
    if (httpsPort === httpPort) problem("httpsPort", `must differ from httpPort (${httpPort}): HTTP only redirects to it`);
    let hostAddresses: Record<string, string> = {};
    const addressesText = value("hostAddresses");
    if (addressesText !== undefined) {
      try {
        const parsed: unknown = JSON.parse(addressesText);
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === "string")) throw new Error();
        hostAddresses = parsed as Record<string, string>;
      } catch {
        problem("hostAddresses", `must map host names to loopback addresses: pulumi config set --path '${NAMESPACE}:hostAddresses.local-b' 127.77.0.2`);
      }
    }
    for (const [host, address] of Object.entries(hostAddresses)) {
      const octets = address.split(".");
      if (octets.length !== 4 || octets[0] !== "127" || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) {
        problem(`hostAddresses.${host}`, `"${address}" is not a loopback address (127.x.y.z): local servers listen on loopback only`);
      }
    }
    const dockerHost = value("dockerHost") ?? "unix:///var/run/docker.sock";
    const fleet = value("fleet") ?? DEFAULT_FLEET;
    if (!FLEET_PATTERN.test(fleet)) problem("fleet", `"${fleet}" must be 1-16 lowercase letters and digits, starting with a letter (it prefixes Docker names)`);
    if (!/^(unix|tcp|ssh):\/\/\S+$/.test(dockerHost)) problem("dockerHost", `"${dockerHost}" is not a Docker endpoint (unix://, tcp:// or ssh://)`);
    const serverImage = value("serverImage") ?? DEFAULT_SERVER_IMAGE;
    const backup = parseBackupSettings(target, value, problem, input);
    if (issues.length > 0) throw new SettingsError(issues);
    return { target, stack: input.stack, tenantsFile, traefikImage, tenantModelKeys, tokenRotations, fleet, httpPort, httpsPort, dockerHost, hostAddresses, serverImage, backup };
  }

  const zone = required("zone", "agents.example.com").toLowerCase();
  if (zone && !/^([a-z0-9-]+\.)+[a-z]{2,}$/.test(zone)) problem("zone", `"${zone}" is not a DNS zone name`);
  const cloudflareZoneId = required("cloudflareZoneId", "ZONE_ID", "ZONE_ID: the 32 hex digit id on the zone's overview page in Cloudflare");
  if (cloudflareZoneId && !/^[0-9a-f]{32}$/.test(cloudflareZoneId)) problem("cloudflareZoneId", "must be the 32 hex digit zone id shown in the Cloudflare dashboard");
  const adminSshKeys = list("adminSshKeys", "'ssh-ed25519 AAAA... ops@example.com'");
  adminSshKeys.forEach((key, i) => {
    if (!/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/.test(key)) problem(`adminSshKeys[${i}]`, "is not an OpenSSH public key (ssh-ed25519 AAAA... comment)");
  });
  const adminCidrs = list("adminCidrs", "203.0.113.0/24");
  adminCidrs.forEach((cidr, i) => {
    if (!isCidr(cidr)) problem(`adminCidrs[${i}]`, `"${cidr}" is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32`);
    else if (cidr.endsWith("/0")) problem(`adminCidrs[${i}]`, "opens SSH to the whole internet: list your office or VPN ranges instead");
  });
  const acmeEmail = required("acmeEmail", "ops@example.com");
  if (acmeEmail && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(acmeEmail)) problem("acmeEmail", `"${acmeEmail}" is not an email address`);
  const dnsProxiedText = value("dnsProxied") ?? "false";
  if (dnsProxiedText !== "true" && dnsProxiedText !== "false") problem("dnsProxied", "must be true or false");
  const dnsProxied = dnsProxiedText === "true";
  const acmeChallenge = value("acmeChallenge") ?? "dns-01";
  if (acmeChallenge !== "dns-01" && acmeChallenge !== "http-01") problem("acmeChallenge", `must be dns-01 (one wildcard per zone, the default) or http-01 (one certificate per tenant), not "${acmeChallenge}"`);
  else if (acmeChallenge === "http-01" && dnsProxied) problem("acmeChallenge", "http-01 cannot pass through Cloudflare's proxy (dnsProxied is true): use dns-01");
  // A value stored in plain text is already reported above: "is required" would contradict it.
  if (acmeChallenge === "dns-01" && !input.secretsSet.has("cloudflareDnsToken") && value("cloudflareDnsToken") === undefined) {
    problem(
      "cloudflareDnsToken",
      `is required for Let's Encrypt DNS-01 (agentpod:acmeChallenge dns-01, the default): a Cloudflare token with Zone:DNS:Edit on the zone only: pulumi config set --secret ${NAMESPACE}:cloudflareDnsToken --stack ${input.stack}` +
        ` (or, for a fleet that stays well under 50 tenants per registered domain with unproxied records: pulumi config set ${NAMESPACE}:acmeChallenge http-01 --stack ${input.stack})`,
    );
  }
  if (!input.secretsSet.has("deployPrivateKey") && value("deployPrivateKey") === undefined) {
    problem("deployPrivateKey", `is required (the SSH key AgentPod deploys with): cat deploy_key | pulumi config set --secret ${NAMESPACE}:deployPrivateKey --stack ${input.stack}`);
  }
  const serverImage = value("serverImage") ?? "ubuntu-24.04";
  const backup = parseBackupSettings(target, value, problem, input);
  if (issues.length > 0) throw new SettingsError(issues);
  return { target, stack: input.stack, tenantsFile, traefikImage, tenantModelKeys, tokenRotations, zone, cloudflareZoneId, adminSshKeys, adminCidrs, acmeEmail, acmeChallenge: acmeChallenge === "http-01" ? "http-01" : "dns-01", dnsProxied, serverImage, backup };
}

type Problem = (key: string, message: string) => void;

/**
 * `agentpod:tenantModelKeys`: a map of tenant names to keys, every entry a secret. Returns the names only; no
 * message ever repeats a value. An entry the stack file holds in plain text is refused even when another entry made
 * the map as a whole a secret (the file is committed to Git).
 */
function tenantKeyNames(input: ConfigValues, problem: Problem): string[] {
  const raw = input.values.tenantModelKeys;
  if (raw === undefined) return [];
  const how = (tenant = "<tenant>") => `pulumi config set --secret --path '${NAMESPACE}:tenantModelKeys.${tenant}' --stack ${input.stack}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    problem("tenantModelKeys", `must map tenant names to their model keys, one secret per tenant: ${how()}`);
    return [];
  }
  const names: string[] = [];
  for (const [tenant, key] of Object.entries(parsed)) {
    if (typeof key !== "string" || key.trim() === "") problem(`tenantModelKeys.${tenant}`, `must be the tenant's model API key, a non-empty string: ${how(tenant)}`);
    else names.push(tenant);
  }
  // A map stored entirely in plain text is reported once, above ("is a secret but is stored in plain text").
  for (const tenant of input.secretsSet.has("tenantModelKeys") ? plainEntries(input.stackFileText, "tenantModelKeys") : []) {
    problem(`tenantModelKeys.${tenant}`, `is stored in plain text in Pulumi.${input.stack}.yaml: set it again as a secret (${how(tenant)}), then rotate that key: it has been readable`);
  }
  return names.sort();
}

/** Entries of a map setting that the stack file holds without `secure:`. */
function plainEntries(stackFileText: string | undefined, key: string): string[] {
  if (stackFileText === undefined) return [];
  let config: unknown;
  try {
    config = (parseYaml(stackFileText) as { config?: unknown } | null)?.config;
  } catch {
    return [];
  }
  const map = config && typeof config === "object" ? (config as Record<string, unknown>)[`${NAMESPACE}:${key}`] : undefined;
  if (!map || typeof map !== "object" || Array.isArray(map)) return [];
  const isSecure = (v: unknown) => !!v && typeof v === "object" && typeof (v as { secure?: unknown }).secure === "string";
  // The whole map encrypted as one value (`pulumi config set --secret` of its JSON): nothing in plain text.
  if (isSecure(map) && Object.keys(map).length === 1) return [];
  return Object.entries(map as Record<string, unknown>)
    .filter(([, v]) => !isSecure(v))
    .map(([tenant]) => tenant);
}

/** `agentpod:tokenRotations`: tenant names to the value of their last rotation (`agentpod tenant rotate-token`). */
function rotations(input: ConfigValues, problem: Problem): Record<string, string> {
  const raw = input.values.tokenRotations;
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const ok = parsed && typeof parsed === "object" && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === "string" && v !== "");
  if (!ok) {
    problem("tokenRotations", `must map tenant names to a rotation value (a timestamp), as \`agentpod tenant rotate-token <tenant> --stack ${input.stack}\` writes it`);
    return {};
  }
  return parsed as Record<string, string>;
}

/**
 * Backup settings. Local stacks default to the S3 server set-up starts (scripts/setup/s3.sh); production must name
 * its object store (in another location than its hosts) and give its keys as secrets. The fleet key is generated
 * and kept in the state as a secret unless agentpod:backupPassword is set.
 */
function parseBackupSettings(
  target: Target,
  value: (key: string) => string | undefined,
  problem: (key: string, message: string) => void,
  input: ConfigValues,
): BackupSettings {
  const local = target === "local";
  const set = (key: string, example: string) => `pulumi config set ${NAMESPACE}:${key} ${example} --stack ${input.stack}`;
  const endpoint = value("backupEndpoint") ?? (local ? DEFAULT_LOCAL_BACKUP_ENDPOINT : "");
  if (!endpoint) problem("backupEndpoint", `is required (the S3 endpoint backups go to, in another location than the hosts): ${set("backupEndpoint", "https://hel1.your-objectstorage.com")}`);
  else if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/.test(endpoint)) problem("backupEndpoint", `"${endpoint}" is not an endpoint URL such as https://hel1.your-objectstorage.com`);
  const bucket = value("backupBucket") ?? (local ? DEFAULT_LOCAL_BACKUP_BUCKET : "");
  if (!bucket) problem("backupBucket", `is required (the bucket backups go to): ${set("backupBucket", "agentpod-backups")}`);
  else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problem("backupBucket", `"${bucket}" is not an S3 bucket name (3-63 lowercase letters, digits, dots and dashes)`);
  if (!local) {
    for (const key of ["backupAccessKeyId", "backupSecretAccessKey"]) {
      if (!input.secretsSet.has(key) && value(key) === undefined) problem(key, `is required (the object store's credentials): pulumi config set --secret ${NAMESPACE}:${key} --stack ${input.stack}`);
    }
  }
  const intervalText = value("backupInterval") ?? DEFAULT_BACKUP_INTERVAL;
  const intervalSeconds = parseInterval(intervalText);
  if (intervalSeconds === undefined) problem("backupInterval", `"${intervalText}" is not an interval of at least a minute such as 30m, 1h or 1d: ${set("backupInterval", "1h")}`);
  const count = (key: string, fallback: number) => {
    const text = value(key);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 1000) problem(key, `must be a whole number of snapshots to keep (0-1000), not "${text}"`);
    return n;
  };
  const schedule = {
    intervalSeconds: intervalSeconds ?? 3600,
    keepLast: count("backupKeepLast", DEFAULT_RETENTION.keepLast),
    keepHourly: count("backupKeepHourly", DEFAULT_RETENTION.keepHourly),
    keepDaily: count("backupKeepDaily", DEFAULT_RETENTION.keepDaily),
    keepWeekly: count("backupKeepWeekly", DEFAULT_RETENTION.keepWeekly),
  };
  if (schedule.keepLast + schedule.keepHourly + schedule.keepDaily + schedule.keepWeekly === 0) problem("backupKeepDaily", "retention keeps no snapshot at all: keep at least one (e.g. backupKeepDaily 7)");
  const image = value("backupImage") ?? DEFAULT_BACKUP_IMAGE;
  const imageProblem = imagePinProblem(image, false, "");
  if (imageProblem) problem("backupImage", imageProblem);
  return { endpoint, bucket, schedule, image };
}

/** Model providers whose key is set, for the tenants that use them. */
export function modelKeyConfigKey(provider: ModelProvider): string {
  return MODEL_PROVIDERS[provider].configKey;
}

function isCidr(text: string): boolean {
  const [address, bits, ...rest] = text.split("/");
  if (rest.length > 0 || address === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  if (address.includes(":")) return Number(bits) <= 128 && /^[0-9a-f:]+$/i.test(address);
  const octets = address.split(".");
  return Number(bits) <= 32 && octets.length === 4 && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}
