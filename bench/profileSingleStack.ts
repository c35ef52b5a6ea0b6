/**
 * Where the time of a change goes in a fleet kept in ONE stack (the layout before the split, issue #10 item 2): the
 * whole-fleet program (stack/program.ts `agentpodProgram`) on the real engine through the Automation API, as
 * cli/engine.ts ran it, on a local fleet of N stand-in tenants on one local server. For each N it prints, each figure
 * with what produced it:
 *   1. a no-change preview: wall time; CPU by process over it (our node process: inline program, SDK, Automation
 *      API; the `pulumi` engine; pulumi-resource-docker; the dynamic-provider node processes; ...), from
 *      /proc/<pid>/stat of the process tree sampled every 100 ms; then the same preview traced: the engine's
 *      OpenTelemetry spans (`--otel-traces file://`), its Go CPU profile (`--profiling`), our process's V8 profile;
 *   2. the same for an `up` that adds one tenant, with the checkpoint: the state file's size and how often the
 *      engine writes it during that up (inotifywait on the state directory);
 *   3. the program's own evaluation time: from its start to its return, and to its outputs settled.
 * Usage: flock /tmp/agentpod-e2e.lock npm run bench:profile [-- 3 50]   (sizes ascending; default 50)
 * Needs inotifywait (Debian: inotify-tools) for the checkpoint writes and Go for the engine's profile.
 */
import { LocalWorkspace, PulumiCommand, type EngineEvent, type PreviewOptions, type Stack, type UpOptions } from "@pulumi/pulumi/automation";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { CACHE_DIR, engineEnvironment } from "../cli/engine";
import { localServerObjectNames } from "../fleet/naming";
import { agentpodProgram } from "../stack/program";
import { machineTimes, procTimes, TICK_MS } from "./support/figures";
import { REPO, createLocalFleet, docker, isPortFree, removeFleetObjects, type LocalFleet } from "../test/support/localFleet";

const FLEET = "profile";
const PORT = 18880;
const HOST = "local";
const SAMPLE_INTERVAL_MS = 100;

const tenantName = (i: number) => `t${String(i).padStart(3, "0")}`;
const fleetYaml = (count: number) => `
defaults: { image: "agentpod/standin:1", plan: standin }
plans:
  standin: { cpus: 0.25, memory: 2Gi, disk: 1Gi }
hosts:
  - { name: ${HOST}, location: fsn1, serverType: ccx63 }
tenants:
${Array.from({ length: count }, (_, i) => `  - { name: ${tenantName(i + 1)}, host: ${HOST} }`).join("\n")}
`;

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const line = (what: string, value: string, how: string) => console.log(`  ${what.padEnd(62)} ${value.padStart(12)}   ${how}`);

// ---------------------------------------------------------------------------------------------------------------
// CPU by process: /proc/<pid>/stat of our process tree

/**
 * CPU time of the local server (its dockerd and everything it runs) from its container's cgroup, in ms: a reader
 * made before the measurement (the docker CLI call would count in our tree).
 */
function localServerCpuReader(): () => number | undefined {
  const id = docker(["inspect", "--format", "{{.Id}}", localServerObjectNames(FLEET, HOST).container], { allowFailure: true });
  const file = [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`].find((f) => id && existsSync(f));
  if (!file) return () => undefined;
  return () => {
    const text = readFileSync(file, "utf8");
    return file.endsWith("cpu.stat") ? Number(/usage_usec (\d+)/.exec(text)?.[1]) / 1000 : Number(text) / 1e6;
  };
}

/**
 * The sampler runs in its own process, so that walking /proc does not count as our process's CPU: every 100 ms it
 * walks the tree under `root` (through /proc/<pid>/task/<tid>/children) and keeps each pid's last utime+stime.
 */
const SAMPLER = `
const fs = require("fs");
const root = Number(process.argv[1]);
const excluded = new Set([process.pid, ...process.argv[2].split(",").filter(Boolean).map(Number)]);
const seen = new Map();
const read = (file) => { try { return fs.readFileSync(file, "utf8"); } catch { return undefined; } };
const children = (pid) => {
  let tasks = [];
  try { tasks = fs.readdirSync("/proc/" + pid + "/task"); } catch {}
  return tasks.flatMap((t) => (read("/proc/" + pid + "/task/" + t + "/children") || "").trim().split(" ").filter(Boolean).map(Number));
};
const sample = () => {
  const pending = children(root);
  while (pending.length) {
    const pid = pending.pop();
    if (excluded.has(pid)) continue;
    const stat = read("/proc/" + pid + "/stat");
    if (!stat) continue;
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    let entry = seen.get(pid);
    // A forked child shows its parent's command line until it execs: read it again when the name changes.
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!entry || entry.comm !== comm) {
      // A process already there before the run (tsx's esbuild service) counts from here on only.
      entry = { pid, ppid: Number(fields[1]), comm, cmd: (read("/proc/" + pid + "/cmdline") || "").split("\\0").filter(Boolean).join(" "), ticks: 0, base: entry ? entry.base : starting ? ticks : 0 };
      seen.set(pid, entry);
    }
    entry.ticks = ticks - entry.base;
    pending.push(...children(pid));
  }
};
let starting = true;
sample();
starting = false;
const timer = setInterval(sample, ${SAMPLE_INTERVAL_MS});
process.stdin.on("data", () => {
  clearInterval(timer);
  sample();
  process.stdout.write(JSON.stringify([...seen.values()]), () => process.exit(0));
});
`;

interface SampledProcess {
  pid: number;
  ppid: number;
  comm: string;
  cmd: string;
  ticks: number;
}

/** What a process of the tree is, for the breakdown. */
function processKind(p: SampledProcess): string {
  const program = path.basename(p.cmd.split(" ")[0] || p.comm);
  if (p.cmd.includes("pulumi-resource-pulumi-nodejs") || (p.cmd.includes(" -e ") && p.cmd.includes("dynamic-provider"))) return "dynamic providers: launcher (sh, node -e require.resolve)";
  if (p.cmd.includes("dynamic-provider")) return "dynamic providers (node @pulumi/pulumi/cmd/dynamic-provider)";
  if (program.startsWith("pulumi-resource-docker")) return "pulumi-resource-docker (Docker provider)";
  if (program === "pulumi") return / (preview|up) /.test(p.cmd) ? "pulumi (the engine)" : "pulumi stack output/history (the Automation API after an up)";
  if (program === "docker") return "docker CLI (run by the dynamic providers)";
  return `${program} (other)`;
}

interface CpuBreakdown {
  wallMs: number;
  /** CPU ms of our process and of the processes under it, by kind (each with its process count). */
  byKind: Array<{ kind: string; ms: number; processes: number }>;
  ourProcessMs: number;
  /** The whole tree, exactly: our utime+stime plus what our reaped children (and theirs) used. */
  treeMs: number;
  /** Of the tree, what no sample saw (processes shorter than a sample, the last <100 ms of each). */
  unsampledMs: number;
  machineBusyMs: number;
  machineCapacityMs: number;
  localServerMs?: number;
}

export async function withCpuBreakdown<T>(run: () => Promise<T>, excludedPids: number[] = []): Promise<{ result: T; cpu: CpuBreakdown }> {
  const tickMs = TICK_MS;
  const localServerCpuMs = localServerCpuReader();
  const sampler = spawn(process.execPath, ["-e", SAMPLER, String(process.pid), excludedPids.join(",")], { stdio: ["pipe", "pipe", "inherit"] });
  let samples = "";
  sampler.stdout.on("data", (chunk) => (samples += String(chunk)));
  const exited = new Promise<void>((resolve) => sampler.on("close", () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const [ours0, machine0, server0, started] = [procTimes("self"), machineTimes(), localServerCpuMs(), performance.now()];
  const result = await run();
  const [ours1, machine1, server1, wallMs] = [procTimes("self"), machineTimes(), localServerCpuMs(), performance.now() - started];
  sampler.stdin.write("stop\n");
  await exited;
  const processes = (JSON.parse(samples) as SampledProcess[]).filter((p) => p.pid !== sampler.pid);
  const byKind = new Map<string, { ms: number; processes: number }>();
  for (const p of processes) {
    const entry = byKind.get(processKind(p)) ?? { ms: 0, processes: 0 };
    entry.ms += p.ticks * tickMs;
    entry.processes += 1;
    byKind.set(processKind(p), entry);
  }
  const ourProcessMs = (ours1.self - ours0.self) * tickMs;
  const treeMs = ourProcessMs + (ours1.children - ours0.children) * tickMs;
  const sampledMs = [...byKind.values()].reduce((sum, k) => sum + k.ms, 0);
  const cores = readFileSync("/proc/cpuinfo", "utf8").split("\n").filter((l) => l.startsWith("processor")).length;
  return {
    result,
    cpu: {
      wallMs,
      byKind: [...byKind].map(([kind, v]) => ({ kind, ...v })).sort((a, b) => b.ms - a.ms),
      ourProcessMs,
      treeMs,
      unsampledMs: treeMs - ourProcessMs - sampledMs,
      machineBusyMs: (machine1.busy - machine0.busy) * TICK_MS,
      machineCapacityMs: (wallMs * cores),
      ...(server0 !== undefined && server1 !== undefined ? { localServerMs: server1 - server0 } : {}),
    },
  };
}

export function printCpu(cpu: CpuBreakdown, how: string) {
  const share = (ms: number) => `${((100 * ms) / cpu.treeMs).toFixed(0)} %`;
  const cores = (ms: number) => `${(ms / cpu.wallMs).toFixed(2)} cores`;
  console.log(`  CPU by process over it (${how}; /proc/<pid>/stat utime+stime, sampled every ${SAMPLE_INTERVAL_MS} ms):`);
  const rows = [{ kind: "our node process (inline program, Pulumi SDK, Automation API)", ms: cpu.ourProcessMs, processes: 1 }, ...cpu.byKind];
  for (const r of rows) line(`  ${r.kind}${r.processes > 1 ? ` x${r.processes}` : ""}`, `${seconds(r.ms)}`, `${share(r.ms).padStart(5)} of the tree, ${cores(r.ms)}`);
  line("  not seen by a sample (short-lived processes, last <100 ms)", seconds(cpu.unsampledMs), `${share(cpu.unsampledMs).padStart(5)}; exact: our cutime+cstime`);
  line("  = the whole process tree", seconds(cpu.treeMs), cores(cpu.treeMs));
  if (cpu.localServerMs !== undefined) line("  the local server (its dockerd and containers; not in the tree)", seconds(cpu.localServerMs), `its cgroup's cpuacct.usage, ${cores(cpu.localServerMs)}`);
  line("  the whole machine, busy", seconds(cpu.machineBusyMs), `/proc/stat, of ${seconds(cpu.machineCapacityMs)} (all cores over the wall time)`);
}

// ---------------------------------------------------------------------------------------------------------------
// The engine's own view: OpenTelemetry spans, its Go CPU profile, and our process's V8 profile

/** The pulumi CLI behind a wrapper that adds the profiling flags in `extra-args` to `preview` and `up`. */
export function engineWrapper(dir: string) {
  const extraArgs = path.join(dir, "extra-args");
  mkdirSync(path.join(dir, "bin"), { recursive: true });
  writeFileSync(extraArgs, "");
  const wrapper = path.join(dir, "bin", "pulumi");
  writeFileSync(
    wrapper,
    `#!/bin/sh\n# Appends the flags in ${extraArgs} to preview and up (the Automation API has no option for them).\n` +
      `case "$1" in preview|up) exec ${path.join(CACHE_DIR, "bin", "pulumi")} "$@" $(cat ${extraArgs}) ;; esac\nexec ${path.join(CACHE_DIR, "bin", "pulumi")} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  return { root: dir, setExtraArgs: (args: string[]) => writeFileSync(extraArgs, args.join(" ")) };
}

interface Span {
  name: string;
  start: bigint;
  end: bigint;
}

function readOtelSpans(file: string): Span[] {
  const spans: Span[] = [];
  for (const text of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
    const data = JSON.parse(text) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; startTimeUnixNano: string; endTimeUnixNano: string }> }> }> };
    for (const rs of data.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ name: s.name, start: BigInt(s.startTimeUnixNano), end: BigInt(s.endTimeUnixNano) });
  }
  return spans;
}

/** Wall time covered by at least one of the spans (concurrent spans count once). */
function coveredMs(spans: Span[]): number {
  const sorted = [...spans].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let covered = 0n;
  let [from, to] = [-1n, -1n];
  for (const s of sorted) {
    if (s.start > to) {
      if (to > from) covered += to - from;
      [from, to] = [s.start, s.end];
    } else if (s.end > to) to = s.end;
  }
  if (to > from) covered += to - from;
  return Number(covered) / 1e6;
}

export function printOtel(file: string, how: string) {
  if (!existsSync(file)) return console.log(`  (no OpenTelemetry trace was written to ${file})`);
  const spans = readOtelSpans(file);
  const root = spans.find((s) => s.name === "pulumi");
  const byName = new Map<string, Span[]>();
  for (const s of spans) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  console.log(`  the engine's spans (${how}; ${spans.length} spans; "covered": wall time with at least one such span open, of ${root ? seconds(Number(root.end - root.start) / 1e6) : "?"} for the command):`);
  const rows = [...byName]
    .map(([name, list]) => ({ name, count: list.length, sumMs: list.reduce((sum, s) => sum + Number(s.end - s.start) / 1e6, 0), coveredMs: coveredMs(list), firstMs: root ? Number(list[0]!.start - root.start) / 1e6 : 0 }))
    .sort((a, b) => b.coveredMs - a.coveredMs)
    .slice(0, 18);
  console.log(`    ${"span".padEnd(58)} ${"count".padStart(6)} ${"covered".padStart(9)} ${"sum".padStart(9)} ${"starts at".padStart(10)}`);
  for (const r of rows) console.log(`    ${r.name.padEnd(58)} ${String(r.count).padStart(6)} ${seconds(r.coveredMs).padStart(9)} ${seconds(r.sumMs).padStart(9)} ${seconds(r.firstMs).padStart(10)}`);
}

function goTool(): string {
  for (const candidate of ["go", "/usr/local/go/bin/go"]) if (spawnSync(candidate, ["version"]).status === 0) return candidate;
  return "";
}

/** The top of the engine's Go CPU profile (`pulumi --profiling`), by cumulative time, without the Go runtime's plumbing. */
export function printEngineProfile(prefix: string, how: string) {
  const dir = path.dirname(prefix);
  const file = readdirSync(dir).find((f) => f.startsWith(path.basename(prefix)) && f.endsWith(".cpu"));
  const go = goTool();
  if (!file || !go) return console.log(`  (no engine CPU profile: ${file ? "no Go toolchain for pprof" : "pulumi wrote none"})`);
  const out = spawnSync(go, ["tool", "pprof", "-top", "-cum", "-nodecount=60", path.join(dir, file)], { encoding: "utf8" }).stdout;
  const header = out.split("\n").find((l) => l.includes("Total samples")) ?? "";
  console.log(`  the engine's Go CPU profile (${how}; go tool pprof -top -cum ${file}): ${header.trim()}`);
  const interesting = out
    .split("\n")
    .filter((l) => /^\s+\d/.test(l) && !/runtime\.|reflect\.|sync\.|internal\/poll|syscall\.|net\.|bufio|io\.|os\.|google\.golang\.org\/grpc\.|golang\.org\/x\/net|otgrpc|otel|opentracing|ServeHTTP|http2|main\.main|cobra|cmdutil\.RunFunc/.test(l));
  for (const l of interesting.slice(0, 25)) console.log(`    ${l.trim()}`);
}

/** Our process's V8 CPU profile over a run, bucketed by where the code comes from. */
export async function withNodeProfile<T>(run: () => Promise<T>): Promise<{ result: T; buckets: Array<{ bucket: string; ms: number }> }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  const result = await run();
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  const bucketOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const { url, functionName } = node.callFrame;
    const bucket =
      url === ""
        ? functionName === "(idle)"
          ? "(idle: waiting for the engine)"
          : functionName === "(garbage collector)"
            ? "(garbage collector)"
            : functionName === "(program)"
              ? "(V8/native, no JS frame)"
              : `native ${functionName}`
        : url.includes("/@pulumi/pulumi/automation/")
          ? "@pulumi/pulumi automation (CLI process, event stream)"
          : url.includes("/@pulumi/pulumi/proto/")
            ? "@pulumi/pulumi proto (generated messages)"
            : url.includes("/@pulumi/pulumi/")
              ? `@pulumi/pulumi ${url.split("/@pulumi/pulumi/")[1]!.split("/")[0]!.replace(/\.js$/, "")}`
              : url.includes("/node_modules/")
                ? `node_modules/${url.split("/node_modules/").pop()!.split("/").slice(0, url.split("/node_modules/").pop()!.startsWith("@") ? 2 : 1).join("/")}`
                : url.startsWith("node:")
                  ? "node internals"
                  : url.startsWith(`file://${REPO}`) || url.startsWith(REPO)
                    ? "agentpod code (program, components, fleet)"
                    : "other";
    bucketOf.set(node.id, bucket);
  }
  const totals = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((id, i) => totals.set(bucketOf.get(id)!, (totals.get(bucketOf.get(id)!) ?? 0) + (deltas[i] ?? 0) / 1000));
  return { result, buckets: [...totals].map(([bucket, ms]) => ({ bucket, ms })).sort((a, b) => b.ms - a.ms) };
}

export function printNodeProfile(buckets: Array<{ bucket: string; ms: number }>, how: string) {
  const busy = buckets.filter((b) => !b.bucket.startsWith("(idle")).reduce((sum, b) => sum + b.ms, 0);
  console.log(`  our node process, V8 CPU profile (${how}; self time by where the code comes from, ${seconds(busy)} not idle):`);
  for (const b of buckets.slice(0, 12)) line(`  ${b.bucket}`, seconds(b.ms), b.bucket.startsWith("(idle") ? "" : `${((100 * b.ms) / busy).toFixed(0)} % of the busy time`);
}

// ---------------------------------------------------------------------------------------------------------------
// The checkpoint: the stack's state file, and its writes during a run

function stateFileOf(fleet: LocalFleet): string {
  const stacks = path.join(fleet.dir, ".pulumi-state", ".pulumi", "stacks");
  const candidates = [path.join(stacks, "agentpod", `${fleet.stack}.json`), path.join(stacks, `${fleet.stack}.json`)];
  const found = candidates.find(existsSync);
  if (!found) throw new Error(`no state file among ${candidates.join(", ")}`);
  return found;
}

/** What the state file holds: bytes by resource type, and how much of it is serialized dynamic-provider code. */
export function printStateComposition(file: string) {
  const state = JSON.parse(readFileSync(file, "utf8")) as { checkpoint: { latest: { resources: Array<{ type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }> } } };
  const byType = new Map<string, { count: number; bytes: number; providerCode: number }>();
  for (const r of state.checkpoint.latest.resources) {
    const entry = byType.get(r.type) ?? { count: 0, bytes: 0, providerCode: 0 };
    entry.count += 1;
    entry.bytes += JSON.stringify(r).length;
    // A dynamic resource carries its provider's serialized code as `__provider`, in its inputs and again in its outputs.
    for (const props of [r.inputs, r.outputs]) entry.providerCode += typeof props?.__provider === "string" ? props.__provider.length : 0;
    byType.set(r.type, entry);
  }
  const total = [...byType.values()].reduce((sum, e) => sum + e.bytes, 0);
  const code = [...byType.values()].reduce((sum, e) => sum + e.providerCode, 0);
  console.log(`  the state's resources: ${(total / 1024).toFixed(0)} KiB, of which serialized dynamic-provider code (__provider): ${(code / 1024).toFixed(0)} KiB (${((100 * code) / total).toFixed(0)} %)`);
  for (const [type, e] of [...byType].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 6))
    line(`  ${type} x${e.count}`, `${(e.bytes / 1024).toFixed(0)} KiB`, `__provider ${(e.providerCode / 1024).toFixed(0)} KiB, ${(e.bytes / e.count / 1024).toFixed(1)} KiB each`);
}

/** inotifywait on the state directory: every file written (closed after writing, or renamed into place). */
export function watchStateWrites(stateDir: string) {
  const watcher: ChildProcessWithoutNullStreams = spawn("inotifywait", ["-m", "-r", "-q", "-e", "close_write", "-e", "moved_to", "--format", "%w%f|%e", stateDir]);
  let output = "";
  watcher.stdout.on("data", (chunk) => (output += String(chunk)));
  const ready = new Promise<void>((resolve) => setTimeout(resolve, 500));
  return {
    pid: watcher.pid!,
    ready,
    async stop(): Promise<Map<string, number>> {
      await new Promise((resolve) => setTimeout(resolve, 300));
      watcher.kill();
      await new Promise((resolve) => watcher.on("close", resolve));
      const writes = new Map<string, number>();
      for (const entry of output.split("\n").filter(Boolean)) {
        const file = path.relative(stateDir, entry.split("|")[0]!);
        // History files carry a timestamp in their name: count them as one kind.
        // Each file is written to a temporary name (close_write) and renamed into place (moved_to): count the latter.
        if (/\.[0-9a-f]{16}(\.tmp)?$/.test(file) || file.endsWith(".attrs")) continue;
        const kind = file.replace(/\d{10,}/g, "<time>");
        writes.set(kind, (writes.get(kind) ?? 0) + 1);
      }
      return writes;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The run: the one-stack fleet on the real engine

/** When the program started, returned and had its outputs settled, and what the engine reported, within one run. */
interface RunTimeline {
  startedAt: number;
  programStartMs?: number;
  programReturnMs?: number;
  outputsSettledMs?: number;
  firstResourceEventMs?: number;
  lastResourceEventMs?: number;
  resourceEvents: number;
  ops: Record<string, number>;
  endMs?: number;
}

let timeline: RunTimeline = { startedAt: 0, resourceEvents: 0, ops: {} };
const sinceStart = () => performance.now() - timeline.startedAt;

function onEvent(event: EngineEvent) {
  const pre = event.resourcePreEvent;
  if (!pre || pre.metadata.type === "pulumi:pulumi:Stack") return;
  timeline.firstResourceEventMs ??= sinceStart();
  timeline.lastResourceEventMs = sinceStart();
  timeline.resourceEvents += 1;
  timeline.ops[pre.metadata.op] = (timeline.ops[pre.metadata.op] ?? 0) + 1;
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; timeline: RunTimeline }> {
  timeline = { startedAt: performance.now(), resourceEvents: 0, ops: {} };
  const result = await run();
  timeline.endMs = sinceStart();
  return { result, timeline };
}

/** An Output, with the SDK's internal promise (`withUnknowns`: it also settles on an unknown value). */
const isOutput = (value: unknown): value is { promise(withUnknowns: boolean): Promise<unknown> } =>
  typeof value === "object" && value !== null && typeof (value as { promise?: unknown }).promise === "function";

async function openWholeFleetStack(fleet: LocalFleet, pulumiRoot: string): Promise<Stack> {
  const env = engineEnvironment(fleet.stack, fleet.dir);
  process.env.PATH = env.PATH;
  const pulumiCommand = await PulumiCommand.get({ root: pulumiRoot, skipVersionCheck: true });
  const program = async () => {
    timeline.programStartMs = sinceStart();
    const outputs = await agentpodProgram({ projectDir: fleet.dir });
    timeline.programReturnMs = sinceStart();
    // The Output's promise with unknowns: it settles at preview too, when the engine has answered every registration
    // the outputs depend on (an apply never runs on an unknown).
    const outputValues = [outputs.gatewayTokens, ...Object.values(outputs.hosts).flatMap((h) => Object.values(h))];
    void Promise.all((outputValues as unknown[]).filter(isOutput).map((o) => o.promise(true))).then(() => (timeline.outputsSettledMs = sinceStart()));
    return outputs;
  };
  return LocalWorkspace.createOrSelectStack({ stackName: fleet.stack, projectName: "agentpod", program }, { workDir: fleet.dir, envVars: env, pulumiCommand });
}

function printTimeline(t: RunTimeline, wallMs: number) {
  console.log(`  timeline of the run (in-process marks; the program is called by the engine over gRPC):`);
  line("  engine start until it calls the program", seconds(t.programStartMs ?? NaN), "pulumi start, state read, plugins");
  line("  program: start to return (every resource declared)", seconds((t.programReturnMs ?? NaN) - (t.programStartMs ?? NaN)), "agentpodProgram()");
  line("  program: start to outputs settled", seconds((t.outputsSettledMs ?? NaN) - (t.programStartMs ?? NaN)), "Output.promise(withUnknowns) of gatewayTokens and host outputs");
  line("  first resource step event", seconds(t.firstResourceEventMs ?? NaN), "resourcePreEvent");
  line("  last resource step event", seconds(t.lastResourceEventMs ?? NaN), `${t.resourceEvents} steps: ${Object.entries(t.ops).map(([op, n]) => `${op} ${n}`).join(", ")}`);
  line("  command returns", seconds(wallMs), "");
}

interface SizeSummary {
  tenants: number;
  steps: number;
  preview: CpuBreakdown;
  previewProgramMs: number;
  up: CpuBreakdown;
  stateKiB: number;
  stateWrites: number;
}

async function profileSize(fleet: LocalFleet, count: number, nextTenant: { value: number }, work: string): Promise<SizeSummary> {
  const wrapper = engineWrapper(path.join(work, "engine"));
  const stack = await openWholeFleetStack(fleet, wrapper.root);
  const preview = (options: PreviewOptions = {}) => stack.preview({ onEvent, ...options });
  const up = (options: UpOptions = {}) => stack.up({ onEvent, ...options });

  console.log(`\n== one stack, ${count} tenants on one host (stand-ins, agentpod/standin:1) ==`);
  fleet.writeTenants(fleetYaml(count));
  let t0 = performance.now();
  const built = await up();
  line(`up to ${count} tenants (not profiled)`, seconds(performance.now() - t0), `stack.up() ${Object.entries(built.summary.resourceChanges ?? {}).map(([op, n]) => `${op} ${n}`).join(", ")}`);
  nextTenant.value = Math.max(nextTenant.value, count + 1);

  t0 = performance.now();
  await preview();
  line("first preview after it (warm-up, not profiled)", seconds(performance.now() - t0), "stack.preview()");

  console.log(`\n 1. preview with no change, ${count} tenants`);
  const measured = await withCpuBreakdown(() => timed(preview));
  line("wall time", seconds(measured.cpu.wallMs), `stack.preview() = pulumi preview --stack ${fleet.stack} (inline agentpodProgram)`);
  printTimeline(measured.result.timeline, measured.cpu.wallMs);
  printCpu(measured.cpu, "the same preview");

  const traceDir = path.join(work, `trace-${count}`);
  mkdirSync(traceDir, { recursive: true });
  wrapper.setExtraArgs(["--otel-traces", `file://${traceDir}/preview.otel.json`, "--profiling", `${traceDir}/preview`]);
  const traced = await withNodeProfile(() => timed(() => preview({ tracing: `file:${traceDir}/preview.appdash` })));
  wrapper.setExtraArgs([]);
  console.log(`\n    the same preview again, traced (tracing: file:, --otel-traces file://, --profiling, V8 profiler): ${seconds(traced.result.timeline.endMs ?? NaN)} wall`);
  describeAppdash(`${traceDir}/preview.appdash`);
  printOtel(`${traceDir}/preview.otel.json`, "pulumi preview --otel-traces file://...");
  printEngineProfile(`${traceDir}/preview`, "pulumi preview --profiling");
  printNodeProfile(traced.buckets, "the traced preview");

  console.log(`\n 2. up adding one tenant to ${count}`);
  const stateFile = stateFileOf(fleet);
  const sizeBefore = statSync(stateFile).size;
  fleet.writeTenants(fleetYaml(nextTenant.value));
  const watcher = watchStateWrites(path.join(fleet.dir, ".pulumi-state"));
  await watcher.ready;
  const added = await withCpuBreakdown(() => timed(up), [watcher.pid]);
  const writes = await watcher.stop();
  nextTenant.value += 1;
  line("wall time", seconds(added.cpu.wallMs), `stack.up() = pulumi up --stack ${fleet.stack} (+${tenantName(nextTenant.value - 1)})`);
  printTimeline(added.result.timeline, added.cpu.wallMs);
  printCpu(added.cpu, "the same up");
  line("state file before the up", `${(sizeBefore / 1024).toFixed(0)} KiB`, path.relative(fleet.dir, stateFile));
  line("state file after it", `${(statSync(stateFile).size / 1024).toFixed(0)} KiB`, "");
  printStateComposition(stateFile);
  console.log(`  files written in .pulumi-state during the up (inotifywait -m -r -e close_write -e moved_to):`);
  for (const [file, n] of [...writes].sort((a, b) => b[1] - a[1])) line(`  ${file}`, `${n}x`, "");

  fleet.writeTenants(fleetYaml(nextTenant.value));
  wrapper.setExtraArgs(["--otel-traces", `file://${traceDir}/up.otel.json`, "--profiling", `${traceDir}/up`]);
  const tracedUp = await withNodeProfile(() => timed(() => up({ tracing: `file:${traceDir}/up.appdash` })));
  wrapper.setExtraArgs([]);
  nextTenant.value += 1;
  console.log(`\n    another up adding one tenant (+${tenantName(nextTenant.value - 1)}), traced: ${seconds(tracedUp.result.timeline.endMs ?? NaN)} wall`);
  printOtel(`${traceDir}/up.otel.json`, "pulumi up --otel-traces file://...");
  printEngineProfile(`${traceDir}/up`, "pulumi up --profiling");
  printNodeProfile(tracedUp.buckets, "the traced up");

  console.log(`\n 3. program evaluation in our process, ${count} tenants (from the measured preview above and the up)`);
  for (const [what, t] of [["preview", measured.result.timeline], ["up +1", added.result.timeline]] as const) {
    line(`${what}: start to return`, seconds((t.programReturnMs ?? NaN) - (t.programStartMs ?? NaN)), "agentpodProgram({ projectDir }) under the real engine");
    line(`${what}: start to outputs settled`, seconds((t.outputsSettledMs ?? NaN) - (t.programStartMs ?? NaN)), "");
  }
  return {
    tenants: count,
    steps: measured.result.timeline.resourceEvents,
    preview: measured.cpu,
    previewProgramMs: (measured.result.timeline.programReturnMs ?? NaN) - (measured.result.timeline.programStartMs ?? NaN),
    up: added.cpu,
    stateKiB: statSync(stateFile).size / 1024,
    stateWrites: writes.get(path.relative(path.join(fleet.dir, ".pulumi-state"), stateFile)) ?? 0,
  };
}

function printSummary(sizes: SizeSummary[]) {
  const kindMs = (cpu: CpuBreakdown, prefix: string) => cpu.byKind.filter((k) => k.kind.startsWith(prefix)).reduce((sum, k) => sum + k.ms, 0);
  const cpuColumns = (cpu: CpuBreakdown): [string, string, string, string, string, string] =>
    [cpu.wallMs, cpu.ourProcessMs, kindMs(cpu, "pulumi (the engine)"), kindMs(cpu, "pulumi-resource-docker"), kindMs(cpu, "dynamic providers"), cpu.treeMs].map((ms) => (ms / 1000).toFixed(2).padStart(7)) as [string, string, string, string, string, string];
  console.log("\nsummary (seconds; CPU columns are CPU seconds of the process tree over the run)");
  console.log(`  run        tenants  steps     wall  node(ours)  engine  docker-prov  dyn-prov   tree   program  state KiB  state writes`);
  for (const s of sizes) {
    const [wall, node, engine, dockerProvider, dynamic, tree] = cpuColumns(s.preview);
    console.log(`  preview    ${String(s.tenants).padStart(7)} ${String(s.steps).padStart(6)} ${wall} ${node.padStart(11)} ${engine} ${dockerProvider.padStart(12)} ${dynamic.padStart(9)} ${tree} ${(s.previewProgramMs / 1000).toFixed(2).padStart(9)}`);
  }
  for (const s of sizes) {
    const [wall, node, engine, dockerProvider, dynamic, tree] = cpuColumns(s.up);
    console.log(`  up +1      ${String(s.tenants).padStart(7)} ${"".padStart(6)} ${wall} ${node.padStart(11)} ${engine} ${dockerProvider.padStart(12)} ${dynamic.padStart(9)} ${tree} ${"".padStart(9)} ${s.stateKiB.toFixed(0).padStart(10)} ${String(s.stateWrites).padStart(13)}`);
  }
}

/** The appdash trace (`tracing: "file:..."`) is a gob-encoded memory store: only `pulumi view-trace` reads it. */
export function describeAppdash(file: string) {
  if (!existsSync(file)) return console.log(`  (no appdash trace at ${file})`);
  const head = readFileSync(file).subarray(0, 64).toString("latin1");
  console.log(
    `  appdash trace (tracing: "file:${path.basename(file)}"): ${(statSync(file).size / 1024).toFixed(0)} KiB, ${head.includes("memoryStoreData") ? "Go gob (appdash memoryStoreData): read with `pulumi view-trace`, not here" : "unknown format"}; the same spans are read from --otel-traces below`,
  );
}

async function main() {
  const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0).sort((a, b) => a - b);
  console.log(`profile of the one-stack layout (${new Date().toISOString()}, node ${process.version}; shared machines are noisy: compare runs, not absolutes)`);
  if (spawnSync("inotifywait", ["--help"]).error) throw new Error("inotifywait is missing: apt-get install inotify-tools");
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use`);
  const fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  const work = mkdtempSync(path.join(tmpdir(), "agentpod-profile-"));
  const nextTenant = { value: 1 };
  const summaries: SizeSummary[] = [];
  try {
    for (const size of sizes.length ? sizes : [50]) summaries.push(await profileSize(fleet, Math.max(size, nextTenant.value - 1), nextTenant, work));
    printSummary(summaries);
  } finally {
    // No engine destroy: the local server takes every tenant with it, and the stack's state lives in the project
    // directory, removed with it (a destroy of 50 tenants would hold the shared e2e lock for minutes more).
    removeFleetObjects(FLEET);
    fleet.dispose();
    console.log(`\ntorn down (removeFleetObjects: the local server, its volumes, the backup repository; the project with its state); traces kept in ${work}`);
  }
}

if (require.main === module)
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
