import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerHost } from "./dockerHost";

export interface LocalDockerHostArgs {
  /** Docker endpoint. Default unix:///var/run/docker.sock. A second engine on its own socket stands for a second server. */
  readonly endpoint?: string;
}

/** A host of the local target: an existing Docker engine on this machine. Nothing is provisioned. */
export class LocalDockerHost extends pulumi.ComponentResource implements DockerHost {
  readonly hostName: string;
  readonly provider: docker.Provider;
  readonly dockerHost: string;

  constructor(name: string, args: LocalDockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentpod:index:LocalDockerHost", name, {}, opts);
    this.hostName = name;
    this.dockerHost = args.endpoint ?? "unix:///var/run/docker.sock";
    this.provider = new docker.Provider(`${name}-docker`, { host: this.dockerHost }, { parent: this });
    this.registerOutputs({ dockerHost: this.dockerHost });
  }
}
