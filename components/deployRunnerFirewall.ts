import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { deployRunnerFirewallName } from "../fleet/naming";

/**
 * The fleet's deploy-runner firewall: applied to every server (HetznerHost puts it beside the host's own firewall),
 * created with no rules, and its rules are never the program's. The deploy workflow sets them through the Hetzner API
 * to its runner's address on port 22 for the length of the job and clears them after, even when the job fails
 * (.github/workflows/deploy.yml, scripts/ci/deploy-runner-access.sh). Because the rules are in ignoreChanges, a later
 * `up` shows no diff whatever the workflow left there, and the rules the program does manage (adminCidrs on each
 * host's firewall) are never touched. Hetzner combines the rules of all firewalls applied to a server: with no rules,
 * this one lets nothing in.
 */
export function deployRunnerFirewall(fleet: string, opts?: pulumi.CustomResourceOptions): hcloud.Firewall {
  return new hcloud.Firewall(
    "deploy-runner-firewall",
    { name: deployRunnerFirewallName(fleet), rules: [], labels: { agentpod: "deploy-runner" } },
    { ...opts, ignoreChanges: ["rules"] },
  );
}
