/**
 * `agentpod summary`: what a change to tenants.yaml does, tenant by tenant, comparing the file at a Git base ref
 * with the working tree. Both sides are validated and resolved as the stack does (fleet/validate.ts), and the two
 * fleets are compared by fleet/summary.ts; `--markdown` is what the pull-request comment shows above the Pulumi diff.
 */
import { EMPTY_FLEET, renderSummaryMarkdown, renderSummaryText, summarizeFleetChanges } from "../fleet/summary";
import { TenantsSource } from "../fleet/source";
import { planFleet, type FleetPlan } from "../fleet/plan";
import { tenantsFileSchema } from "../fleet/schema";
import { checkTenantsFile, type ValidateOptions } from "../fleet/validate";
import { defaultBase, fileAtCommit, locateInRepository, resolveCommit } from "./git";
import { CommandError, UsageError, parseCommand, readTenantsFile, runCommand, tenantsFileRef, validateOptions, type Handler } from "./shared";

export const SUMMARY_USAGE = `agentpod summary [--base <ref>] [--file tenants.yaml] [--zone Z] [--markdown]

Says what a change to tenants.yaml does, tenant by tenant: tenants.yaml at a Git ref compared with the working tree,
both resolved as the stack resolves them (defaults and plans applied), so reordering or commenting is no change.
  + acme: new, pro on fsn1-a
  ~ foo: plan basic -> pro (container restarts, data kept)
  - bar: removed, data volume retained
  ! baz: moves fsn1-a -> fsn1-b, data migration required (apply with \`agentpod tenant move baz fsn1-b\`)
  risk: 1 container restarts, 1 data migration, 0 data deleted

  --base <ref>     Git ref to compare with (default: origin/main, or main when there is no origin/main).
                   When the file does not exist at the ref, every tenant is new.
  --file <path>    the tenants file (default: ./tenants.yaml)
  --zone <zone>    DNS zone for default domains and the zone check (default: from the project's Pulumi.<stack>.yaml
                   that uses this file; "agents.localhost" when there is none)
  --markdown       print Markdown for a pull-request comment

Exit status: 0 (with or without changes); 1 when the working tree's file has problems (they are listed, as
\`agentpod up\` lists them) or Git fails; 2 on bad usage or a --base that names no commit.`;

/** The base side of the comparison: validated; when it has problems, resolved as far as the schema allows. */
function resolveBase(text: string, options: ValidateOptions): { fleet: FleetPlan; problems: number } {
  const result = checkTenantsFile(text, options);
  if (result.fleet) return { fleet: result.fleet, problems: 0 };
  const source = new TenantsSource(options.file, text);
  const parsed = source.syntaxIssues().length === 0 ? tenantsFileSchema.safeParse(source.data()) : undefined;
  if (!parsed?.success) throw new CommandError(`${options.file} cannot be compared with: it has ${result.issues.length === 1 ? "1 problem" : `${result.issues.length} problems`}:`, result.issues);
  return { fleet: planFleet(parsed.data, options), problems: result.issues.length };
}

export const summaryCommand: Handler = (args) =>
  runCommand(SUMMARY_USAGE, () => {
    const parsed = parseCommand(args, { base: { type: "string", short: "b" }, file: { type: "string", short: "f" }, zone: { type: "string" }, markdown: { type: "boolean" } }, SUMMARY_USAGE);
    if (!parsed) return 0;
    const v = parsed.values as { base?: string; file?: string; zone?: string; markdown?: boolean };
    const ref = tenantsFileRef(v.file);
    const options = validateOptions(ref, v.zone);

    // The working tree first: an invalid file is what the author must fix, whatever the base holds.
    const current = checkTenantsFile(readTenantsFile(ref), options);
    if (!current.fleet) {
      throw new CommandError(`${ref.display} has ${current.issues.length === 1 ? "1 problem" : `${current.issues.length} problems`}; nothing was changed:`, current.issues);
    }

    const { root, pathInRepo } = locateInRepository(ref.path);
    const base = v.base ?? defaultBase(root);
    if (base === undefined) throw new UsageError("no base to compare with: there is no origin/main or main; pass --base <ref>");
    const commit = resolveCommit(base, root);
    if (commit === undefined) throw new UsageError(`--base "${base}" names no commit in ${root} (in CI, fetch the base branch, e.g. fetch-depth: 0)`);

    const baseText = fileAtCommit(commit, pathInRepo, root);
    let before: FleetPlan = EMPTY_FLEET;
    if (baseText === undefined) {
      console.error(`note: ${base} has no ${pathInRepo}: every tenant is new`);
    } else {
      const resolved = resolveBase(baseText, { ...options, file: `${base}:${pathInRepo}` });
      if (resolved.problems > 0) console.error(`warning: ${pathInRepo} at ${base} has ${resolved.problems === 1 ? "1 problem" : `${resolved.problems} problems`}; compared as far as it resolves`);
      before = resolved.fleet;
    }

    const summary = summarizeFleetChanges(before, current.fleet);
    process.stdout.write(v.markdown ? renderSummaryMarkdown(summary, { base, file: pathInRepo }) : renderSummaryText(summary));
    return 0;
  });
