// Rate-bound: the stand-in server enforces a requests-per-minute cap (token bucket, one second's
// worth of burst, 429 + Retry-After over it). 400 three-turn conversations (2,000 calls) need
// 2,000 / (3,000 / 60) = 40 s at the cap, whatever the concurrency. Run twice: with no rate_limit
// in the config (the run must find the cap by itself: Retry-After, adaptive concurrency) and with
// rate_limit: {rpm: 3000} on both models (one endpoint and key: one shared budget). Reported: the
// fraction of the cap used — (successful calls / elapsed) / cap — and the fraction of requests
// the server answered 429, from the server's own counts.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunMeasurement, round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const RPM = 3000;
const CONVERSATIONS = Number(process.env.BENCH_RATE_CONVERSATIONS ?? 400);
const WORKERS = 100;
const LATENCY_MS = 200;

interface RateRun {
  config: string;
  wallS: number;
  calls: number;
  requests: number;
  throttled: number;
  capUsed: number;
  fraction429: number;
  done: number;
  failed: number;
  measurement: RunMeasurement;
}

async function once(work: string, withLimit: boolean): Promise<RateRun> {
  const server = await startStandInServer({ latency: LATENCY_MS, requestsPerMinute: RPM });
  try {
    const args = [
      "--url",
      server.url,
      "--out",
      join(work, withLimit ? "limited" : "unlimited"),
      "--conversations",
      String(CONVERSATIONS),
      "--workers",
      String(WORKERS),
      ...(withLimit ? ["--rpm", String(RPM)] : []),
    ];
    const m = await runChild("run-pipeline.js", args, { timeoutMs: 400_000 });
    const stats = server.stats;
    const ok = stats.byStatus[200] ?? 0;
    const wallS = m.wallMs / 1000;
    return {
      config: withLimit ? `rate_limit: {rpm: ${RPM}}` : "no rate_limit",
      wallS: round(wallS, 2),
      calls: ok,
      requests: stats.completions,
      throttled: stats.throttled,
      capUsed: round(ok / wallS / (RPM / 60)),
      fraction429: round(stats.throttled / Math.max(1, stats.completions), 4),
      done: Number(m.done),
      failed: Number(m.failed),
      measurement: m,
    };
  } finally {
    await server.close();
  }
}

/** Whether a run uses the admission budgets yet (read from the compiled runtime module). */
export const rateBound: Scenario = async () => {
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-rate-"));
  let unlimited: RateRun;
  let limited: RateRun;
  try {
    unlimited = await once(work, false);
    limited = await once(work, true);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const calls = CONVERSATIONS * 5;
  const idealS = calls / (RPM / 60);
  const line = (r: RateRun) =>
    `${r.config}: ${r.calls} calls in ${r.wallS} s = ${round(r.capUsed * 100, 1)}% of the cap; ` +
    `${r.throttled} of ${r.requests} requests answered 429 (${round(r.fraction429 * 100, 2)}%); ` +
    `${r.done} done, ${r.failed} failed.`;
  return {
    name: "rate-bound",
    title: "Rate-bound (server enforces 3,000 requests per minute)",
    setup:
      `${CONVERSATIONS} three-turn conversations (${calls} calls), ${LATENCY_MS} ms per call, max_workers ${WORKERS}, ` +
      `stand-in capping at ${RPM} rpm (token bucket, 1 s of burst, 429 + Retry-After beyond). ` +
      "Once without rate_limit in the config, once with rate_limit: {rpm: 3000} on both models.",
    headline: {
      label: "wall time with rate_limit",
      measured: limited.wallS,
      ideal: round(idealS, 2),
      unit: "s",
      idealIs: "calls / requests-per-second cap",
    },
    checks: [
      check(
        "no rate_limit: share of the cap used",
        unlimited.capUsed,
        "",
        "≥ 0.90",
        unlimited.capUsed >= 0.9,
      ),
      check(
        "no rate_limit: requests answered 429",
        unlimited.fraction429,
        "",
        "< 0.05",
        unlimited.fraction429 < 0.05,
      ),
      check(
        "rate_limit rpm 3000: share of the cap used",
        limited.capUsed,
        "",
        "≥ 0.97",
        limited.capUsed >= 0.97,
      ),
      check(
        "rate_limit rpm 3000: requests answered 429",
        limited.fraction429,
        "",
        "< 0.01",
        limited.fraction429 < 0.01,
      ),
    ],
    notes: [line(unlimited), line(limited)],
    details: {
      rpm: RPM,
      conversations: CONVERSATIONS,
      workers: WORKERS,
      latency_ms: LATENCY_MS,
      ideal_s: idealS,
      unlimited,
      limited,
    },
  };
};
