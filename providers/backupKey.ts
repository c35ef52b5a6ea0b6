import * as pulumi from "@pulumi/pulumi";
import { tokenProvider } from "./gatewayToken";

/**
 * The fleet key: the password restic encrypts every host's backups with. 32 random bytes, generated once and kept
 * in the state as a secret (the same generator as the gateway tokens, under its own type). It has no rotation
 * input: a new key could not read the existing repository. Set agentpod:backupPassword to keep the key outside the
 * state as well (production: do, and keep a copy where the state is not).
 */
export class BackupKey extends pulumi.dynamic.Resource {
  /** The key. Secret. */
  declare readonly value: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.CustomResourceOptions) {
    super(tokenProvider, name, { rotation: "", value: undefined }, { ...opts, additionalSecretOutputs: ["value"] }, "agentpod", "BackupKey");
  }
}
