/**
 * The AgentPod policy pack. Run it with a preview or an update:
 *
 *   bin/agentpod preview --stack prod --policy-pack policy
 *   pulumi preview --stack prod --policy-pack policy        (with the official CLI and its Node.js language host)
 *
 * Its dependencies are its own: `npm ci --prefix policy`. The policies are in policies.ts.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("agentpod", { enforcementLevel: "mandatory", policies });
