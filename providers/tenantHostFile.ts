import * as pulumi from "@pulumi/pulumi";
import { describeShell, runOnHost, type HostShell } from "./hostShell";

/** Inputs of a file a tenant has on its host's own disk (its proxy route, its gateway config). */
export interface TenantHostFileArgs {
  tenant: string;
  /** The host's root shell (fleet/hostScripts.ts scripts run through it). */
  shell: pulumi.Input<HostShell>;
  /**
   * The host's Docker endpoint. Not used to write the file: it marks the file as living on the server (its disk),
   * so `agentpod host replace` forgets it with the server's containers and the new server gets it again.
   */
  dockerHost: pulumi.Input<string>;
  /** The file's text. */
  content: pulumi.Input<string>;
}

interface FileInputs {
  tenant: string;
  shell: HostShell;
  dockerHost: string;
  content: string;
}

/** What one kind of tenant file is called in messages, and the fleet/hostScripts.ts scripts that write and remove it. */
export interface TenantHostFileKind {
  readonly what: string;
  /** Writes the file from stdin, atomically. */
  readonly write: (tenant: string) => string;
  readonly remove: (tenant: string) => string;
}

/**
 * The provider of one kind of tenant file on its host. A change of content rewrites it in place; another host (a
 * move) is another file: the new one is written, then the old one removed. Errors carry the script's stderr only,
 * never the content.
 */
export function tenantHostFileProvider(kind: TenantHostFileKind): pulumi.dynamic.ResourceProvider<FileInputs> {
  async function write(inputs: FileInputs): Promise<void> {
    const result = await runOnHost(inputs.shell, kind.write(inputs.tenant), { input: inputs.content, timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`could not write the ${kind.what} of ${inputs.tenant} on ${describeShell(inputs.shell)}: ${result.stderr.trim()}`);
  }
  return {
    async create(inputs) {
      await write(inputs);
      return { id: `${inputs.dockerHost}/${inputs.tenant}`, outs: inputs };
    },
    async diff(_id, olds, news) {
      const replaces = (["tenant", "dockerHost"] as const).filter((key) => olds[key] !== news[key]);
      return { changes: replaces.length > 0 || olds.content !== news.content || JSON.stringify(olds.shell) !== JSON.stringify(news.shell), replaces };
    },
    async update(_id, _olds, news) {
      await write(news);
      return { outs: news };
    },
    async delete(_id, olds) {
      const result = await runOnHost(olds.shell, kind.remove(olds.tenant), { timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(`could not remove the ${kind.what} of ${olds.tenant} on ${describeShell(olds.shell)}: ${result.stderr.trim()}`);
    },
  };
}
