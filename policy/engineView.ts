/**
 * The one mandatory policy that a policy pack cannot check: every tenant data volume has `retainOnDelete`.
 *
 * The engine sends a policy pack each resource's inputs and a subset of its options (protect, ignoreChanges,
 * deleteBeforeReplace, aliases, customTimeouts, additionalSecretOutputs, parent: AnalyzerResourceOptions in
 * proto/pulumi/analyzer.proto of Pulumi v3.259.0, and PolicyResourceOptions in @pulumi/policy 1.21.0), never
 * `retainOnDelete`. A pack-side check could only guess from names. The engine does report `retainOnDelete` in its
 * own step events (StepEventStateMetadata.retainOnDelete, old and new state of every step), which is the exact
 * thing that decides whether a delete removes the volume on the host. So this check reads those events: it runs
 * inside `agentpod preview|up --policy-pack`, next to the pack, and fails the command like a mandatory policy.
 *
 * No runtime imports but this pack's policies.ts and fleet/naming.ts, which have none of their own: the CLI loads it
 * whether or not the pack's own dependencies are installed.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { isTenantDataVolume } from "../fleet/naming";
import { VOLUME } from "./policies";

export interface EngineViolation {
  policyName: string;
  enforcementLevel: "mandatory" | "warning";
  urn: string;
  message: string;
}

export const RETAINED_POLICY = "tenant-data-volume-retained";
const DELETES = new Set(["delete", "delete-replaced"]);

interface StateView {
  inputs?: Record<string, any>;
  retainOnDelete?: boolean;
}

/** The same predicate as the pack's and the components' naming (fleet/naming.ts), over a step's recorded inputs. */
function isTenantDataVolumeState(state: StateView | undefined): boolean {
  return isTenantDataVolume(state?.inputs ?? {});
}

/** Collects violations from the engine's event stream; pass `onEvent` to preview/up next to any other handler. */
export function engineViewPolicies(): { onEvent: (event: EngineEvent) => void; violations: EngineViolation[] } {
  const violations: EngineViolation[] = [];
  const seen = new Set<string>();
  const onEvent = (event: EngineEvent) => {
    const step = event.resourcePreEvent?.metadata;
    if (!step || step.type !== VOLUME) return;
    const deleting = DELETES.has(step.op);
    const state: StateView | undefined = deleting ? step.old : (step.new ?? step.old);
    if (!isTenantDataVolumeState(state) || state?.retainOnDelete === true) return;
    const key = `${step.urn}:${deleting}`;
    if (seen.has(key)) return;
    seen.add(key);
    const name = typeof state?.inputs?.name === "string" ? state.inputs.name : step.urn.split("::").pop();
    violations.push({
      policyName: RETAINED_POLICY,
      enforcementLevel: "mandatory",
      urn: step.urn,
      message: deleting
        ? `This ${step.op} would DELETE tenant data volume ${name} and the tenant's data on the host: its state has no retainOnDelete. ` +
          "Set `retainOnDelete: true` on the volume (components/tenantGateway.ts, createDataVolume) and run `up` once without removing the tenant, " +
          "so the state records it; then remove the tenant."
        : `Tenant data volume ${name} has no retainOnDelete: removing the tenant from tenants.yaml would delete its data. ` +
          "Keep `retainOnDelete: true` on it in components/tenantGateway.ts (createDataVolume).",
    });
  };
  return { onEvent, violations };
}

/** The violations in the layout of the engine's "Policies:" block. */
export function formatEngineViolations(violations: EngineViolation[]): string {
  return violations
    .map((v) => `    - [${v.enforcementLevel}]  ${v.policyName}  (${v.urn.split("::").slice(-2).map((part) => part.split("$").pop()).join(": ")})\n      ${v.message}`)
    .join("\n");
}

/**
 * Everything a policy run reports, for a command that runs the pack: the pack's own violations (the engine's
 * policy events) and this file's engine-view check. `mandatory()` is what fails the command.
 */
export function policyCollector(): { onEvent: (event: EngineEvent) => void; all: () => EngineViolation[]; mandatory: () => EngineViolation[] } {
  const engine = engineViewPolicies();
  const pack: EngineViolation[] = [];
  const onEvent = (event: EngineEvent) => {
    engine.onEvent(event);
    const p = event.policyEvent;
    if (!p) return;
    // The engine prefixes the policy's description to its message; keep the violation's own (last) line(s).
    const lines = p.message.trim().split("\n");
    pack.push({ policyName: p.policyName, enforcementLevel: p.enforcementLevel, urn: p.resourceUrn ?? "", message: lines.slice(1).join(" ") || lines[0]! });
  };
  const all = () => [...pack, ...engine.violations];
  return { onEvent, all, mandatory: () => all().filter((v) => v.enforcementLevel === "mandatory") };
}

/** The absolute path of a policy pack, or an error that says how to install it. */
export function resolvePolicyPack(dir: string): string {
  const pack = path.resolve(dir);
  if (!existsSync(path.join(pack, "PulumiPolicy.yaml"))) throw new Error(`${pack} is not a policy pack (no PulumiPolicy.yaml)`);
  if (!existsSync(path.join(pack, "node_modules", "@pulumi", "policy"))) {
    throw new Error(`the policy pack's dependencies are not installed: run \`npm ci --prefix ${path.relative(process.cwd(), pack) || "."}\``);
  }
  return pack;
}
