import * as pulumi from "@pulumi/pulumi";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { NAMESPACE, parseSettings, type StackSettings } from "../fleet/settings";

// The SDK knows which config values are secrets but does not type the accessor.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

/** Reads and validates this stack's `agentpod:` settings. Throws SettingsError listing every problem. */
export function readStackSettings(projectDir: string): StackSettings {
  const stack = pulumi.getStack();
  const prefix = `${NAMESPACE}:`;
  const values: Record<string, string> = {};
  const secretsSet = new Set<string>();
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    values[key] = value;
    if (isConfigSecret(fullKey)) secretsSet.add(key);
  }
  const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
  return parseSettings({ stack, values, secretsSet, ...(existsSync(stackFile) ? { stackFileText: readFileSync(stackFile, "utf8") } : {}) });
}

/** A secret from `agentpod:` config, or undefined when it is not set. */
export function secretSetting(key: string): pulumi.Output<string> | undefined {
  return new pulumi.Config(NAMESPACE).getSecret(key);
}
