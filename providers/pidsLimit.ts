import * as pulumi from "@pulumi/pulumi";
import { docker } from "./dockerCli";

export interface ContainerPidsLimitArgs {
  dockerHost: pulumi.Input<string>;
  /** The host's pinned SSH public key, for an ssh:// dockerHost ("" for a local engine). */
  hostKey?: pulumi.Input<string>;
  /** Container name. */
  container: pulumi.Input<string>;
  /** Container id: a recreated container gets the limit again. */
  containerId: pulumi.Input<string>;
  /** Maximum number of processes (cgroup pids.max). */
  limit: pulumi.Input<number>;
}

interface PidsInputs {
  dockerHost: string;
  hostKey?: string;
  container: string;
  containerId: string;
  limit: number;
}

/**
 * Applies a pids limit with `docker update --pids-limit`, in place and without a restart. The Docker provider has
 * no attribute for it (see notes/providers.md), and a fork bomb in one tenant must not starve the host.
 */
const pidsProvider: pulumi.dynamic.ResourceProvider<PidsInputs> = {
  async create(inputs) {
    await docker(inputs.dockerHost, ["update", "--pids-limit", String(inputs.limit), inputs.containerId], inputs.hostKey);
    return { id: `${inputs.container}/pids`, outs: inputs };
  },
  async diff(_id, olds, news) {
    const changed = (["dockerHost", "container", "containerId", "limit"] as const).some((key) => olds[key] !== news[key]);
    return { changes: changed, replaces: [] };
  },
  async update(_id, _olds, news) {
    await docker(news.dockerHost, ["update", "--pids-limit", String(news.limit), news.containerId], news.hostKey);
    return { outs: news };
  },
};

export class ContainerPidsLimit extends pulumi.dynamic.Resource {
  declare readonly limit: pulumi.Output<number>;

  constructor(name: string, args: ContainerPidsLimitArgs, opts?: pulumi.CustomResourceOptions) {
    super(pidsProvider, name, args, opts, "agentpod", "ContainerPidsLimit");
  }
}
