import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { renderTenantsJsonSchema, tenantsJsonSchema } from "../../fleet/jsonSchema";

test("the committed tenants.schema.json matches the zod schema (run `npm run schema` after changing fleet/schema.ts)", () => {
  expect(readFileSync("tenants.schema.json", "utf8")).toBe(renderTenantsJsonSchema());
});

test("the JSON Schema refuses unknown keys and documents every tenant field", () => {
  const schema = tenantsJsonSchema() as any;
  const tenant = schema.properties.tenants.items;
  expect(tenant.additionalProperties).toBe(false);
  expect(tenant.required).toEqual(["name", "host"]);
  for (const field of ["name", "host", "plan", "domain", "image", "modelProvider", "allowMovingTag"]) {
    expect(tenant.properties[field].description, field).toMatch(/\w/);
  }
});
