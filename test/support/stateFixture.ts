/**
 * A real stack's exported state (`pulumi stack export`, secrets as ciphertext) trimmed into a test fixture: the
 * structure the engine wrote (URNs with their type chains, parents, providers, dependencies, protection) without the
 * bulk (resource inputs and outputs, which hold scripts, certificates and, encrypted, the secrets) and without anything
 * of this machine. The docker providers keep their inputs (they are what a tenant stack's copy must match), and the
 * root keeps its public outputs (target, tenants, hosts: who runs where, as `agentpod migrate` reads it).
 */
import * as path from "node:path";
import { CACHE_DIR } from "../../cli/engine";

export const SINGLE_STACK_FIXTURE = path.resolve(__dirname, "..", "fixtures", "engine", "single-stack-local.json");

/** The marker the engine writes on a secret value in a checkpoint. */
const SECRET_SIGNATURE = ["4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"] as const;
const KEPT_FIELDS = ["urn", "custom", "id", "type", "parent", "provider", "dependencies", "propertyDependencies", "protect", "retainOnDelete", "deletedWith", "aliases", "delete", "pendingReplacement"];
const PUBLIC_ROOT_OUTPUTS = ["target", "tenants", "hosts"];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every secret value replaced by a marked placeholder, every machine path by a name. */
function scrub(value: Json, paths: ReadonlyArray<[string, string]>): Json {
  if (typeof value === "string") return paths.reduce((text, [from, to]) => text.split(from).join(to), value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, paths));
  if (value && typeof value === "object") {
    if (value[SECRET_SIGNATURE[0]] === SECRET_SIGNATURE[1]) return { [SECRET_SIGNATURE[0]]: SECRET_SIGNATURE[1], ciphertext: "(removed)" };
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, paths)]));
  }
  return value;
}

export function trimmedState(exported: { version: number; deployment: { resources?: Array<Record<string, Json>> } }, options: { projectDir: string }): Json {
  const paths: Array<[string, string]> = [
    [options.projectDir, "<project>"],
    [CACHE_DIR, "<cache>"],
  ];
  const resources = (exported.deployment.resources ?? []).map((r) => {
    const kept: Record<string, Json> = Object.fromEntries(KEPT_FIELDS.filter((k) => r[k] !== undefined).map((k) => [k, r[k]!]));
    const type = String(r.type);
    if (type.startsWith("pulumi:providers:")) {
      kept.inputs = r.inputs ?? {};
      kept.outputs = r.outputs ?? {};
    } else if (type === "pulumi:pulumi:Stack") {
      const outputs = (r.outputs ?? {}) as Record<string, Json>;
      kept.outputs = Object.fromEntries(PUBLIC_ROOT_OUTPUTS.filter((k) => outputs[k] !== undefined).map((k) => [k, outputs[k]!]));
    }
    return scrub(kept, paths);
  });
  return { version: exported.version, deployment: { manifest: { time: "(trimmed)", magic: "", version: "" }, resources } };
}
