/**
 * AgentPod: tenants.yaml -> validate -> plan -> Hetzner hosts, Traefik, Cloudflare DNS and one OpenClaw gateway per
 * tenant. The program lives in stack/program.ts so that tests and the operator CLI can run the very same code.
 */
import { agentpodProgram } from "./stack/program";

export = agentpodProgram();
