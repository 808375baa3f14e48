// Rate-bound: the stand-in server enforces a requests-per-minute cap (token bucket, one second's
// worth of burst, 429 beyond it). 400 three-turn conversations (2,000 calls) need
// 2,000 / (3,000 / 60) = 40 s at the cap, whatever the concurrency. Three ways to run into it:
//
// - silent cap: no rate_limit in the config and a server that sends no x-ratelimit-* headers,
//   only 429 + Retry-After in whole seconds (many OpenAI-compatible gateways): the run must find
//   the cap from the 429s alone;
// - headers: no rate_limit, the server sends x-ratelimit-* (learned from the first answer);
// - configured: rate_limit: {rpm: 3000} on both models (one endpoint and key: one shared budget).
//
// The first two alternate for BENCH_RATE_ROUNDS rounds (default 3; medians reported), the third
// runs once. Reported per run, from the server's own counts: the share of the cap used — calls
// answered 200 over the span the server saw (first request to last answer), against the cap —
// the same over the child's whole wall time (Node's start-up included), and the share of
// requests answered 429.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, type RunMeasurement, round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const RPM = 3000;
const CONVERSATIONS = Number(process.env.BENCH_RATE_CONVERSATIONS ?? 400);
const ROUNDS = Math.max(1, Number(process.env.BENCH_RATE_ROUNDS ?? 3));
const WORKERS = 100;
const LATENCY_MS = 200;
/** 429s before this (from the server's first request) are the opening's: before any rate is known. */
const OPENING_MS = 3000;

type Mode = "silent" | "headers" | "configured";

const LABEL: Record<Mode, string> = {
  silent: "no rate_limit, no rate-limit headers (429 + Retry-After only)",
  headers: "no rate_limit, x-ratelimit-* headers",
  configured: `rate_limit: {rpm: ${RPM}}`,
};

interface RateRun {
  mode: Mode;
  wallS: number;
  serverSpanS: number;
  calls: number;
  requests: number;
  throttled: number;
  /** Of those, answered in the first OPENING_MS of the run (the opening) and after it. */
  throttledOpening: number;
  throttledAfter: number;
  /** Calls answered 200 per second over the span the server saw, against the cap. */
  capUsed: number;
  /** The same over the child's wall time, start-up included. */
  capUsedWall: number;
  fraction429: number;
  done: number;
  failed: number;
  measurement: RunMeasurement;
}

async function once(work: string, mode: Mode, round_: number): Promise<RateRun> {
  const server = await startStandInServer({
    latency: LATENCY_MS,
    requestsPerMinute: RPM,
    rateLimitHeaders: mode !== "silent",
    logLimit: CONVERSATIONS * 10, // every request: when the 429s fell
  });
  try {
    const args = [
      "--url",
      server.url,
      "--out",
      join(work, `${mode}-${round_}`),
      "--conversations",
      String(CONVERSATIONS),
      "--workers",
      String(WORKERS),
      ...(mode === "configured" ? ["--rpm", String(RPM)] : []),
    ];
    const m = await runChild("run-pipeline.js", args, { timeoutMs: 400_000 });
    const stats = server.stats;
    const ok = stats.byStatus[200] ?? 0;
    const wallS = m.wallMs / 1000;
    const serverSpanS = (stats.lastOkAt - stats.firstRequestAt) / 1000;
    const startedAt = stats.log[0]?.at ?? 0;
    const throttledOpening = stats.log.filter(
      (e) => e.status === 429 && e.fault === "throttled" && e.at - startedAt < OPENING_MS,
    ).length;
    return {
      mode,
      wallS: round(wallS, 2),
      serverSpanS: round(serverSpanS, 2),
      calls: ok,
      requests: stats.completions,
      throttled: stats.throttled,
      throttledOpening,
      throttledAfter: stats.throttled - throttledOpening,
      capUsed: round(ok / serverSpanS / (RPM / 60), 4),
      capUsedWall: round(ok / wallS / (RPM / 60), 4),
      fraction429: round(stats.throttled / Math.max(1, stats.completions), 4),
      done: Number(m.done),
      failed: Number(m.failed),
      measurement: m,
    };
  } finally {
    await server.close();
  }
}

interface Summary {
  capUsed: number;
  capUsedWall: number;
  fraction429: number;
  wallS: number;
}

const summarize = (runs: readonly RateRun[]): Summary => ({
  capUsed: median(runs.map((r) => r.capUsed)),
  capUsedWall: median(runs.map((r) => r.capUsedWall)),
  fraction429: median(runs.map((r) => r.fraction429)),
  wallS: median(runs.map((r) => r.wallS)),
});

const pct = (x: number, digits = 1) => `${round(x * 100, digits)}%`;

const line = (r: RateRun) =>
  `${LABEL[r.mode]}: ${r.calls} calls, server span ${r.serverSpanS} s = ${pct(r.capUsed)} of the cap ` +
  `(${pct(r.capUsedWall)} over the child's ${r.wallS} s); ${r.throttled} of ${r.requests} requests ` +
  `answered 429 (${pct(r.fraction429, 2)}: ${r.throttledOpening} in the first ${OPENING_MS / 1000} s, ` +
  `${r.throttledAfter} after); ${r.done} done, ${r.failed} failed.`;

export const rateBound: Scenario = async () => {
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-rate-"));
  const silent: RateRun[] = [];
  const headers: RateRun[] = [];
  let configured: RateRun;
  try {
    // Alternating, so that a load spike on the shared machine hits both modes alike.
    for (let i = 0; i < ROUNDS; i++) {
      silent.push(await once(work, "silent", i));
      headers.push(await once(work, "headers", i));
    }
    configured = await once(work, "configured", 0);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const s = summarize(silent);
  const h = summarize(headers);
  const calls = CONVERSATIONS * 5;
  const idealS = calls / (RPM / 60);
  const medianNote = (label: string, m: Summary) =>
    `${label}, medians of ${ROUNDS}: ${pct(m.capUsed)} of the cap over the server's span ` +
    `(${pct(m.capUsedWall)} over the child's wall time, ${m.wallS} s), ${pct(m.fraction429, 2)} answered 429.`;
  return {
    name: "rate-bound",
    title: "Rate-bound (server enforces 3,000 requests per minute)",
    setup:
      `${CONVERSATIONS} three-turn conversations (${calls} calls), ${LATENCY_MS} ms per call, max_workers ${WORKERS}, ` +
      `stand-in capping at ${RPM} rpm (token bucket, 1 s of burst, 429 + Retry-After beyond). ` +
      `${ROUNDS} alternating rounds of: no rate_limit against a server sending no rate-limit headers ` +
      "(429 + Retry-After in whole seconds only), and no rate_limit against one sending x-ratelimit-*; " +
      "then once with rate_limit: {rpm: 3000} on both models. Share of the cap: calls answered 200 " +
      "over the span the server saw (first request to last answer), against 50 calls/s.",
    headline: {
      label: "wall time, no headers and no rate_limit (median)",
      measured: s.wallS,
      ideal: round(idealS, 2),
      unit: "s",
      idealIs: "calls / requests-per-second cap",
    },
    checks: [
      check("no headers: share of the cap used (median)", s.capUsed, "", "≥ 0.95", s.capUsed >= 0.95),
      check(
        "no headers: requests answered 429 (median)",
        s.fraction429,
        "",
        "< 0.015",
        s.fraction429 < 0.015,
      ),
      check("headers: share of the cap used (median)", h.capUsed, "", "≥ 0.99", h.capUsed >= 0.99),
      check("headers: requests answered 429 (median)", h.fraction429, "", "0", h.fraction429 === 0),
      check(
        "rate_limit rpm 3000: share of the cap used",
        configured.capUsed,
        "",
        "≥ 0.97",
        configured.capUsed >= 0.97,
      ),
      check(
        "rate_limit rpm 3000: requests answered 429",
        configured.fraction429,
        "",
        "< 0.01",
        configured.fraction429 < 0.01,
      ),
    ],
    notes: [
      medianNote("no headers", s),
      medianNote("headers", h),
      ...silent.map(line),
      ...headers.map(line),
      line(configured),
    ],
    details: {
      rpm: RPM,
      conversations: CONVERSATIONS,
      workers: WORKERS,
      latency_ms: LATENCY_MS,
      rounds: ROUNDS,
      ideal_s: idealS,
      silent: { median: s, runs: silent },
      headers: { median: h, runs: headers },
      configured,
    },
  };
};
