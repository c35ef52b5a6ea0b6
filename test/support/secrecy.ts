/**
 * What "never in plain text" means under mocks: a Pulumi secret travels to the engine wrapped in an object carrying
 * the secret signature, and the state stores it encrypted. These helpers show registered inputs and program outputs
 * as the state, the engine's logs and `pulumi stack output` show them: every secret as "[secret]".
 */
import * as pulumi from "@pulumi/pulumi";

export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Registered inputs with every secret replaced by "[secret]": what the state and the engine's logs show in plain text. */
export const withoutSecrets = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value && typeof value === "object") {
    if (SECRET_SIG in value) return "[secret]";
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecrets(v)]));
  }
  return value;
};

/** The program's outputs as `pulumi stack output` shows them in plain text: secret Outputs as "[secret]". */
export async function plainOutputs(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    if (await pulumi.isSecret(value)) return "[secret]";
    return plainOutputs(await new Promise((resolve) => value.apply(resolve)));
  }
  if (Array.isArray(value)) return Promise.all(value.map(plainOutputs));
  if (value && typeof value === "object") return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await plainOutputs(v)])));
  return value;
}
