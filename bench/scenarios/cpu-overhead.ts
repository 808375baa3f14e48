// convosim's own CPU per model call, beyond the SDK's. A calibration run of generate() records
// every request body it sends and keeps its output; then, alternating, generate() runs again
// (measured) and a bare client replays exactly those bodies at the same concurrency (the bound).
// This shared machine's speed drifts by ±15 % over tens of seconds, so every SDK-transport run of
// generate() sits between two bare-SDK runs and is compared with their mean (a drift during the
// three runs cancels out, to first order), rather than with one bare run made earlier or later.
// All against a zero-latency stand-in server in the parent process, so the client's CPU is the
// whole story:
//   overhead per call = CPU per call of generate() − CPU per call of the bare client.
//
// Where the output goes matters on this machine: on its disk (ext4 on a VM block device)
// creating one file costs the kernel 0.3–1.3 ms of CPU, varying from run to run — more than all
// of convosim's own work for the interaction's five calls, and paid by any program that writes
// one JSON file per interaction. So the judged runs write their output (and the response cache)
// to tmpfs, where creating a file costs the kernel ≈0.01 ms and every microsecond left is
// convosim's; and every round also runs generate() with its output on the disk beside a bare
// writer saving the same files there, reported with and without the files' creation counted.
// Done for both transports: the SDK's default fetch (bare client: the SDK) and the lean transport
// (bare client: the SDK with the same lean fetch). Also gives generate()'s calls per second. And
// the default config as users run it since the lean transport became the default: lean transport,
// files and response cache on the disk, against the bare lean client run right after it (and the
// bare writer's file creation, reported both ways).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, type RunMeasurement, round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = 1000;
const CALLS = CONVERSATIONS * 5; // three turns: three replies, two follow-ups
const WORKERS = 100;
// One more round than the other scenarios: these differences are a few hundredths of a
// millisecond per call, and a shared 2-core machine moves single runs by about as much.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const TARGET_MS = 0.3;
const WARMUP_CONVERSATIONS = 150;
const TMPFS = "/dev/shm";

const perCall = (m: RunMeasurement) => m.cpuMs / m.calls;
const kernelPerCall = (m: RunMeasurement) => m.systemMs / m.calls;
const callsPerS = (m: RunMeasurement) => m.calls / (m.wallMs / 1000);

/** A folder on tmpfs when the machine has one; otherwise the ordinary temp folder (said in the setup). */
async function memoryFolder(): Promise<{ dir: string; onTmpfs: boolean }> {
  try {
    // Present and writable: mkdtemp fails on either (a read-only /dev/shm falls back too).
    return { dir: await mkdtemp(join(TMPFS, "convosim-bench-cpu-")), onTmpfs: true };
  } catch {
    return { dir: await mkdtemp(join(tmpdir(), "convosim-bench-cpu-mem-")), onTmpfs: false };
  }
}

/**
 * Per round, then the median. A bound is either runs aligned with the measured ones (both sides
 * of a round ran back to back) or, for a bracketed run, the CPU per call of the bare runs on
 * either side of it, averaged.
 */
type Bound = RunMeasurement[] | number[];

function boundPerCall(bound: Bound, i: number): number {
  const item = bound[i]!;
  return typeof item === "number" ? item : perCall(item);
}

function perRound(runs: RunMeasurement[], bounds: Bound[]): number[] {
  return runs.map((run, i) => perCall(run) - bounds.reduce((sum, b) => sum + boundPerCall(b, i), 0));
}

function overhead(runs: RunMeasurement[], bounds: Bound[]): number {
  return median(perRound(runs, bounds));
}

export const cpuOverhead: Scenario = async () => {
  const server = await startStandInServer();
  const disk = await mkdtemp(join(tmpdir(), "convosim-bench-cpu-"));
  const memory = await memoryFolder();
  const recording = join(disk, "bodies.ndjson");
  const calibration = join(disk, "rec");
  const runs = {
    sdk: [] as RunMeasurement[], // files sink, output on tmpfs, SDK transport
    lean: [] as RunMeasurement[], // the same, lean transport
    cached: [] as RunMeasurement[], // SDK, response cache on (a fresh folder: every call a miss and a write)
    ndjson: [] as RunMeasurement[], // SDK, NDJSON into /dev/null: no files at all
    sdkDisk: [] as RunMeasurement[], // SDK, files sink with the output on the disk
    bareSdk: [] as RunMeasurement[],
    bareLean: [] as RunMeasurement[],
    bareFilesDisk: [] as RunMeasurement[], // the calibration's interaction files, written again on the disk
    // The default config as users run it (issue 15): lean transport, files sink and response
    // cache both on the disk; its bound is the bare lean client run right after it.
    defaultDisk: [] as RunMeasurement[],
    bareLeanAfterDefault: [] as RunMeasurement[],
  };
  // For each SDK-transport run of generate(): the mean CPU per call of the bare-SDK runs before and after it.
  const brackets = {
    sdk: [] as number[],
    cached: [] as number[],
    ndjson: [] as number[],
    sdkDisk: [] as number[],
  };
  const common = [
    "--url",
    server.url,
    "--conversations",
    String(CONVERSATIONS),
    "--workers",
    String(WORKERS),
  ];
  // Both sides warm up first (JIT, connections): the same number of calls, not measured.
  const warm = ["--warmup", String(WARMUP_CONVERSATIONS)];
  const pipeline = async (out: string, ...extra: string[]) => {
    const run = await runChild("run-pipeline.js", [...common, ...warm, "--out", out, ...extra]);
    await rm(out, { recursive: true, force: true });
    await rm(`${out}-warmup`, { recursive: true, force: true });
    return run;
  };
  const bare = (client: string) =>
    runChild("run-sdk-baseline.js", [
      ...["--url", server.url, "--client", client, "--replay", recording],
      ...["--concurrency", String(WORKERS), "--warmup", String(WARMUP_CONVERSATIONS * 5)],
    ]);
  try {
    await runChild("run-pipeline.js", [...common, "--out", calibration, "--record", recording]);
    // The chain of SDK-side runs: bare, generate, bare, generate, …; each bare run closes one
    // bracket and opens the next.
    let lastBare = await bare("sdk");
    runs.bareSdk.push(lastBare);
    const bracketed = async (kind: keyof typeof brackets, run: () => Promise<RunMeasurement>) => {
      const before = lastBare;
      runs[kind].push(await run());
      lastBare = await bare("sdk");
      runs.bareSdk.push(lastBare);
      brackets[kind].push((perCall(before) + perCall(lastBare)) / 2);
    };
    for (let round = 0; round < ROUNDS; round++) {
      const mem = (name: string) => join(memory.dir, `${name}-${round}`);
      await bracketed("sdk", () => pipeline(mem("sdk")));
      await bracketed("cached", () => pipeline(mem("cached"), "--cache-dir", mem("cache")));
      await rm(mem("cache"), { recursive: true, force: true });
      await bracketed("ndjson", () => pipeline(mem("ndjson"), "--ndjson", "/dev/null"));
      runs.lean.push(await pipeline(mem("lean"), "--transport", "undici"));
      runs.bareLean.push(await bare("lean"));
      await bracketed("sdkDisk", () => pipeline(join(disk, `sdk-${round}`)));
      const defaultCache = join(disk, `default-cache-${round}`);
      runs.defaultDisk.push(
        await pipeline(join(disk, `default-${round}`), "--transport", "undici", "--cache-dir", defaultCache),
      );
      await rm(defaultCache, { recursive: true, force: true });
      runs.bareLeanAfterDefault.push(await bare("lean"));
      const filesOut = join(disk, `bare-files-${round}`);
      runs.bareFilesDisk.push(
        await runChild("run-bare-files.js", [
          "--from",
          calibration,
          "--out",
          filesOut,
          "--calls",
          String(CALLS),
        ]),
      );
      await rm(filesOut, { recursive: true, force: true });
    }
  } finally {
    await server.close();
    await rm(disk, { recursive: true, force: true });
    await rm(memory.dir, { recursive: true, force: true });
  }

  const sdkOverhead = overhead(runs.sdk, [brackets.sdk]);
  const leanOverhead = overhead(runs.lean, [runs.bareLean]);
  const cachedOverhead = overhead(runs.cached, [brackets.cached]);
  const ndjsonOverhead = overhead(runs.ndjson, [brackets.ndjson]);
  const diskStrict = overhead(runs.sdkDisk, [brackets.sdkDisk]);
  const diskNet = overhead(runs.sdkDisk, [brackets.sdkDisk, runs.bareFilesDisk]);
  const defaultStrict = overhead(runs.defaultDisk, [runs.bareLeanAfterDefault]);
  const defaultNet = overhead(runs.defaultDisk, [runs.bareLeanAfterDefault, runs.bareFilesDisk]);
  const leanCallsPerS = median(runs.lean.map(callsPerS));
  const measured = [runs.sdk, runs.lean, runs.cached, runs.ndjson, runs.sdkDisk, runs.defaultDisk].flat();
  const lowestDone = Math.min(...measured.map((c) => Number(c.done) - Number(c.failed)));
  const med = (list: RunMeasurement[], f: (m: RunMeasurement) => number) => round(median(list.map(f)));
  const spread = (list: RunMeasurement[], bounds: Bound[]) =>
    perRound(list, bounds)
      .map((value) => round(value))
      .join(", ");
  const rate = (list: RunMeasurement[]) => round(median(list.map(callsPerS)), 0);
  const perFile = (f: (m: RunMeasurement) => number) =>
    round(median(runs.bareFilesDisk.map((m) => (f(m) * m.calls) / Number(m.files))));
  const where = memory.onTmpfs
    ? `output and cache on tmpfs (${TMPFS})`
    : "output and cache in the temp folder (no tmpfs on this machine: file creation counted)";

  return {
    name: "cpu-overhead",
    title: "convosim's own CPU per model call",
    setup:
      `${CONVERSATIONS} three-turn conversations (${CALLS} calls), max_workers ${WORKERS}, zero-latency ` +
      `stand-in in another process, files sink, ${where}. The bound: a bare client replaying the very ` +
      "request bodies generate() sent, at the same concurrency, run just before and just after each " +
      "SDK-transport run of generate() (their mean is its bound); both sides warm up first on " +
      `${WARMUP_CONVERSATIONS * 5} unmeasured calls. Also, each round, generate() with its output on the ` +
      `disk beside a bare writer saving the same files there. ${ROUNDS} alternating rounds, medians.`,
    headline: {
      label: "CPU per call, generate() (SDK transport)",
      measured: med(runs.sdk, perCall),
      ideal: med(runs.bareSdk, perCall),
      unit: "ms",
      idealIs: "bare openai SDK on the same calls, same run",
    },
    checks: [
      check(
        "convosim's own CPU per call (SDK transport)",
        round(sdkOverhead),
        "ms",
        `≤ ${TARGET_MS} ms`,
        sdkOverhead <= TARGET_MS,
      ),
      check(
        "convosim's own CPU per call (lean transport)",
        round(leanOverhead),
        "ms",
        `≤ ${TARGET_MS} ms`,
        leanOverhead <= TARGET_MS,
      ),
      check(
        "convosim's own CPU per call, response cache on (the default)",
        round(cachedOverhead),
        "ms",
        `≤ ${TARGET_MS} ms`,
        cachedOverhead <= TARGET_MS,
      ),
      check(
        "convosim's own CPU per call, NDJSON output (no files)",
        round(ndjsonOverhead),
        "ms",
        `≤ ${TARGET_MS} ms`,
        ndjsonOverhead <= TARGET_MS,
      ),
      check(
        "convosim's own CPU per call, default config (lean transport, files and cache on the disk; the bare writer's file creation not counted)",
        round(defaultNet),
        "ms",
        `≤ ${TARGET_MS} ms`,
        defaultNet <= TARGET_MS,
      ),
      check(
        "generate() calls per second with the lean transport",
        round(leanCallsPerS, 0),
        "calls/s",
        "≥ 2,000 (one process, zero latency)",
        leanCallsPerS >= 2000,
      ),
      check(
        "conversations done, none failed (lowest of all measured runs)",
        lowestDone,
        `of ${CONVERSATIONS}`,
        "all",
        lowestDone === CONVERSATIONS,
      ),
    ],
    notes: [
      "convosim's own CPU per call, round by round (the spread of single measurements on this machine): " +
        `SDK ${spread(runs.sdk, [brackets.sdk])}; lean ${spread(runs.lean, [runs.bareLean])}; ` +
        `cache on ${spread(runs.cached, [brackets.cached])}; NDJSON ${spread(runs.ndjson, [brackets.ndjson])} ms. ` +
        `Bare SDK, the chain of bracketing runs in order: ${runs.bareSdk.map((m) => round(perCall(m))).join(", ")} ms.`,
      `SDK transport: generate() ${med(runs.sdk, perCall)} ms CPU per call, ${rate(runs.sdk)} calls/s; ` +
        `bare SDK ${med(runs.bareSdk, perCall)} ms, ${rate(runs.bareSdk)} calls/s.`,
      `Lean transport: generate() ${med(runs.lean, perCall)} ms CPU per call, ${rate(runs.lean)} calls/s; ` +
        `bare lean client ${med(runs.bareLean, perCall)} ms, ` +
        `${rate(runs.bareLean)} calls/s.`,
      `Response cache on: generate() ${med(runs.cached, perCall)} ms CPU per call, kernel ${med(runs.cached, kernelPerCall)} ms ` +
        `(an append-only segment log); without it ${med(runs.sdk, kernelPerCall)} ms kernel.`,
      `Output on the disk instead (SDK transport): generate() ${med(runs.sdkDisk, perCall)} ms CPU per call ` +
        `(kernel ${med(runs.sdkDisk, kernelPerCall)} ms), ${rate(runs.sdkDisk)} calls/s. The bare writer saving ` +
        `the same ${CONVERSATIONS} files there: ${med(runs.bareFilesDisk, perCall)} ms per call, ${perFile(perCall)} ms per file ` +
        `(kernel ${perFile(kernelPerCall)} ms). convosim's own CPU per call beyond the bare SDK and the bare writer: ` +
        `${round(diskNet)} ms; counting the files' creation as convosim's: ${round(diskStrict)} ms.`,
      `Default config on the disk (lean transport, files and response cache there): generate() ` +
        `${med(runs.defaultDisk, perCall)} ms CPU per call (kernel ${med(runs.defaultDisk, kernelPerCall)} ms), ` +
        `${rate(runs.defaultDisk)} calls/s; bare lean client right after it ${med(runs.bareLeanAfterDefault, perCall)} ms. ` +
        `convosim's own CPU per call beyond the bare lean client and the bare writer, round by round: ` +
        `${spread(runs.defaultDisk, [runs.bareLeanAfterDefault, runs.bareFilesDisk])} ms (median ${round(defaultNet)}); ` +
        `counting the files' creation as convosim's: ${round(defaultStrict)} ms.`,
    ],
    details: {
      conversations: CONVERSATIONS,
      workers: WORKERS,
      output_on_tmpfs: memory.onTmpfs,
      overhead_ms_per_call: {
        sdk: sdkOverhead,
        lean: leanOverhead,
        cache_on: cachedOverhead,
        ndjson: ndjsonOverhead,
        disk_beyond_bare_writer: diskNet,
        disk_files_counted: diskStrict,
        default_config_on_disk_beyond_bare_writer: defaultNet,
        default_config_on_disk_files_counted: defaultStrict,
      },
      bracket_bounds_ms_per_call: brackets,
      runs,
    },
  };
};
