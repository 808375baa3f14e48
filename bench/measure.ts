// Shared by the bench runners and scenarios: what one measured run reports, the child-process
// runner (CPU and memory are measured in a process of their own, never beside the server), and
// small statistics. Figures are always measured in the same `npm run bench` run they are quoted
// against; nothing here holds a number typed in by hand.
import { execFile } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { CLI_NODE_FLAGS } from "../src/run/heap.js";

export interface RunMeasurement {
  label: string;
  wallMs: number;
  /** User + system CPU of this process (all its threads: libuv's file I/O and GC helpers too). */
  cpuMs: number;
  /** Of which in the kernel (file creation, sockets). */
  systemMs: number;
  /** Peak resident set size of this process. */
  maxRssMb: number;
  calls: number;
  [key: string]: unknown;
}

export function measureSince(
  label: string,
  startedAt: number,
  cpuAtStart: NodeJS.CpuUsage,
  calls: number,
): RunMeasurement {
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    label,
    wallMs: performance.now() - startedAt,
    cpuMs: (cpu.user + cpu.system) / 1000,
    systemMs: cpu.system / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    calls,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rounds for display and JSON: enough digits to compare, no float noise. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function machine() {
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Compiled bench scripts live beside this file (dist/bench). */
export const benchDir = import.meta.dirname;

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  /** Killed after this long (the scenario then fails loudly rather than hanging the suite). */
  timeoutMs?: number;
  nodeArgs?: string[];
}

/**
 * Runs `node dist/bench/<script> args…` and parses the last line of its stdout as JSON.
 * stderr is passed through so a failing child explains itself.
 */
export async function runChild<T = RunMeasurement>(
  script: string,
  args: readonly string[],
  options: ChildOptions = {},
): Promise<T> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      // Every child, convosim's and the bare clients' alike, starts with the V8 flags the CLI
      // starts with, so the bench measures what users run and both sides run on equal terms.
      [...CLI_NODE_FLAGS, ...(options.nodeArgs ?? []), join(benchDir, script), ...args],
      {
        maxBuffer: 16 << 20,
        timeout: options.timeoutMs ?? 300_000,
        killSignal: "SIGKILL",
        env: { ...process.env, ...options.env },
      },
      (error, out, err) => {
        if (error) reject(new Error(`${script} ${args.join(" ")} failed: ${error.message}\n${err}`));
        else resolve(out);
      },
    );
    child.stderr?.pipe(process.stderr);
  });
  const last = stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as T;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
