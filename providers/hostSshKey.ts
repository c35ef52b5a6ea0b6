import * as pulumi from "@pulumi/pulumi";
import { openSshPublicKey } from "../fleet/sshHostKeys";

export interface HostSshKeyArgs {
  /** Change this value to make a new key (a server with the old one is then refused until it is rebuilt). Default "". */
  rotation?: pulumi.Input<string>;
}

interface KeyInputs {
  rotation: string;
}

/**
 * A host's SSH host key pair, generated once and kept in the state: the private key (a secret) goes to the server
 * through cloud-init, the public key pins every SSH connection to it (fleet/sshHostKeys.ts). It outlives the server,
 * so a rebuilt host (`agentpod host replace`) gets the same key and nothing has to learn a new one.
 */
/** A new host key pair: the private key as sshd reads it (PEM), the public key as an OpenSSH line. */
export function generateHostKeyPair(): { privateKeyPem: string; publicKey: string } {
  const { generateKeyPairSync } = require("node:crypto") as typeof import("node:crypto");
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKeyPem: privateKey.export({ type: "sec1", format: "pem" }).toString(), publicKey: openSshPublicKey(publicKey.export({ format: "jwk" })) };
}

const hostKeyProvider: pulumi.dynamic.ResourceProvider<KeyInputs> = {
  async create(inputs) {
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    return { id: randomUUID(), outs: { rotation: inputs.rotation, ...generateHostKeyPair() } };
  },
  async diff(_id, olds, news) {
    const changed = olds.rotation !== news.rotation;
    return { changes: changed, replaces: changed ? ["rotation"] : [] };
  },
};

export class HostSshKey extends pulumi.dynamic.Resource {
  /** PEM ("BEGIN EC PRIVATE KEY"), as OpenSSH's sshd reads it. Secret. */
  declare readonly privateKeyPem: pulumi.Output<string>;
  /** "ecdsa-sha2-nistp256 AAAA...". */
  declare readonly publicKey: pulumi.Output<string>;

  constructor(name: string, args: HostSshKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(hostKeyProvider, name, { rotation: args.rotation ?? "", privateKeyPem: undefined, publicKey: undefined }, { ...opts, additionalSecretOutputs: ["privateKeyPem"] }, "agentpod", "HostSshKey");
  }
}
