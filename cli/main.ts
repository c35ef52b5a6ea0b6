/**
 * agentpod: the operator CLI. One file per command or command group, named after it: stack.ts (up, preview,
 * destroy, outputs), status.ts, tenant.ts (+ tenantData.ts for move --stack and purge), host.ts, backup.ts, summary.ts;
 * shared.ts holds what they share. This file is the help, the dispatch and the last-resort error printing.
 */
import { backupCommand } from "./backup";
import { caCommand } from "./ca";
import { engineErrorText } from "./engineOutput";
import { hostCommand } from "./host";
import { migrateCommand } from "./migrate";
import type { Handler } from "./shared";
import { destroyCommand, outputsCommand, previewCommand, upCommand } from "./stack";
import { statusCommand } from "./status";
import { summaryCommand } from "./summary";
import { tenantCommand } from "./tenant";

const HELP = `agentpod — isolated OpenClaw gateways from tenants.yaml

Usage: agentpod <command> [options]

Stack commands (the real Pulumi engine; default stack: local). A fleet S is a stack of its own, one per host
(S.host.<host>) and one per tenant (S.tenant.<tenant>); up and preview run only those whose inputs changed:
  up        [--stack S] [--yes] [--adopt T]   apply tenants.yaml: create, update or remove what changed
  preview   [--stack S] [--json] [--policy-pack DIR]   show what \`up\` would change; --json prints the resource steps;
                                    --policy-pack runs a policy pack (e.g. policy/) and fails on mandatory violations
  destroy   [--stack S] [--yes]     remove the fleet and its servers; the hosts' data volumes are kept (protected)
  outputs   [--stack S] [--show-secrets]   tenant URLs, hosts and plans (tokens only with --show-secrets)
  migrate   [--stack S] [--yes]     move a fleet kept in one stack (before 0.2) into a stack per host and per tenant
  status    [--stack S] [--json]    each tenant's container state and health, hosts that do not answer, retained
                                    data no tenant owns; exit 1 unless all tenants are healthy
  host      replace <host> [--restore]   recover a lost host: new server, same data volume (--restore: tenant
                                    data from the backups when the volume is lost too), its tenants back
            retire <host>           take an empty host out: server deleted, data volume kept
  backup    now [tenant | --host H]         back up now (also runs on a schedule on every host)
            list <tenant>                   the tenant's snapshots in the object store
            restore <tenant> [--snapshot ID] [--host H]   put a snapshot back; the gateway is restarted with it

tenants.yaml commands (edit or compare the file; nothing is applied):
  tenant    add|remove|set-plan|move|list   edit tenants.yaml, validated first, comments kept
            move <name> <host> --stack S     ... and carry the tenant's data to the new host, then apply
            purge <name> [--host H] --stack S   delete a removed tenant's retained data (asks first; --yes)
            dashboard <name> --stack S       a one-time link to the tenant's Control UI, for the customer
            devices <name> [list|approve <id>|revoke <id>] --stack S   browsers paired with its gateway
            rotate-token <name> [--stack S] [--yes]   a new gateway token for one tenant, applied; no other tenant changes
  summary   [--base REF] [--markdown]       what the change since REF (default origin/main) does, tenant by tenant

Local target:
  ca        [--out FILE]            the CA bundle local tenants' certificates chain to (from the local ACME server);
                                    prints its path, for NODE_EXTRA_CA_CERTS or curl --cacert

Common options: --stack S (default local), --project DIR (directory of Pulumi.yaml; default: this checkout).
Run \`agentpod <command> --help\` for the options of one command.
Exit status: 0 success, 1 failure, 2 bad usage.`;

const commands: Record<string, Handler> = {
  up: upCommand,
  preview: previewCommand,
  destroy: destroyCommand,
  outputs: outputsCommand,
  status: statusCommand,
  tenant: tenantCommand,
  host: hostCommand,
  backup: backupCommand,
  summary: summaryCommand,
  ca: caCommand,
  migrate: migrateCommand,
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
    const raw = error instanceof Error ? error.message : String(error);
    // Automation API errors wrap the CLI's whole output; its `error:` lines are the part worth reading.
    const message = engineErrorText(raw) ?? raw;
    console.error(`agentpod: ${message}`);
    process.exit(1);
  },
);
