/**
 * Runs the AgentPod program under pulumi.runtime.setMocks and records what it registers: every resource's type,
 * name, URN, resolved inputs and the resource options that decide data safety (protect, retainOnDelete,
 * ignoreChanges, deleteBeforeReplace). Hetzner and Cloudflare cannot run here; this is how their side is tested.
 */
import * as pulumi from "@pulumi/pulumi";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parse as parseYaml } from "yaml";

export interface Registered {
  urn: string;
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** The inputs as the program declared them, before serialization: Outputs still Outputs (e.g. to ask isSecret). */
  declared: Record<string, any>;
  options: {
    protect?: boolean;
    retainOnDelete?: boolean;
    ignoreChanges?: string[];
    deleteBeforeReplace?: boolean;
    dependsOn?: string[];
    provider?: string;
    parent?: string;
  };
}

export interface FleetRun {
  resources: Registered[];
  byUrn: Map<string, Registered>;
  outputs: Record<string, any>;
  /** Milliseconds until the program returned (resources registered) and until its outputs resolved. */
  timings: { programMs: number; settledMs: number };
  /** The program's return value before resolution, to check which outputs are secret. */
  raw?: Record<string, any>;
  /** Resources whose type matches, e.g. "docker:index/container:Container". */
  ofType(type: string): Registered[];
  /** The single resource with this logical name. */
  named(name: string): Registered;
  error?: Error;
}

export const PROD_CONFIG: Record<string, string> = {
  "agentpod:target": "hetzner",
  "agentpod:zone": "agents.example.com",
  "agentpod:cloudflareZoneId": "0123456789abcdef0123456789abcdef",
  "agentpod:acmeEmail": "ops@example.com",
  "agentpod:adminSshKeys": JSON.stringify(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsKeyForTestsOnly ops@example.com"]),
  "agentpod:adminCidrs": JSON.stringify(["203.0.113.0/24"]),
  "agentpod:deployPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----",
  "agentpod:anthropicApiKey": "sk-ant-test-key",
  "agentpod:openaiApiKey": "sk-test-openai-key",
  // The documented default: a key of its own for every tenant (here those of the example tenants.yaml).
  "agentpod:tenantModelKeys": JSON.stringify(tenantKeys(["acme", "globex", "hooli", "initech", "stark", "umbrella"])),
  "agentpod:backupEndpoint": "https://hel1.your-objectstorage.com",
  "agentpod:backupBucket": "agentpod-backups",
  "agentpod:backupImage": "ghcr.io/example/agentpod-backup:1",
  "agentpod:backupAccessKeyId": "TESTACCESSKEY",
  "agentpod:backupSecretAccessKey": "test-secret-access-key",
  "hcloud:token": "hcloud-test-token",
  "cloudflare:apiToken": "cloudflare-test-token",
  // DNS-01 is the default: the token Traefik publishes TXT records with (Zone:DNS:Edit on the zone only).
  "agentpod:cloudflareDnsToken": "cloudflare-dns-test-token",
};
export const PROD_SECRETS = ["agentpod:cloudflareDnsToken", "agentpod:deployPrivateKey", "agentpod:anthropicApiKey", "agentpod:openaiApiKey", "agentpod:tenantModelKeys", "agentpod:backupAccessKeyId", "agentpod:backupSecretAccessKey", "hcloud:token", "cloudflare:apiToken"];

/** The mocked stacks' own model key of a tenant: what must never be readable outside its container's secret env. */
export function tenantKeyOf(tenant: string): string {
  return `model-key-of-${tenant}`;
}

export function tenantKeys(tenants: readonly string[]): Record<string, string> {
  return Object.fromEntries(tenants.map((t) => [t, tenantKeyOf(t)]));
}

/** PROD_CONFIG with a key of its own for every tenant the file declares, as a well-kept production stack has. */
export function prodConfigFor(tenantsYaml: string | Uint8Array): Record<string, string> {
  let names: string[] = [];
  try {
    const parsed = parseYaml(typeof tenantsYaml === "string" ? tenantsYaml : Buffer.from(tenantsYaml).toString("utf8")) as { tenants?: Array<{ name?: unknown }> } | null;
    names = (Array.isArray(parsed?.tenants) ? parsed.tenants : []).flatMap((t) => (t && typeof t.name === "string" ? [t.name] : []));
  } catch {
    /* a malformed file: its own errors are the point */
  }
  return { ...PROD_CONFIG, "agentpod:tenantModelKeys": JSON.stringify(tenantKeys(names)) };
}

export const LOCAL_CONFIG: Record<string, string> = { "agentpod:target": "local", "agentpod:httpPort": "8080" };

export interface RunOptions {
  /** The file's content; bytes are written as they are (a test may give a file that is not UTF-8). */
  tenantsYaml: string | Uint8Array;
  stack?: string;
  config?: Record<string, string>;
  secretKeys?: string[];
  /** Preview (dry run) instead of update. */
  preview?: boolean;
  /** One run's permissions, as the CLI passes them (adopt, moves, releaseServers). */
  operation?: import("../../stack/program").RunPermissions;
}

/** Docker assigns a subnet once and the state keeps it: derive it from the name so runs agree, as they would. */
function subnetOf(name: string): string {
  let hash = 0;
  for (const c of name) hash = (hash * 31 + c.charCodeAt(0)) % 250;
  return `172.30.${hash}.0/24`;
}

/**
 * Each server its own addresses, as Hetzner gives them, so a move shows in DNS records and endpoints: fsn1-a's are
 * 203.0.113.10 and 2001:db8::1, fsn1-b's 203.0.113.11 and 2001:db8::2, any other server's derived from its name.
 */
export function serverAddresses(server: string): { ipv4Address: string; ipv6Address: string } {
  const known: Record<string, number> = { "fsn1-a-server": 0, "fsn1-b-server": 1 };
  let hash = 0;
  for (const c of server) hash = (hash * 31 + c.charCodeAt(0)) % 190;
  const index = known[server] ?? 2 + hash;
  return { ipv4Address: `203.0.113.${10 + index}`, ipv6Address: `2001:db8::${(index + 1).toString(16)}` };
}

function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
  const inputs = args.inputs;
  switch (args.type) {
    case "docker:index/network:Network":
      return { ...inputs, ipamConfigs: [{ subnet: subnetOf(args.name) }] };
    case "hcloud:index/server:Server":
      return { ...inputs, ...serverAddresses(args.name) };
    case "hcloud:index/volume:Volume":
      return { ...inputs, linuxDevice: `/dev/disk/by-id/scsi-0HC_Volume_${args.name.length}` };
    case "pulumi-nodejs:dynamic/agentpod:HostReadiness":
      return { ...inputs };
    case "pulumi-nodejs:dynamic/agentpod:HostSshKey":
      // Deterministic per host, shaped like the real thing (providers/hostSshKey.ts).
      return { ...inputs, privateKeyPem: `-----BEGIN EC PRIVATE KEY-----\nprivate-of-${args.name}\n-----END EC PRIVATE KEY-----\n`, publicKey: `ecdsa-sha2-nistp256 ${Buffer.from(`public-of-${args.name}`).toString("base64")}` };
    case "pulumi-nodejs:dynamic/agentpod:GatewayToken":
      return { ...inputs, value: `token-of-${args.name}` };
    default:
      return inputs;
  }
}

/** Hetzner firewalls have numeric ids, which servers' firewallIds hold: derive one from the name so runs agree. */
function mockId(args: pulumi.runtime.MockResourceArgs): string {
  if (args.type !== "hcloud:index/firewall:Firewall") return `${args.name}-id`;
  let hash = 7;
  for (const c of args.name) hash = (hash * 31 + c.charCodeAt(0)) % 1_000_000;
  return String(1_000_000 + hash);
}

/** Runs the program once. Config, mocks and the registration spy are reset per run. */
export async function runFleet(options: RunOptions): Promise<FleetRun> {
  const projectDir = mkdtempSync(path.join(tmpdir(), "agentpod-mock-"));
  const stack = options.stack ?? "prod";
  writeFileSync(path.join(projectDir, "tenants.yaml"), options.tenantsYaml);
  return runMocked(
    async () => {
      const { agentpodProgram } = await import("../../stack/program");
      return (await agentpodProgram({ projectDir, ...(options.operation ? { operation: options.operation } : {}) })) as unknown as Record<string, any>;
    },
    { ...options, stack, ...(options.config === undefined && stack === "prod" ? { config: prodConfigFor(options.tenantsYaml) } : {}) },
  );
}

/**
 * Runs any program (the stack's, or a few components built by a test) under the same mocks and registration spy
 * as runFleet, and records the same things. Config defaults to the stack's (prod or local).
 */
export async function runMocked(
  program: () => Promise<Record<string, any> | void> | Record<string, any> | void,
  options: Pick<RunOptions, "stack" | "config" | "secretKeys" | "preview"> = {},
): Promise<FleetRun> {
  const stack = options.stack ?? "prod";
  const config = options.config ?? (stack === "prod" ? PROD_CONFIG : LOCAL_CONFIG);
  const secretKeys = options.secretKeys ?? (stack === "prod" ? PROD_SECRETS : []);

  const registered = new Map<string, Registered>();
  const optionsByName = new Map<string, Registered["options"]>();
  const declaredByName = new Map<string, Record<string, any>>();
  const resourceModule = require("@pulumi/pulumi/runtime/resource");
  const original = resourceModule.registerResource;
  resourceModule.registerResource = function (res: any, parent: any, t: string, name: string, custom: boolean, remote: boolean, newDep: any, props: any, opts: any, ...rest: any[]) {
    declaredByName.set(`${t}::${name}`, props ?? {});
    optionsByName.set(`${t}::${name}`, {
      ...(opts.protect !== undefined && { protect: opts.protect }),
      ...(opts.retainOnDelete !== undefined && { retainOnDelete: opts.retainOnDelete }),
      ...(opts.ignoreChanges !== undefined && { ignoreChanges: opts.ignoreChanges }),
      ...(opts.deleteBeforeReplace !== undefined && { deleteBeforeReplace: opts.deleteBeforeReplace }),
      ...(opts.dependsOn !== undefined && { dependsOn: [opts.dependsOn].flat().map((d: any) => d?.__name ?? String(d)) }),
      ...(opts.provider !== undefined && { provider: opts.provider.__name }),
      ...(parent?.__name !== undefined && { parent: parent.__name }),
    });
    return original.call(this, res, parent, t, name, custom, remote, newDep, props, opts, ...rest);
  };

  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = mockState(args);
        registered.set(args.name + "::" + args.type, {
          urn: `urn:pulumi:${stack}::agentpod::${args.type}::${args.name}`,
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          declared: {},
          options: {},
        });
        return { id: mockId(args), state };
      },
      call: (args) => args.inputs,
    },
    "agentpod",
    stack,
    options.preview ?? false,
  );

  let outputs: Record<string, any> = {};
  let raw: Record<string, any> | undefined;
  const timings = { programMs: 0, settledMs: 0 };
  const started = performance.now();
  let error: Error | undefined;
  try {
    const result = (await program()) ?? {};
    raw = result;
    timings.programMs = performance.now() - started;
    outputs = await new Promise((resolve) => pulumi.output(result as any).apply((v) => resolve(v as Record<string, any>)));
    timings.settledMs = performance.now() - started;
  } catch (e) {
    error = e as Error;
  } finally {
    // Also after a failure: a resource created before the program threw must still show up in `resources`.
    await new Promise((resolve) => setTimeout(resolve, 20));
    resourceModule.registerResource = original;
  }

  const resources = [...registered.values()].map((r) => ({
    ...r,
    declared: declaredByName.get(`${r.type}::${r.name}`) ?? {},
    options: optionsByName.get(`${r.type}::${r.name}`) ?? {},
  }));
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  return {
    resources,
    byUrn,
    outputs,
    timings,
    ...(raw ? { raw } : {}),
    ...(error ? { error } : {}),
    ofType: (type) => resources.filter((r) => r.type === type),
    named: (name) => {
      const found = resources.filter((r) => r.name === name);
      if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}: ${resources.map((r) => r.name).join(", ")}`);
      return found[0]!;
    },
  };
}

/** What changed between two runs, by URN: the mock-level equivalent of a preview. */
export function compareRuns(before: FleetRun, after: FleetRun) {
  const added = [...after.byUrn.keys()].filter((urn) => !before.byUrn.has(urn));
  const removed = [...before.byUrn.keys()].filter((urn) => !after.byUrn.has(urn));
  const changed: Record<string, string[]> = {};
  for (const [urn, next] of after.byUrn) {
    const previous = before.byUrn.get(urn);
    if (!previous) continue;
    const keys = [...new Set([...Object.keys(previous.inputs), ...Object.keys(next.inputs)])].filter(
      (key) => stableJson(previous.inputs[key]) !== stableJson(next.inputs[key]),
    );
    if (keys.length > 0) changed[next.name] = keys.sort();
  }
  const nameOf = (urn: string) => urn.split("::").pop()!;
  return { added: added.map(nameOf).sort(), removed: removed.map(nameOf).sort(), changed };
}

export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}
