/**
 * Runs the AgentPod program on the real Pulumi engine through the Automation API, with the program inline: the
 * engine needs no Node.js language host binary, and the operator CLI, the end-to-end tests and the benchmarks all
 * drive the very same code path.
 */
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const CACHE_DIR = process.env.AGENTPOD_CACHE ?? path.join(homedir(), ".cache", "agentpod");
/** Passphrase of the local stack's secrets provider; the local stack only, never prod. */
export const LOCAL_PASSPHRASE = "agentpod-local";

/**
 * Environment the engine runs with: our CLI and Node.js first on PATH, and for `local` a file backend in the project.
 * `stack` is the fleet's stack: its part stacks (cli/fleetStacks.ts) share its backend and passphrase.
 */
export function engineEnvironment(stack: string, projectDir: string): Record<string, string> {
  const env: Record<string, string> = {
    // policy/bin: the analyzer plugin that runs a Node.js policy pack (`--policy-pack`) without a language host.
    PATH: [path.join(CACHE_DIR, "bin"), path.dirname(process.execPath), path.join(projectDir, "node_modules", ".bin"), path.join(projectDir, "node_modules", "@pulumi", "pulumi"), path.join(PROJECT_DIR, "policy", "bin"), process.env.PATH ?? ""].join(path.delimiter),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION ?? "true",
  };
  if (stack === "local" || stack.startsWith("local-")) {
    const stateDir = path.join(projectDir, ".pulumi-state");
    mkdirSync(stateDir, { recursive: true });
    env.PULUMI_BACKEND_URL = process.env.PULUMI_BACKEND_URL ?? `file://${stateDir}`;
    env.PULUMI_CONFIG_PASSPHRASE = process.env.PULUMI_CONFIG_PASSPHRASE ?? LOCAL_PASSPHRASE;
  }
  return env;
}

export interface Step {
  op: OpType;
  urn: string;
  type: string;
  /** Logical name (last URN segment). */
  name: string;
  diffs: string[];
  replaceKeys: string[];
  /** The `name` input (the Docker object's name), when the resource has one. */
  dockerName?: string;
}

/** Collects the engine's resource steps (the data `pulumi preview --json` shows) from the event stream. */
export function stepCollector(): { steps: Step[]; onEvent: (event: EngineEvent) => void } {
  const steps: Step[] = [];
  const onEvent = (event: EngineEvent) => {
    const metadata = event.resourcePreEvent?.metadata;
    if (!metadata || metadata.type === "pulumi:pulumi:Stack") return;
    steps.push({
      op: metadata.op,
      urn: metadata.urn,
      type: metadata.type,
      name: metadata.urn.split("::").pop()!,
      diffs: metadata.diffs ?? [],
      replaceKeys: metadata.keys ?? [],
      ...(typeof (metadata.old ?? metadata.new)?.inputs?.name === "string" ? { dockerName: (metadata.old ?? metadata.new)!.inputs.name as string } : {}),
    });
  };
  return { steps, onEvent };
}

/** Steps that change something. */
export const changes = <S extends Pick<Step, "op">>(steps: readonly S[]): S[] => steps.filter((s) => s.op !== "same" && s.op !== "read");

/**
 * The data claims a preview without host access could not check on the hosts: providers/tenantData.ts probes the host
 * of a tenant's new claim at preview (does a directory of that name hold data the stack does not own?), unless the
 * run adopts it or a move brought it. Collected from the engine's events, like the steps.
 */
export function uncheckedClaimsCollector(): { unchecked: Array<{ tenant: string; host: string }>; onEvent: (event: EngineEvent) => void } {
  const unchecked: Array<{ tenant: string; host: string }> = [];
  const onEvent = (event: EngineEvent) => {
    const metadata = event.resourcePreEvent?.metadata;
    if (metadata?.type !== "pulumi-nodejs:dynamic/agentpod:TenantDataDirectory" || metadata.op !== "create") return;
    const inputs = metadata.new?.inputs ?? {};
    if (inputs.adopt === true || (typeof inputs.movedFrom === "string" && inputs.movedFrom !== "")) return;
    unchecked.push({ tenant: String(inputs.tenant), host: String(inputs.host) });
  };
  return { unchecked, onEvent };
}
