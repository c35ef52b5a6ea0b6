/**
 * What a one-tenant change costs as the fleet grows (issue #10: the fleet is a stack per host and per tenant, and
 * bin/agentpod runs only the stacks whose inputs changed, so the cost should be flat in the number of tenants).
 *
 * One fleet of stand-ins (agentpod/standin:1: one static binary that answers like a gateway, about 6 MiB resident, and
 * whose Docker health check is not a Node.js start) spread round-robin over a few local servers is grown in bulk to
 * each size (3, 50, 200 by default). After each build the fleet is left alone for 30 s, then profiled idle for 30 s:
 * the cores the machine keeps busy with no command running, and which processes they go to. Then this is timed, each
 * figure printed with the exact command behind it, the CPU that command used itself (bin/agentpod, the engine, its
 * plugins: apart from the machine's load, which the idle fleet raises) and the load average when it started:
 *   - `preview` and `up` with no change;
 *   - `preview` of one added tenant, then its `up` until it answers /healthz through its host's proxy over HTTPS;
 *   - `up` that removes that tenant again;
 * then every figure, wall time and CPU, beside its value at the smallest size. The stand-ins are enough: the question
 * is what the engine and bin/agentpod do per change, not what a gateway costs to start (bench/local.ts times real
 * gateways).
 *
 * Usage: npm run bench:scale [-- --sizes 3,50,200] [--parallel N] [--preview-only]
 *   --parallel N     stacks at once for the bulk builds only (bin/agentpod up --parallel N); timed runs use the default.
 *   --preview-only   at each size, times only `preview` (no change, and one added tenant): for the largest fleets, where
 *                    each figure is printed as soon as it is taken (a build to 1,000 takes about an hour here).
 * Run it under the e2e lock: flock /tmp/agentpod-e2e.lock npm run bench:scale
 */
import { cpus, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { hostRoom } from "../fleet/capacity";
import { MIN_PLAN_MEMORY_BYTES } from "../fleet/catalog";
import { createLocalFleet, getVia, isPortFree, localDomain, removeFleetObjects, waitFor, type LocalFleet } from "../test/support/localFleet";
import { agentpodCommand, childrenCpuMs, profileMachine, report, seconds, timed } from "./support/figures";

const FLEET = "scale";
const PORT = 18980;
const SERVER_TYPE = "ccx63";
const MIN_HOSTS = 4;
/** The smallest plan the validator accepts: 2Gi is its memory floor, 512Mi its disk floor. */
const STANDIN_PLAN = "{ cpus: 0.25, memory: 2Gi, disk: 512Mi }";
/** Stand-ins one server takes: plans are counted at their limit (fleet/capacity.ts), whatever a stand-in really uses. */
const TENANTS_PER_HOST = Math.floor(hostRoom(SERVER_TYPE)!.memoryAvailableBytes / MIN_PLAN_MEMORY_BYTES);
const ANSWER_TIMEOUT_MS = 300_000;
/** A bulk build runs hundreds of stacks: minutes per hundred tenants on a 2-core machine. */
const BUILD_TIMEOUT_MS = 3 * 60 * 60_000;
/**
 * After a build, the fleet is left alone this long before it is profiled and timed: a bulk build's last containers
 * are still starting, and its load would otherwise be charged to the first figures.
 */
const QUIET_MS = 30_000;
/** The idle fleet's profile: what the machine spends with no command running. */
const PROFILE_MS = 30_000;

/** Enough hosts for `tenants` (never fewer than MIN_HOSTS), so that the host count stays the same at every size. */
const hostsFor = (tenants: number) => Array.from({ length: Math.max(MIN_HOSTS, Math.ceil(tenants / TENANTS_PER_HOST)) }, (_, i) => `node${i + 1}`);

interface Tenant {
  name: string;
  host: string;
}

/** The fleet's first `count` tenants, round-robin over the hosts. */
const fleetOf = (count: number, hosts: readonly string[]): Tenant[] => Array.from({ length: count }, (_, i) => ({ name: `t${String(i + 1).padStart(4, "0")}`, host: hosts[i % hosts.length]! }));

const tenantsYaml = (hosts: readonly string[], tenants: readonly Tenant[]) => `
defaults:
  image: agentpod/standin:1
  plan: standin
plans:
  standin: ${STANDIN_PLAN}
hosts:
${hosts.map((h) => `  - { name: ${h}, location: fsn1, serverType: ${SERVER_TYPE} }`).join("\n")}
tenants:
${tenants.map((t) => `  - { name: ${t.name}, host: ${t.host} }`).join("\n")}
`;

function parseArgs(argv: readonly string[]) {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    if (at === -1) return undefined;
    const given = argv[at + 1];
    if (given === undefined) throw new Error(`${flag} needs a value`);
    return given;
  };
  const wholeNumber = (flag: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} ${text}: expected whole numbers from 1`);
    return n;
  };
  const sizes = (value("--sizes") ?? "3,50,200").split(",").map((s) => wholeNumber("--sizes", s));
  if (sizes.some((n, i) => i > 0 && n <= sizes[i - 1]!)) throw new Error("--sizes: give increasing sizes (the fleet only grows)");
  const parallel = value("--parallel");
  return {
    sizes,
    buildParallel: parallel === undefined ? [] : ["--parallel", String(wholeNumber("--parallel", parallel))],
    previewOnly: argv.includes("--preview-only"),
  };
}

/** bin/agentpod's own last line ("agentpod: ... is up (2 stack(s) ran: create 9)", "agentpod: no changes"). */
const summaryOf = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => line.startsWith("agentpod: "))
    .pop()
    ?.slice("agentpod: ".length) ?? "(no summary)";

interface Figure {
  what: string;
  size: number;
  ms: number;
  /** CPU the command itself used (bin/agentpod, the engine, its plugins), apart from the machine's load. */
  cpuMs: number;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const largest = options.sizes[options.sizes.length - 1]!;
  // One more than the largest size: the added tenant must fit too.
  const hosts = hostsFor(largest + 1);
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use`);
  const fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  // Stopped from outside (a long run cut short): the fleet goes, as at the end. A signal that arrives while a command
  // runs is handled once it returns, by the `finally` below.
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      removeFleetObjects(FLEET);
      fleet.dispose();
      process.exit(1);
    });
  console.log(
    `cost of a one-tenant change by fleet size (${new Date().toISOString()}, ${process.env.HOSTNAME ?? "this machine"}; shared 2-core machine: compare sizes within a run, not absolutes)\n` +
      `fleet: stand-ins (agentpod/standin:1, plan ${STANDIN_PLAN}) round-robin over ${hosts.length} local servers (${hosts.join(", ")}); project ${fleet.dir}\n`,
  );
  const figures: Figure[] = [];
  const run = (args: string[], timeoutMs?: number) => fleet.agentpod(args, { timeoutMs }).stdout;
  /** Times one bin/agentpod command and prints it; `expect` guards that the figure is what its label says. */
  const measure = async (size: number, what: string, args: string[], expect: RegExp, after?: () => Promise<unknown>) => {
    const load = loadavg()[0]!;
    const { ms, value: { cpuMs, value: stdout } } = await timed(async () => {
      const command = await childrenCpuMs(() => run(args));
      await after?.();
      return command;
    });
    const summary = summaryOf(stdout);
    if (!expect.test(summary)) throw new Error(`${what}: bin/agentpod said "${summary}", expected ${expect}`);
    figures.push({ what, size, ms, cpuMs });
    report(`${what} (${size})`, ms, `cpu ${seconds(cpuMs)}, load ${load.toFixed(1)}   ${agentpodCommand(fleet, args)}${after ? " + GET /healthz until 200" : ""}   [${summary}]`);
  };
  const answers = (tenant: Tenant) =>
    waitFor(`${tenant.name} through its host's proxy`, async () => ((await getVia(fleet.httpsPort, localDomain(tenant.name), "/healthz", fleet.address(tenant.host))).status === 200 ? true : undefined), ANSWER_TIMEOUT_MS);
  let built = 0;
  /** The last bulk build's cost per added tenant: what building a larger fleet would take. */
  let msPerBuiltTenant = 0;
  /** Grows the fleet to `size` tenants with one `up`, and checks that every tenant answers. */
  const build = async (size: number) => {
    const tenants = fleetOf(size, hosts);
    fleet.writeTenants(tenantsYaml(hosts, tenants));
    const args = ["up", "--yes", ...options.buildParallel];
    const started = new Date().toISOString().slice(11, 19);
    const { ms, value: stdout } = await timed(() => run(args, BUILD_TIMEOUT_MS));
    report(`build: ${built} -> ${size} tenants (+${size - built}, from ${started})`, ms, `${agentpodCommand(fleet, args)}   [${summaryOf(stdout)}]`);
    msPerBuiltTenant = ms / (size - built);
    if (built > 0) console.log(`${"".padEnd(52)} ${seconds(msPerBuiltTenant).padStart(9)}   per added tenant`);
    for (const tenant of tenants) await answers(tenant);
    built = size;
    await sleep(QUIET_MS);
    const idle = await profileMachine(PROFILE_MS);
    const busiest = idle.byName.slice(0, 6).map((p) => `${p.name} ${p.cores.toFixed(2)}`);
    console.log(
      `idle fleet (${size}): ${idle.busyCores.toFixed(2)} of ${cpus().length} cores busy over ${seconds(PROFILE_MS)} (/proc, after ${seconds(QUIET_MS)} of quiet): ` +
        `${busiest.join(", ")}, short-lived processes and the kernel ${idle.shortLivedCores.toFixed(2)}`,
    );
    return tenants;
  };

  try {
    for (const size of options.sizes) {
      const tenants = await build(size);
      const added: Tenant = { name: `add${size}`, host: hosts[size % hosts.length]! };
      await measure(size, "preview, no change", ["preview"], /^no changes$/);
      if (options.previewOnly) {
        fleet.writeTenants(tenantsYaml(hosts, [...tenants, added]));
        await measure(size, "preview, one tenant added", ["preview"], /^\d+ change\(s\)/);
        console.log();
        continue;
      }
      await measure(size, "up, no change", ["up", "--yes"], /no stack's inputs changed/);
      fleet.writeTenants(tenantsYaml(hosts, [...tenants, added]));
      await measure(size, "preview, one tenant added", ["preview"], /^\d+ change\(s\)/);
      await measure(size, "up, one tenant added, until it answers", ["up", "--yes"], /stack\(s\) ran/, () => answers(added));
      fleet.writeTenants(tenantsYaml(hosts, tenants));
      await measure(size, "up, that tenant removed", ["up", "--yes"], /stack\(s\) ran/);
      console.log();
    }
    printRatios(figures, options.sizes);
    const minutesTo1000 = (msPerBuiltTenant * (1000 - built)) / 60_000;
    if (built < 1000) console.log(`\nat the last build's ${seconds(msPerBuiltTenant)} per tenant, growing this fleet to 1,000 would take about ${minutesTo1000.toFixed(0)} min more`);
  } finally {
    // The servers hold every container, network and tenant disk, and the stacks' state lives in the project: removing
    // both ends the fleet. `agentpod destroy` would run every tenant's stack once more, minutes at 200, for nothing.
    removeFleetObjects(FLEET);
    fleet.dispose();
  }
}

/** Each figure at each size, and its ratio to the same figure at the smallest size: wall time, then the command's CPU. */
function printRatios(figures: readonly Figure[], sizes: readonly number[]) {
  const base = sizes[0]!;
  const column = 22;
  for (const [measure, of] of [["wall time", (f: Figure) => f.ms], ["CPU of the command", (f: Figure) => f.cpuMs]] as const) {
    console.log(`\n${measure}, ratio to the fleet of ${base}`.padEnd(45) + sizes.map((s) => `${s} tenants`.padStart(column)).join(""));
    for (const what of [...new Set(figures.map((f) => f.what))]) {
      const at = (size: number) => figures.find((f) => f.what === what && f.size === size);
      const baseMs = of(at(base)!);
      const cells = sizes.map((size) => {
        const figure = at(size);
        return (figure === undefined ? "-" : `${seconds(of(figure))} (${(of(figure) / baseMs).toFixed(2)}x)`).padStart(column);
      });
      console.log(what.padEnd(44) + cells.join(""));
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
