/**
 * agentpod: the operator CLI. `up`, `preview` and `destroy` drive the real Pulumi engine on a stack (default
 * `local`); tenant commands edit tenants.yaml; `status` reads a running target.
 */
import { parseArgs } from "node:util";
import { changes, openStack, stepCollector, type Step } from "./engine";

const HELP = `agentpod — isolated OpenClaw gateways from tenants.yaml

Usage: agentpod <command> [options]

Stack commands (the real Pulumi engine; default stack: local):
  up        [--stack S] [--yes]     apply tenants.yaml: create, update or remove what changed
  preview   [--stack S] [--json]    show what \`up\` would change; --json prints the resource steps
  destroy   [--stack S] [--yes]     remove the fleet; tenant data volumes are kept (retained)
  outputs   [--stack S] [--show-secrets]   tenant URLs, hosts and plans (tokens only with --show-secrets)

Run \`agentpod <command> --help\` for the options of one command.
Exit status: 0 success, 1 failure, 2 bad usage.`;

type Handler = (args: string[]) => Promise<number>;

const stackOptions = {
  stack: { type: "string", short: "s", default: "local" },
  yes: { type: "boolean", short: "y", default: false },
  json: { type: "boolean", default: false },
  "show-secrets": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

function parseStackArgs(args: string[], usage: string) {
  const { values } = parseArgs({ args, options: stackOptions, allowPositionals: false });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}

function describeStep(step: Step): string {
  const symbol = { create: "+", update: "~", delete: "-", replace: "+-", "create-replacement": "+-", "delete-replaced": "--", same: " " }[step.op as string] ?? step.op;
  const detail = step.diffs.length ? ` [${step.diffs.join(", ")}]` : "";
  return `  ${symbol.padEnd(2)} ${step.type.padEnd(45)} ${step.name}${detail}`;
}

const commands: Record<string, Handler> = {
  async up(args) {
    const options = parseStackArgs(args, "agentpod up [--stack local] [--yes]\n  Applies tenants.yaml to the stack. Without --yes on a non-local stack, shows the preview first and asks nothing: pass --yes to apply.");
    const stack = await openStack({ stack: options.stack });
    if (options.stack !== "local" && !options.yes) {
      console.error(`agentpod: refusing to apply stack ${options.stack} without --yes (run \`agentpod preview --stack ${options.stack}\` first)`);
      return 2;
    }
    const result = await stack.up({ onOutput: (out) => process.stdout.write(out), color: "auto" });
    const summary = result.summary.resourceChanges ?? {};
    console.log(`\nagentpod: ${options.stack} is up (${Object.entries(summary).map(([op, n]) => `${op} ${n}`).join(", ")})`);
    return 0;
  },

  async preview(args) {
    const options = parseStackArgs(args, "agentpod preview [--stack local] [--json]\n  Shows what `up` would change. --json prints the steps as JSON ({steps:[{op, urn, type, name, diffs, replaceKeys}]}).");
    const stack = await openStack({ stack: options.stack });
    const { steps, onEvent } = stepCollector();
    await stack.preview({ onEvent, ...(options.json ? {} : { onOutput: (out: string) => process.stderr.write(out) }), diff: !options.json });
    if (options.json) console.log(JSON.stringify({ steps }, null, 2));
    else {
      const changed = changes(steps);
      console.log(changed.length === 0 ? "\nagentpod: no changes" : `\nagentpod: ${changed.length} change(s):\n${changed.map(describeStep).join("\n")}`);
    }
    return 0;
  },

  async destroy(args) {
    const options = parseStackArgs(args, "agentpod destroy [--stack local] [--yes]\n  Removes the fleet. Tenant data volumes are retained on their hosts and listed at the end.");
    if (options.stack !== "local" && !options.yes) {
      console.error(`agentpod: refusing to destroy stack ${options.stack} without --yes`);
      return 2;
    }
    const stack = await openStack({ stack: options.stack });
    const { steps, onEvent } = stepCollector();
    await stack.destroy({ onOutput: (out) => process.stdout.write(out), onEvent });
    const retained = steps.filter((s) => s.op === "delete" && s.type === "docker:index/volume:Volume").map((s) => s.name);
    console.log(`\nagentpod: ${options.stack} destroyed.`);
    if (retained.length) console.log(`Retained data volumes (still on their hosts, not deleted): ${retained.join(", ")}`);
    return 0;
  },

  async outputs(args) {
    const options = parseStackArgs(args, "agentpod outputs [--stack local] [--show-secrets]");
    const stack = await openStack({ stack: options.stack });
    const outputs = await stack.outputs();
    const shown = Object.fromEntries(Object.entries(outputs).map(([key, o]) => [key, o.secret && !options["show-secrets"] ? "[secret]" : o.value]));
    console.log(JSON.stringify(shown, null, 2));
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    console.log(HELP);
    return name ? 0 : 2;
  }
  const handler = commands[name];
  if (!handler) {
    console.error(`agentpod: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  return handler(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`agentpod: ${message}`);
    process.exit(1);
  },
);
