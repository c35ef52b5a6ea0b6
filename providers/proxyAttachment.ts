import * as pulumi from "@pulumi/pulumi";
import { docker } from "./dockerCli";

export interface ProxyAttachmentArgs {
  /** Docker endpoint of the host, as given to its Docker provider. */
  dockerHost: pulumi.Input<string>;
  /** The host's pinned SSH public key, for an ssh:// dockerHost ("" for a local engine). */
  hostKey?: pulumi.Input<string>;
  /** Network to join (the tenant's). */
  network: pulumi.Input<string>;
  /** Name of the container that joins (the host's proxy). */
  container: pulumi.Input<string>;
  /** Id of that container: when the proxy is recreated, the attachment is made again. */
  containerId: pulumi.Input<string>;
}

interface AttachmentInputs {
  dockerHost: string;
  hostKey?: string;
  network: string;
  container: string;
  containerId: string;
}

/**
 * Connects the proxy to a tenant's network with `docker network connect`, a live operation. Keeping the proxy's
 * networks out of its container resource is what lets tenants come and go without recreating or restarting it.
 */
const attachmentProvider: pulumi.dynamic.ResourceProvider<AttachmentInputs> = {
  async create(inputs) {
    try {
      await docker(inputs.dockerHost, ["network", "connect", inputs.network, inputs.container], inputs.hostKey);
    } catch (error) {
      if (!/already exists|already attached/i.test(String(error))) throw error;
    }
    return { id: `${inputs.network}/${inputs.container}`, outs: inputs };
  },
  async diff(_id, olds, news) {
    const replaces = (["dockerHost", "network", "container", "containerId"] as const).filter((key) => olds[key] !== news[key]);
    // Same network and container names on both sides: the old attachment must go before the new one is made.
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
  },
  async delete(_id, olds) {
    try {
      await docker(olds.dockerHost, ["network", "disconnect", "--force", olds.network, olds.container], olds.hostKey);
    } catch (error) {
      if (!/not connected|no such (container|network)|not found/i.test(String(error))) throw error;
    }
  },
};

export class ProxyAttachment extends pulumi.dynamic.Resource {
  constructor(name: string, args: ProxyAttachmentArgs, opts?: pulumi.CustomResourceOptions) {
    super(attachmentProvider, name, args, opts, "agentpod", "ProxyAttachment");
  }
}
