/**
 * What the benchmarks share: timing a command or a step, and printing a figure beside the command behind it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { cpus } from "node:os";
import * as path from "node:path";
import { REPO, type LocalFleet } from "../../test/support/localFleet";

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One figure on one line: what was measured, how long it took, the command behind it. */
export const report = (what: string, ms: number, command: string) => console.log(`${what.padEnd(52)} ${seconds(ms).padStart(9)}   ${command}`);

/** Runs a shell command in the repository (its stderr shown) and returns how long it took; throws if it failed. */
export function timeCommand(command: string, env: Record<string, string> = {}): number {
  const start = performance.now();
  const result = spawnSync("bash", ["-c", command], { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`${command} failed`);
  return performance.now() - start;
}

/** How long a step takes, with what it returned. */
export async function timed<T>(step: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await step();
  return { ms: performance.now() - start, value };
}

/** The exact command line LocalFleet.agentpod runs for `args`, as an operator would type it in the repository. */
export const agentpodCommand = (fleet: Pick<LocalFleet, "stack" | "dir">, args: readonly string[]) =>
  [path.join("bin", "agentpod"), ...args, "--stack", fleet.stack, "--project", fleet.dir].join(" ");

/** Milliseconds per clock tick, the unit /proc reports CPU time in. */
export const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

export interface ProcTimes {
  /** utime + stime, clock ticks. */
  self: number;
  /** cutime + cstime: what the process's reaped children (and theirs, once reaped) used, clock ticks. */
  children: number;
}

export function procTimes(pid: number | "self"): ProcTimes {
  return timesOfStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

/** ProcTimes from the text of a /proc/<pid>/stat. */
function timesOfStat(text: string): ProcTimes {
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ").map(Number);
  // After "pid (comm) ": state ppid ... utime stime cutime cstime are fields 14-17 of the whole line.
  return { self: fields[11]! + fields[12]!, children: fields[13]! + fields[14]! };
}

/**
 * CPU time, in ms, that a command run by `step` to completion used itself (bin/agentpod, the engine, its plugins):
 * the growth of this process's reaped children's time. It grows far less than wall time with the machine's load
 * (contention still inflates it somewhat).
 */
export async function childrenCpuMs<T>(step: () => T | Promise<T>): Promise<{ cpuMs: number; value: T }> {
  const before = procTimes("self").children;
  const value = await step();
  return { cpuMs: (procTimes("self").children - before) * TICK_MS, value };
}

/** Busy and total clock ticks of the whole machine (/proc/stat's first line). */
export function machineTimes(): { busy: number; total: number } {
  const [, ...values] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/** CPU ticks (utime + stime) of every process alive now, by pid, with its command name. */
function processTicks(): Map<number, { name: string; ticks: number }> {
  const byPid = new Map<number, { name: string; ticks: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      byPid.set(Number(entry), { name: text.slice(text.indexOf("(") + 1, text.lastIndexOf(")")), ticks: timesOfStat(text).self });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return byPid;
}

export interface MachineProfile {
  /** Cores the whole machine kept busy on average over the window (/proc/stat). */
  busyCores: number;
  /** Cores used by processes alive for the whole window, summed by command name, busiest first. */
  byName: { name: string; cores: number }[];
  /** The rest of busyCores: processes that started or ended within the window (a health check's exec, runc, shims) and the kernel. */
  shortLivedCores: number;
}

/** What keeps the machine busy over `ms`: its busy cores, and who they went to. */
export async function profileMachine(ms: number): Promise<MachineProfile> {
  const before = processTicks();
  const startedAt = performance.now();
  const machineBefore = machineTimes();
  await sleep(ms);
  const machineAfter = machineTimes();
  const after = processTicks();
  const elapsedTicks = (performance.now() - startedAt) / TICK_MS;
  const sums = new Map<string, number>();
  for (const [pid, now] of after) {
    const then = before.get(pid);
    if (then && then.name === now.name) sums.set(now.name, (sums.get(now.name) ?? 0) + now.ticks - then.ticks);
  }
  const byName = [...sums].map(([name, ticks]) => ({ name, cores: ticks / elapsedTicks })).filter((p) => p.cores > 0).sort((a, b) => b.cores - a.cores);
  const busyCores = ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * cpus().length;
  return { busyCores, byName, shortLivedCores: Math.max(0, busyCores - byName.reduce((sum, p) => sum + p.cores, 0)) };
}
