/**
 * Builds a fleet in the layout before AgentPod 0.2: one stack holding everything, from the whole-fleet program
 * (stack/program.ts `agentpodProgram`), through the Automation API on the real engine. Run by test/e2e/migrate.test.ts
 * under tsx, as bin/agentpod runs the CLI (the program's dynamic providers are serialized from plain modules):
 *
 *   tsx test/support/wholeFleetUp.ts <project dir> <stack>
 */
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { CACHE_DIR, engineEnvironment } from "../../cli/engine";
import { agentpodProgram } from "../../stack/program";

async function main(projectDir: string, stackName: string): Promise<void> {
  const env = engineEnvironment(stackName, projectDir);
  process.env.PATH = env.PATH;
  const pulumiCommand = await PulumiCommand.get({ root: CACHE_DIR, skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName, projectName: "agentpod", program: () => agentpodProgram({ projectDir }) },
    { workDir: projectDir, envVars: env, pulumiCommand },
  );
  const result = await stack.up({ onOutput: (chunk) => void process.stdout.write(chunk) });
  console.log(`\nwhole-fleet stack ${stackName}: ${result.summary.result}`);
}

const [projectDir, stackName] = process.argv.slice(2);
if (!projectDir || !stackName) {
  console.error("usage: tsx test/support/wholeFleetUp.ts <project dir> <stack>");
  process.exit(2);
}
main(projectDir, stackName).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
