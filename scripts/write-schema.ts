/** Writes tenants.schema.json from the zod schema (fleet/schema.ts). */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { renderTenantsJsonSchema } from "../fleet/jsonSchema";

const target = path.resolve(__dirname, "..", "tenants.schema.json");
writeFileSync(target, renderTenantsJsonSchema());
console.log(`wrote ${target}`);
