// Latency-bound: N three-turn conversations (5 calls each), fixed latency L, W workers. With no
// overhead at all the run takes conversations × calls per conversation × L / W. Also runs the bare
// openai SDK on the same number of calls at the same concurrency, as a bound measured in the same
// run, alternating the two; medians over the rounds.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, type RunMeasurement, round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = 400;
const CALLS_PER_CONVERSATION = 5; // 3 assistant replies + 2 simulated-user follow-ups
const WORKERS = 200;
const LATENCY_MS = 500;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KNOWN_RPM = 1_000_000;

export const latencyBound: Scenario = async () => {
  const server = await startStandInServer({ latency: LATENCY_MS });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-latency-"));
  const calls = CONVERSATIONS * CALLS_PER_CONVERSATION;
  const sdk: RunMeasurement[] = [];
  const convosim: RunMeasurement[] = [];
  // The same run with a known limit (far above the load), so admission control skips its adaptive
  // opening window: separates the pipeline's own cost from the window's ramp-up.
  const known: RunMeasurement[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      sdk.push(
        await runChild("run-sdk-baseline.js", [
          "--url",
          server.url,
          "--calls",
          String(calls),
          "--concurrency",
          String(WORKERS),
        ]),
      );
      const out = join(work, `round-${round}`);
      convosim.push(
        await runChild("run-pipeline.js", [
          "--url",
          server.url,
          "--out",
          out,
          "--conversations",
          String(CONVERSATIONS),
          "--workers",
          String(WORKERS),
        ]),
      );
      await rm(out, { recursive: true, force: true });
      known.push(
        await runChild("run-pipeline.js", [
          ...["--url", server.url, "--out", out, "--rpm", String(KNOWN_RPM)],
          ...["--conversations", String(CONVERSATIONS), "--workers", String(WORKERS)],
        ]),
      );
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
  const ideal = (calls * LATENCY_MS) / WORKERS;
  const wall = median(convosim.map((m) => m.wallMs));
  const sdkWall = median(sdk.map((m) => m.wallMs));
  const knownWall = median(known.map((m) => m.wallMs));
  const peakRss = Math.max(...convosim.map((m) => m.maxRssMb));
  const allDone = [...convosim, ...known].every((m) => m.done === CONVERSATIONS && m.failed === 0);
  return {
    name: "latency-bound",
    title: "Latency-bound",
    setup:
      `${CONVERSATIONS} three-turn conversations (${calls} calls), ${LATENCY_MS} ms per call, ` +
      `max_workers ${WORKERS}, files sink; the bare openai SDK makes the same number of calls ` +
      `${WORKERS} at a time against the same stand-in server. Default config (no rate_limit), and again ` +
      `with a known limit. ${ROUNDS} alternating rounds, medians.`,
    headline: {
      label: "wall time",
      measured: round(wall / 1000, 2),
      ideal: round(ideal / 1000, 2),
      unit: "s",
      idealIs: "conversations × calls per conversation × latency / max_workers",
    },
    checks: [
      check("convosim / bare SDK wall time", round(wall / sdkWall), "×", "≤ 1.2", wall / sdkWall <= 1.2),
      check(
        "convosim with a known limit / bare SDK wall time",
        round(knownWall / sdkWall),
        "×",
        "≤ 1.2",
        knownWall / sdkWall <= 1.2,
      ),
      check(
        "conversations done (lowest of all runs)",
        Math.min(...[...convosim, ...known].map((m) => Number(m.done))),
        `of ${CONVERSATIONS}`,
        "all, none failed",
        allDone,
      ),
    ],
    notes: [
      `bare SDK: ${round(sdkWall / 1000, 2)} s (${round(sdkWall / ideal)} × ideal); ` +
        `convosim peak RSS ${round(peakRss, 0)} MB.`,
      `With rate_limit {rpm: ${KNOWN_RPM.toLocaleString("en-US")}} (a known limit: admission skips its ` +
        `adaptive opening window): ${round(knownWall / 1000, 2)} s (${round(knownWall / ideal)} × ideal, ` +
        `${round(knownWall / sdkWall)} × the bare SDK). The difference from the default run is the window's ramp-up.`,
    ],
    details: {
      conversations: CONVERSATIONS,
      calls,
      workers: WORKERS,
      latency_ms: LATENCY_MS,
      ideal_ms: ideal,
      convosim_wall_ms_median: wall,
      convosim_known_limit_wall_ms_median: knownWall,
      sdk_wall_ms_median: sdkWall,
      measured_over_ideal: wall / ideal,
      convosim_peak_rss_mb: peakRss,
      runs: { sdk, convosim, known_limit: known },
    },
  };
};
