#!/usr/bin/env node
// Diff the input properties our generated Pulumi schema declares against what the npm SDK @pulumi/docker sends,
// for the resources AgentPod uses. Property names, shapes (scalar/array/map/object) and scalar kinds must agree,
// recursively through nested object types; inputs the schema requires must be ones the SDK can send.
//
// Usage: node check-schema.mjs <schema.json> <node_modules/@pulumi/docker> [Container Network ...]
// Exit status 1 when anything differs. Works on Node >= 18, no dependencies.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [schemaPath, sdkDir, ...wanted] = process.argv.slice(2);
if (!schemaPath || !sdkDir) {
  console.error("usage: check-schema.mjs <schema.json> <path to @pulumi/docker> [Resource ...]");
  process.exit(2);
}
const resources = wanted.length ? wanted : ["Provider", "Container", "Network", "Volume", "RemoteImage"];
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));

// ---- SDK side: TypeScript declarations -------------------------------------------------------------------
// Returns {name -> {optional, type}} for `export interface <name> { ... }` in a .d.ts file.
function interfaces(file) {
  const out = {};
  let text = readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
  // Map types are printed over several lines ({\n [key: string]: T;\n }): fold them onto one line.
  for (let prev; prev !== text; ) {
    prev = text;
    text = text.replace(/\{\s*\[key: string\]:\s*([^;{}]+);\s*\}/g, "{[key: string]: $1}");
  }
  const re = /export interface (\w+) \{([\s\S]*?)\n\}/g;
  for (let m; (m = re.exec(text)); ) {
    const props = {};
    for (const line of m[2].split("\n")) {
      const p = /^\s+(\w+)(\??):\s*(.+);\s*$/.exec(line);
      if (p) props[p[1]] = { optional: p[2] === "?", type: parseTs(p[3]) };
    }
    out[m[1]] = props;
  }
  return out;
}

// Parse the small subset of TS types the generated SDK uses into {kind, elem?, ref?, scalar?}.
function parseTs(t) {
  t = t.trim().replace(/\s*\|\s*undefined$/, "").trim();
  let m;
  if ((m = /^pulumi\.Input<([\s\S]*)>$/.exec(t))) return parseTs(m[1]);
  if (t.endsWith("[]")) return { kind: "array", elem: parseTs(t.slice(0, -2)) };
  if ((m = /^\{\s*\[key: string\]:\s*([\s\S]*)\}$/.exec(t))) return { kind: "map", elem: parseTs(m[1]) };
  if ((m = /^inputs\.(\w+)$/.exec(t))) return { kind: "object", ref: m[1] };
  if (["string", "number", "boolean"].includes(t)) return { kind: "scalar", scalar: t };
  return { kind: "unknown", raw: t };
}

// ---- schema side ----------------------------------------------------------------------------------------
function fromSchema(spec) {
  if (spec.$ref) {
    const m = /^#\/types\/[^/]+\/\w+:(\w+)$/.exec(spec.$ref) || /^#\/types\/.*:(\w+)$/.exec(spec.$ref);
    return { kind: "object", ref: m ? m[1] : spec.$ref };
  }
  switch (spec.type) {
    case "array":
      return { kind: "array", elem: fromSchema(spec.items) };
    case "object":
      return { kind: "map", elem: fromSchema(spec.additionalProperties || { type: "string" }) };
    case "integer":
    case "number":
      return { kind: "scalar", scalar: "number" };
    case "string":
    case "boolean":
      return { kind: "scalar", scalar: spec.type };
    default:
      return { kind: "unknown", raw: JSON.stringify(spec) };
  }
}
function schemaObject(name) {
  for (const [tok, t] of Object.entries(schema.types || {})) {
    if (tok.endsWith(":" + name)) return t;
  }
  return undefined;
}
const show = (t) =>
  t.kind === "array" ? `${show(t.elem)}[]`
  : t.kind === "map" ? `map<${show(t.elem)}>`
  : t.kind === "object" ? `{${t.ref}}`
  : t.kind === "scalar" ? t.scalar
  : `?${t.raw}`;

// ---- compare --------------------------------------------------------------------------------------------
const sdkInputs = interfaces(join(sdkDir, "types", "input.d.ts"));
const problems = [];
const visited = new Set();

function compareType(where, sdkT, schT) {
  if (sdkT.kind !== schT.kind) {
    problems.push(`${where}: shape differs: SDK ${show(sdkT)} vs schema ${show(schT)}`);
    return;
  }
  if (sdkT.kind === "array" || sdkT.kind === "map") return compareType(where + "[]", sdkT.elem, schT.elem);
  if (sdkT.kind === "scalar" && sdkT.scalar !== schT.scalar) {
    problems.push(`${where}: scalar differs: SDK ${sdkT.scalar} vs schema ${schT.scalar}`);
  }
  if (sdkT.kind === "object") {
    if (visited.has(sdkT.ref)) return;
    visited.add(sdkT.ref);
    const sch = schemaObject(schT.ref);
    if (!sch) return problems.push(`${where}: schema has no type ${schT.ref}`);
    const sdk = sdkInputs[sdkT.ref];
    if (!sdk) return problems.push(`${where}: SDK has no input type ${sdkT.ref}`);
    compareProps(`${sdkT.ref}`, sdk, sch.properties || {}, sch.required || []);
  }
}

function compareProps(where, sdkProps, schProps, schRequired) {
  for (const [name, p] of Object.entries(sdkProps)) {
    if (!schProps[name]) {
      problems.push(`${where}.${name}: sent by the SDK, missing from the schema`);
      continue;
    }
    compareType(`${where}.${name}`, p.type, fromSchema(schProps[name]));
  }
  for (const name of Object.keys(schProps)) {
    if (!sdkProps[name]) problems.push(`${where}.${name}: in the schema, unknown to the SDK (ok if output-only)`);
  }
  for (const name of schRequired) {
    if (sdkProps[name] && sdkProps[name].optional) {
      problems.push(`${where}.${name}: required by the schema, optional in the SDK`);
    }
  }
}

let checked = 0;
for (const r of resources) {
  const file = r[0].toLowerCase() + r.slice(1);
  const args = interfaces(join(sdkDir, `${file}.d.ts`))[`${r}Args`];
  if (!args) {
    problems.push(`${r}: no ${r}Args in ${file}.d.ts`);
    continue;
  }
  let spec;
  if (r === "Provider") {
    spec = schema.provider;
  } else {
    const js = readFileSync(join(sdkDir, `${file}.js`), "utf8");
    const tok = /static __pulumiType = '([^']+)'/.exec(js)[1];
    spec = schema.resources?.[tok];
    if (!spec) {
      problems.push(`${r}: schema has no resource ${tok}`);
      continue;
    }
  }
  compareProps(r, args, spec.inputProperties || {}, spec.requiredInputs || []);
  checked++;
}

// Output-only properties appear in the schema's inputProperties only if they are inputs; the "unknown to the
// SDK" lines are informational, everything else is a mismatch.
const hard = problems.filter((p) => !p.includes("unknown to the SDK"));
for (const p of problems) console.log((p.includes("unknown to the SDK") ? "info: " : "MISMATCH: ") + p);
console.log(`checked ${checked} resource(s), ${visited.size} nested type(s): ${hard.length} mismatch(es)`);
process.exit(hard.length ? 1 : 0);
