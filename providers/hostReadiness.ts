import * as pulumi from "@pulumi/pulumi";
import { describeShell, runOnHost, type HostShell } from "./hostShell";

export interface HostReadinessArgs {
  /** The host's shell. */
  shell: pulumi.Input<HostShell>;
  /** The readiness script (fleet/cloudInit.ts renderReadinessScript). */
  script: pulumi.Input<string>;
  /** The server's id: a new server runs the gate again. */
  serverId: pulumi.Input<string>;
  /** The Docker endpoint that is ready once the script succeeds; returned as `endpoint`. */
  endpoint: pulumi.Input<string>;
}

interface ReadinessInputs {
  shell: HostShell;
  script: string;
  serverId: string;
  endpoint: string;
}

async function runGate(inputs: ReadinessInputs): Promise<void> {
  const deadline = Date.now() + 180_000;
  // The shell itself may not answer for the first moments of a new server.
  for (;;) {
    const result = await runOnHost(inputs.shell, inputs.script, { timeoutMs: 180_000 });
    if (result.code === 0) return;
    if (Date.now() > deadline) throw new Error(`host readiness failed on ${describeShell(inputs.shell)} (exit ${result.code}): ${result.stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * The readiness gate of a host: runs the readiness script on the host's shell until it succeeds (data volume
 * mounted, Docker answering) and only then yields the host's Docker endpoint. The host's Docker provider is built
 * from that output, so nothing touches a new server's engine before it answers, and a preview of a new host does
 * not try to reach an engine that does not exist yet.
 *
 * It replaces command.remote on the local target (the command provider's plugin cannot be had here) and runs the
 * same script production runs.
 */
const readinessProvider: pulumi.dynamic.ResourceProvider<ReadinessInputs> = {
  async create(inputs) {
    await runGate(inputs);
    return { id: `${inputs.serverId}/ready`, outs: inputs };
  },
  async diff(_id, olds, news) {
    const replaces = olds.serverId !== news.serverId ? ["serverId"] : [];
    const changes = replaces.length > 0 || olds.script !== news.script || olds.endpoint !== news.endpoint || JSON.stringify(olds.shell) !== JSON.stringify(news.shell);
    return { changes, replaces };
  },
  async update(_id, _olds, news) {
    await runGate(news);
    return { outs: news };
  },
};

export class HostReadiness extends pulumi.dynamic.Resource {
  declare readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: HostReadinessArgs, opts?: pulumi.CustomResourceOptions) {
    super(readinessProvider, name, args, opts, "agentpod", "HostReadiness");
  }
}
