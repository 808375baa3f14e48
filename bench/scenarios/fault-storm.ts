// Fault storm: the stand-in answers 5 % of requests 500/503, 3 % 429 with Retry-After, holds 1 %
// until the client's timeout fires, and breaks 3 % of bodies (cut-off JSON or no choices).
// Judged: every conversation ends saved (an interaction file or a failure record), every valid
// answer the server gave is accounted for in the saved usage, and the calls paid beyond the
// minimum are no more than the faults forced (no conversation repays finished turns).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeStats } from "../../src/run/stats.js";
import { round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = 200;
const WORKERS = 100;
const FAULTS = {
  serverErrorRate: 0.05,
  // Scattered 429s (no cap, no rate-limit headers): each makes only its own call wait for the
  // Retry-After. When every 429 paused the whole endpoint, 3 % took over 4 minutes here.
  rateLimitRate: 0.03,
  retryAfterSeconds: 1,
  timeoutRate: 0.01,
  malformedRate: 0.03,
};
const TIMEOUT_S = 2;
const MEDIAN_LATENCY_MS = 100;

export const faultStorm: Scenario = async () => {
  const server = await startStandInServer({
    latency: { kind: "lognormal", medianMs: MEDIAN_LATENCY_MS, sigma: 0.5 },
    faults: FAULTS,
    seed: 7,
  });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-faults-"));
  const out = join(work, "out");
  try {
    const m = await runChild("run-pipeline.js", [
      "--url",
      server.url,
      "--out",
      out,
      "--conversations",
      String(CONVERSATIONS),
      "--workers",
      String(WORKERS),
      "--timeout",
      String(TIMEOUT_S),
    ]);
    const s = server.stats;
    // Usage records carry every request that reached the server: answers used by the saved
    // results, and attempts that failed (a 5xx, a 429, a broken body, a timeout) marked `failed`.
    // Only interactions are read: a failure record's calls would show as requests missing (the
    // storm's faults are all retryable, so none is expected).
    let savedCalls = 0;
    let failedAttempts = 0;
    const saved = await computeStats(out, {
      onInteraction: (interaction) => {
        for (const record of interaction.metadata.usage ?? []) {
          if (record.replayed) continue;
          if (record.failed === undefined) savedCalls++;
          else failedAttempts++;
        }
      },
    });
    const malformed = (s.faults.invalid_json ?? 0) + (s.faults.no_choices ?? 0);
    const serverErrors = (s.faults.server_500 ?? 0) + (s.faults.server_503 ?? 0);
    const timeouts = s.faults.timeout ?? 0;
    const refused = s.byStatus[429] ?? 0;
    const validAnswers = (s.byStatus[200] ?? 0) - malformed;
    // What a provider bills: every request that reached the model (a 429 is refused before any work).
    const paid = s.completions - refused;
    const forced = serverErrors + malformed + timeouts;
    const beyondForced = paid - savedCalls - forced;
    const allSaved = saved.interactions + saved.failed === CONVERSATIONS;
    const noFaultS = (savedCalls * MEDIAN_LATENCY_MS) / WORKERS / 1000;
    return {
      name: "fault-storm",
      title: "Fault storm",
      setup:
        `${CONVERSATIONS} three-turn conversations, max_workers ${WORKERS}, lognormal latency (median 100 ms), ` +
        `request_timeout ${TIMEOUT_S} s; injected: 5 % 500/503, 3 % 429 (Retry-After 1 s, no rate-limit headers), 1 % held ` +
        "(never answered), 3 % malformed bodies. Default retry settings.",
      headline: {
        label: "calls paid",
        measured: paid,
        ideal: savedCalls,
        unit: "calls",
        idealIs: "calls the saved results needed (their usage records)",
      },
      checks: [
        check(
          "conversations saved (interaction or failure record)",
          saved.interactions + saved.failed,
          `of ${CONVERSATIONS}`,
          "all",
          allSaved,
        ),
        check(
          "valid answers missing from the saved usage",
          validAnswers - savedCalls,
          "calls",
          "0",
          validAnswers === savedCalls,
        ),
        check("calls paid beyond what the faults forced", beyondForced, "calls", "0", beyondForced <= 0),
        check(
          "requests missing from the saved usage (answered or failed)",
          s.completions - savedCalls - failedAttempts,
          "calls",
          "0",
          s.completions === savedCalls + failedAttempts,
        ),
      ],
      notes: [
        `${saved.interactions} interactions and ${saved.failed} failure records saved ` +
          `(run summary: ${m.done} done, ${m.failed} failed) in ${round(m.wallMs / 1000, 1)} s; without faults ` +
          `the same calls would take about ${round(noFaultS, 1)} s (calls × median latency / max_workers). ` +
          `Peak calls in flight at the server: ${s.maxConcurrent} of ${WORKERS} allowed.`,
        `Server: ${s.completions} requests — ${validAnswers} valid answers, ${serverErrors} 5xx, ` +
          `${malformed} malformed, ${timeouts} held, ${refused} 429; the saved usage holds ` +
          `${savedCalls} answers and ${failedAttempts} failed attempts.`,
        `Paid ${paid} = ${savedCalls} used + ${forced} forced by faults` +
          (beyondForced !== 0 ? ` ${beyondForced > 0 ? "+" : "−"} ${Math.abs(beyondForced)} other` : "") +
          ` (${round((paid / Math.max(1, savedCalls) - 1) * 100, 1)} % beyond the minimum).`,
      ],
      details: {
        conversations: CONVERSATIONS,
        workers: WORKERS,
        faults: FAULTS,
        request_timeout_s: TIMEOUT_S,
        server: { ...s, log: undefined },
        saved,
        run: m,
      },
    };
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
};
