/**
 * `agentpod ca`: the CA file a local user's clients trust for the local target's HTTPS. The local servers' Traefik
 * gets its certificates from Pebble (scripts/setup/acme.sh), whose root is not in any system store; this fetches
 * the current root from Pebble's management API, adds it to a bundle that keeps the earlier ones (Pebble makes a
 * new root when it restarts; certificates issued before still chain to the old one), and prints the bundle's path.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { LOCAL_ACME, withRoot } from "../fleet/localServers";
import { LOCAL_ACME_SERVER_CA, LOCAL_CACHE } from "../stack/program";
import { CommandError, parseCommand, runCommand, type Handler } from "./shared";

const USAGE = `Usage: agentpod ca [--out FILE]

Writes the CA bundle that the local target's certificates chain to and prints its path
(default ${"$"}AGENTPOD_CACHE/acme/roots.pem). Clients trust it through their normal mechanism:
  NODE_EXTRA_CA_CERTS="$(bin/agentpod ca)" openclaw gateway health --url wss://alpha.agents.localhost:8443 --token ...
  curl --cacert "$(bin/agentpod ca)" --resolve alpha.agents.localhost:8443:127.77.80.185 https://alpha.agents.localhost:8443/healthz
  --out FILE   also copy the bundle to FILE`;

/** Where the bundle lives; every call adds Pebble's current root to it. */
export const localCaBundlePath = () => path.join(LOCAL_CACHE(), "acme", "roots.pem");

export const caCommand: Handler = (args) =>
  runCommand(USAGE, async () => {
    const parsed = parseCommand(args, { out: { type: "string" } }, USAGE);
    if (!parsed) return 0;
    const bundlePath = localCaBundlePath();
    const updated = await refreshLocalCaBundle();
    const out = parsed.values.out;
    if (typeof out === "string") writeWhole(path.resolve(out), updated);
    console.log(typeof out === "string" ? path.resolve(out) : bundlePath);
    return 0;
  });

/** Adds Pebble's current root to the bundle (kept with the earlier ones) and returns the bundle's text. */
export async function refreshLocalCaBundle(): Promise<string> {
  const bundlePath = localCaBundlePath();
  const root = await currentRoot();
  let bundle = "";
  try {
    bundle = readFileSync(bundlePath, "utf8");
  } catch {
    /* first root */
  }
  const updated = withRoot(bundle, root);
  if (updated !== bundle) writeWhole(bundlePath, updated);
  return updated;
}

function writeWhole(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Pebble's current root, over its management API's HTTPS (signed by the CA set-up generated). */
function currentRoot(): Promise<string> {
  let ca: string;
  try {
    ca = readFileSync(LOCAL_ACME_SERVER_CA(), "utf8");
  } catch {
    throw new CommandError(`the local ACME server's CA (${LOCAL_ACME_SERVER_CA()}) is missing: run scripts/setup.sh`);
  }
  const url = `${LOCAL_ACME.management}/roots/0`;
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, timeout: 10_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () =>
        response.statusCode === 200 ? resolve(body) : reject(new CommandError(`${url} answered HTTP ${response.statusCode}: is agentpod-acme running? (scripts/setup.sh starts it)`)),
      );
    });
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", (error) => reject(new CommandError(`the local ACME server does not answer at ${url} (${error.message}): run scripts/setup.sh, which starts it`)));
  });
}
