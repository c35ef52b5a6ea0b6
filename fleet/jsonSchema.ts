import { z } from "zod";
import { tenantsFileSchema } from "./schema";

/**
 * The JSON Schema editors use for completion and hover docs on tenants.yaml (yaml-language-server reads the
 * `$schema` comment at the top of the file). Generated from the zod schema so the two cannot drift; a unit test
 * fails when the committed tenants.schema.json is stale (`npm run schema` rewrites it).
 */
export function tenantsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(tenantsFileSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  return { title: "AgentPod tenants.yaml", ...schema };
}

export const renderTenantsJsonSchema = () => JSON.stringify(tenantsJsonSchema(), null, 2) + "\n";
