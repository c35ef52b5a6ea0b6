import * as pulumi from "@pulumi/pulumi";

export interface GatewayTokenArgs {
  /** Change this value (any string) to rotate the token; the tenant's container is recreated with the new one. */
  rotation?: pulumi.Input<string>;
}

interface TokenInputs {
  rotation: string;
}

/**
 * A per-tenant gateway token: 32 random bytes, hex. Generated once at create and kept in the state as a secret,
 * so it survives every later `pulumi up`. (A dynamic provider rather than @pulumi/random: it needs no provider
 * plugin binary, which matters on machines that cannot download one.)
 */
export const tokenProvider: pulumi.dynamic.ResourceProvider<TokenInputs> = {
  async create(inputs) {
    const { randomBytes, randomUUID } = require("node:crypto") as typeof import("node:crypto");
    return { id: randomUUID(), outs: { rotation: inputs.rotation, value: randomBytes(32).toString("hex") } };
  },
  async diff(_id, olds, news) {
    const changed = olds.rotation !== news.rotation;
    return { changes: changed, replaces: changed ? ["rotation"] : [] };
  },
};

export class GatewayToken extends pulumi.dynamic.Resource {
  /** The token. Secret: it never appears in plain text in the state, logs or outputs. */
  declare readonly value: pulumi.Output<string>;

  constructor(name: string, args: GatewayTokenArgs, opts?: pulumi.CustomResourceOptions) {
    super(tokenProvider, name, { rotation: args.rotation ?? "", value: undefined }, { ...opts, additionalSecretOutputs: ["value"] }, "agentpod", "GatewayToken");
  }
}
