// Admission control against the real thing: the real OpenAIChatModel (openai SDK, HTTP on
// loopback) and the bench's stand-in server enforcing 3 000 requests per minute with 429 +
// Retry-After + x-ratelimit-* headers. Bounds here are generous (a shared 2-core machine); the
// precise figures come from the bench. STAND_IN_CALLS=2000 runs the issue's full workload by hand.
import { asyncScheduler, lastValueFrom, Observable, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { EndpointBudgets } from "../../src/limits/endpoint-budgets.js";
import { OpenAIChatModel } from "../../src/providers/openai.js";
import type { ChatResult } from "../../src/providers/types.js";
import { conversations, REQUEST } from "./simulated-endpoint.js";

const RPM = 3000;
const CALLS = Number(process.env.STAND_IN_CALLS ?? 500);
// A wall-clock share: a loaded machine lowers it (the client, not the pacing, is slow). 0.98–1.03
// measured on an idle machine; the bench states the precise figure, the test only that the pace
// is not far below the cap.
const MIN_CAP_USED = 0.5;
const TURNS = 5; // three-turn conversations: assistant, user, assistant, user, assistant

let server: StandInServer;
beforeAll(async () => {
  server = await startStandInServer({
    requestsPerMinute: RPM,
    latency: { kind: "lognormal", medianMs: 150, sigma: 0.4 },
  });
});
afterAll(() => server.close());

async function run(limit: { rpm: number } | undefined) {
  server.reset();
  const model = new OpenAIChatModel(
    { provider: "openai", model: "stand-in", base_url: server.url, request_timeout: 30 },
    "not-needed",
  );
  const budget = new EndpointBudgets().for(model, limit);
  const attempt = () =>
    new Observable<ChatResult>((subscriber) => {
      const abort = new AbortController();
      model.complete({ ...REQUEST, signal: abort.signal }).then(
        (result) => {
          subscriber.next(result);
          subscriber.complete();
        },
        (error: unknown) => subscriber.error(error),
      );
      return () => abort.abort();
    });
  const started = performance.now();
  const shape = { conversations: CALLS / TURNS, turns: TURNS, inFlight: CALLS / TURNS };
  const results = await lastValueFrom(conversations(budget, attempt, asyncScheduler, shape).pipe(toArray()));
  const seconds = (performance.now() - started) / 1000;
  const stats = server.stats;
  const figures = {
    calls: results.length,
    seconds: Number(seconds.toFixed(2)),
    capUsed: Number((results.length / ((seconds * RPM) / 60)).toFixed(4)),
    answered429: Number((stats.throttled / stats.completions).toFixed(4)),
    budget: budget.snapshot(),
  };
  console.log(
    `stand-in ${limit ? `rate_limit rpm ${limit.rpm}` : "no rate_limit"}:`,
    JSON.stringify(figures),
  );
  return figures;
}

describe("admission against the stand-in server at 3 000 rpm", () => {
  it("with no rate_limit: learns the limit from the headers, keeps a good share of the cap and few 429s", async () => {
    const figures = await run(undefined);
    expect(figures.calls).toBe(CALLS);
    // The snapshot's value is the pace: the learned limit (3 000) times the cut a wave of 429s
    // makes (90%, recovering 2% a second, pace.ts). On a loaded machine a wave may come (2945.4
    // was seen): the source is what was learned; the value is the limit or a cut below it.
    expect(figures.budget.rpm).toMatchObject({ source: "learned" });
    expect(figures.budget.rpm?.value).toBeGreaterThanOrEqual(RPM * 0.5);
    expect(figures.budget.rpm?.value).toBeLessThanOrEqual(RPM);
    expect(figures.capUsed).toBeGreaterThanOrEqual(MIN_CAP_USED);
    expect(figures.answered429).toBeLessThanOrEqual(0.1);
  }, 120_000);

  it("with rate_limit rpm 3000: paces by the configured limit with almost no 429s", async () => {
    const figures = await run({ rpm: RPM });
    expect(figures.calls).toBe(CALLS);
    expect(figures.budget.rpm).toMatchObject({ source: "configured" });
    expect(figures.capUsed).toBeGreaterThanOrEqual(MIN_CAP_USED);
    expect(figures.answered429).toBeLessThanOrEqual(0.1);
  }, 120_000);
});
