// convosim's own CPU per model call, beyond the SDK's. A calibration run of generate() records
// every request body it sends; then, alternating, generate() runs again (measured) and a bare
// client replays exactly those bodies at the same concurrency (the bound). Both against a
// zero-latency stand-in server in the parent process, so the client's CPU is the whole story:
//   overhead per call = CPU per call of generate() − CPU per call of the bare client.
// Done for both transports: the SDK's default fetch (bare client: the SDK) and the lean transport
// (bare client: the SDK with the same lean fetch). Also gives generate()'s calls per second.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, type RunMeasurement, round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = 1500;
const WORKERS = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_MS = 0.3;
const WARMUP_CONVERSATIONS = 150;

const perCall = (m: RunMeasurement) => m.cpuMs / m.calls;
const callsPerS = (m: RunMeasurement) => m.calls / (m.wallMs / 1000);

interface Pair {
  transport: "sdk" | "undici";
  client: "sdk" | "lean";
  convosim: RunMeasurement[];
  bare: RunMeasurement[];
}

export const cpuOverhead: Scenario = async () => {
  const server = await startStandInServer();
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-cpu-"));
  const recording = join(work, "bodies.ndjson");
  const pairs: Pair[] = [
    { transport: "sdk", client: "sdk", convosim: [], bare: [] },
    { transport: "undici", client: "lean", convosim: [], bare: [] },
  ];
  // generate() as it runs by default: the response cache on (a fresh folder per run, so every call
  // is a miss and a write). Compared with the SDK pair's bare client of the same round.
  const cached: RunMeasurement[] = [];
  // And with results as NDJSON into /dev/null instead of one file per interaction: separates the
  // pipeline's own work from the files sink's (mostly the kernel's file creation).
  const ndjson: RunMeasurement[] = [];
  const common = ["--conversations", String(CONVERSATIONS), "--workers", String(WORKERS)];
  // Both sides warm up first (JIT, connections): the same number of calls, not measured.
  const warm = ["--warmup", String(WARMUP_CONVERSATIONS)];
  const bareWarm = ["--warmup", String(WARMUP_CONVERSATIONS * 5)];
  try {
    await runChild("run-pipeline.js", [
      "--url",
      server.url,
      "--out",
      join(work, "rec"),
      ...common,
      "--record",
      recording,
    ]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const pair of pairs) {
        const out = join(work, `${pair.transport}-${round}`);
        pair.convosim.push(
          await runChild("run-pipeline.js", [
            "--url",
            server.url,
            "--out",
            out,
            ...common,
            ...warm,
            "--transport",
            pair.transport,
          ]),
        );
        await rm(out, { recursive: true, force: true });
        if (pair.transport === "sdk") {
          ndjson.push(
            await runChild("run-pipeline.js", [
              ...["--url", server.url, "--out", out, ...common, ...warm, "--ndjson", "/dev/null"],
            ]),
          );
          cached.push(
            await runChild("run-pipeline.js", [
              ...["--url", server.url, "--out", out, ...common, ...warm],
              ...["--cache-dir", join(work, `cache-${round}`)],
            ]),
          );
          await rm(out, { recursive: true, force: true });
          await rm(join(work, `cache-${round}`), { recursive: true, force: true });
        }
        pair.bare.push(
          await runChild("run-sdk-baseline.js", [
            "--url",
            server.url,
            "--client",
            pair.client,
            "--replay",
            recording,
            "--concurrency",
            String(WORKERS),
            ...bareWarm,
          ]),
        );
      }
    }
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
  const summary = pairs.map((p) => {
    // Per round, then the median: both halves of a pair ran back to back under the same load.
    const overhead = median(p.convosim.map((c, i) => perCall(c) - perCall(p.bare[i]!)));
    return {
      transport: p.transport,
      bare_client: p.client,
      convosim_cpu_ms_per_call: median(p.convosim.map(perCall)),
      bare_cpu_ms_per_call: median(p.bare.map(perCall)),
      overhead_ms_per_call: overhead,
      convosim_calls_per_s: median(p.convosim.map(callsPerS)),
      bare_calls_per_s: median(p.bare.map(callsPerS)),
      all_done: p.convosim.every((c) => c.done === CONVERSATIONS && c.failed === 0),
    };
  });
  const [sdk, lean] = summary as [(typeof summary)[0], (typeof summary)[0]];
  const sdkBare = pairs[0]!.bare;
  const cachedOverhead = median(cached.map((c, i) => perCall(c) - perCall(sdkBare[i]!)));
  const ndjsonOverhead = median(ndjson.map((c, i) => perCall(c) - perCall(sdkBare[i]!)));
  const systemPerCall = (runs: RunMeasurement[]) => median(runs.map((m) => m.systemMs / m.calls));
  const userPerCall = (m: RunMeasurement) => (m.cpuMs - m.systemMs) / m.calls;
  const userOverhead = median(pairs[0]!.convosim.map((c, i) => userPerCall(c) - userPerCall(sdkBare[i]!)));
  const line = (s: (typeof summary)[0]) =>
    `transport ${s.transport}: generate() ${round(s.convosim_cpu_ms_per_call)} ms CPU per call, ` +
    `${round(s.convosim_calls_per_s, 0)} calls/s; bare ${s.bare_client} client on the same calls ` +
    `${round(s.bare_cpu_ms_per_call)} ms, ${round(s.bare_calls_per_s, 0)} calls/s; convosim's own: ` +
    `${round(s.overhead_ms_per_call)} ms per call.`;
  return {
    name: "cpu-overhead",
    title: "convosim's own CPU per model call",
    setup:
      `${CONVERSATIONS} three-turn conversations (${CONVERSATIONS * 5} calls), max_workers ${WORKERS}, zero-latency ` +
      "stand-in in another process, files sink. The bound replays the very request bodies generate() sent, " +
      `with the bare client, at the same concurrency; both sides warm up first on ${WARMUP_CONVERSATIONS * 5} unmeasured calls. ` +
      `${ROUNDS} alternating rounds per transport, medians.`,
    headline: {
      label: "CPU per call, generate() (SDK transport)",
      measured: round(sdk.convosim_cpu_ms_per_call),
      ideal: round(sdk.bare_cpu_ms_per_call),
      unit: "ms",
      idealIs: "bare openai SDK on the same calls, same run",
    },
    checks: [
      check(
        "convosim's own CPU per call (SDK transport)",
        round(sdk.overhead_ms_per_call),
        "ms",
        `≤ ${TARGET_MS} ms`,
        sdk.overhead_ms_per_call <= TARGET_MS,
      ),
      check(
        "convosim's own CPU per call (lean transport)",
        round(lean.overhead_ms_per_call),
        "ms",
        `≤ ${TARGET_MS} ms`,
        lean.overhead_ms_per_call <= TARGET_MS,
      ),
      check(
        "convosim's own CPU per call, NDJSON sink instead of files (SDK transport)",
        round(ndjsonOverhead),
        "ms",
        `≤ ${TARGET_MS} ms`,
        ndjsonOverhead <= TARGET_MS,
      ),
      check(
        "convosim's own CPU per call, response cache on (default)",
        round(cachedOverhead),
        "ms",
        `≤ ${TARGET_MS} ms`,
        cachedOverhead <= TARGET_MS,
      ),
      check(
        "generate() calls per second with the lean transport",
        round(lean.convosim_calls_per_s, 0),
        "calls/s",
        "≥ 2,000 (one process, zero latency)",
        lean.convosim_calls_per_s >= 2000,
      ),
    ],
    notes: [
      line(sdk),
      line(lean),
      `Without the files sink (NDJSON into /dev/null), SDK transport: convosim's own ${round(ndjsonOverhead)} ms ` +
        `per call. Kernel CPU per call: files sink ${round(systemPerCall(pairs[0]!.convosim))} ms, NDJSON ` +
        `${round(systemPerCall(ndjson))} ms, bare SDK ${round(systemPerCall(sdkBare))} ms — one file per ` +
        "interaction costs mostly file creation in the kernel: on this machine's ext4 (a VM disk mounted " +
        "with online discard) creating a file costs 0.3–1.3 ms of kernel CPU, varying from run to run, " +
        `against well under 0.1 ms on tmpfs. User-space only (CPU minus kernel), files sink: convosim's own ` +
        `${round(userOverhead)} ms per call.`,
      `With the response cache on (the default; a cold cache, every call a miss and a write), SDK transport: ` +
        `generate() ${round(median(cached.map(perCall)))} ms CPU per call, convosim's own ` +
        `${round(cachedOverhead)} ms per call (kernel CPU ${round(systemPerCall(cached))} ms per call; an append-only segment log).`,
    ],
    details: {
      conversations: CONVERSATIONS,
      workers: WORKERS,
      summary,
      cache_on: { overhead_ms_per_call: cachedOverhead, runs: cached },
      ndjson_sink: { overhead_ms_per_call: ndjsonOverhead, runs: ndjson },
      runs: pairs,
    },
  };
};
