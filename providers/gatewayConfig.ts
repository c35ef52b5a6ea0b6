import * as pulumi from "@pulumi/pulumi";
import { removeGatewayConfigScript, writeGatewayConfigScript } from "../fleet/hostScripts";
import { tenantHostFileProvider, type TenantHostFileArgs } from "./tenantHostFile";

/** `content` is the config's text (fleet/gateway.ts renderGatewayConfig), kept as a secret in the state. */
export type GatewayConfigFileArgs = TenantHostFileArgs;

/**
 * A tenant's gateway config on its host, mounted read-only into the gateway (whose root is read-only, so nothing can
 * be uploaded into it). A change rewrites the file in place; the container is replaced by its config digest label
 * (components/tenantGateway.ts), the one container input that follows the content. Delete removes the file, after
 * the container.
 */
const configProvider = tenantHostFileProvider({ what: "gateway config", write: writeGatewayConfigScript, remove: removeGatewayConfigScript });

export class GatewayConfigFile extends pulumi.dynamic.Resource {
  /** The config's text. Secret in the state, whatever the input was. */
  declare readonly content: pulumi.Output<string>;

  constructor(name: string, args: GatewayConfigFileArgs, opts?: pulumi.CustomResourceOptions) {
    super(configProvider, name, { ...args, content: pulumi.secret(args.content) }, { ...opts, additionalSecretOutputs: ["content"] }, "agentpod", "GatewayConfigFile");
  }
}
