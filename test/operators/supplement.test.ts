// Supplement rounds: personas short of their quota get new queries, up to max rounds.
import { defer, lastValueFrom, map, mergeMap, type Observable, timer, toArray } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/conversation/pricing.js";
import { QueryGenerator } from "../../src/conversation/query-generator.js";
import { QuotaTracker, supplementRounds } from "../../src/operators/supplement.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { ConversationResult } from "../../src/schema/interaction.js";
import type { Persona } from "../../src/schema/persona.js";

const persona: Persona = {
  persona_id: "p1",
  persona_features: { role: "pm" },
  queries: [{ original_query: "Plan a sprint" }],
};

describe("QuotaTracker", () => {
  it("reports a persona short once all its work is finished", () => {
    const tracker = new QuotaTracker();
    tracker.register(persona, 2, 3);
    tracker.record("p1", true);
    expect(tracker.takeShortfalls()).toEqual([]);
    tracker.record("p1", false);
    expect(tracker.takeShortfalls()).toEqual([{ persona, needed: 2 }]);
    expect(tracker.takeShortfalls()).toEqual([]);
  });
});

describe("supplementRounds", () => {
  it("asks the generator for what is missing and stops after max rounds", async () => {
    const tracker = new QuotaTracker();
    tracker.register(persona, 1, 3);
    tracker.record("p1", false); // 3 needed
    const model = new FakeChatModel({
      respond: (_r, i) =>
        `1. Write a roadmap for round ${i}\n2. Draft release notes for round ${i}\n- Plan a sprint`,
    });
    const rounds: number[] = [];
    // Every supplemental conversation fails, so the persona stays short each round.
    const run = (personas: Observable<Persona>, round: number): Observable<ConversationResult> =>
      personas.pipe(
        mergeMap((p) => p.queries.map((q) => ({ p, q }))),
        map(({ p, q }) => {
          rounds.push(round);
          tracker.record(p.persona_id, false);
          return { kind: "failure", failure: { reason: q.original_query } } as unknown as ConversationResult;
        }),
      );
    const results = await lastValueFrom(
      supplementRounds({
        tracker,
        generator: new QueryGenerator({ model }),
        maxRounds: 2,
        concurrency: 2,
        callRetry: { count: 0, baseDelayMs: 1, maxDelayMs: 1 },
        prices: new PriceTable(),
        seed: 1,
        run,
      }).pipe(toArray()),
    );
    expect(model.callCount).toBe(2);
    expect(rounds).toEqual([1, 1, 2, 2]); // the duplicate "Plan a sprint" is dropped
    expect(results).toHaveLength(4);
    const firstPrompt = model.calls[1]?.messages[0]?.content ?? "";
    expect(firstPrompt).toContain("Write a roadmap for round 0"); // earlier queries are not repeated
  });
});

describe("supplementRounds (virtual time)", () => {
  it("runs rounds one after another: a round's queries are asked for only once the last round is done", () => {
    const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    ts.run(({ expectObservable, flush }) => {
      const tracker = new QuotaTracker();
      tracker.register(persona, 1, 2);
      tracker.record("p1", false); // 2 needed
      // The query generator answers in 20 ms with two new queries.
      const model = new FakeChatModel({
        scheduler: ts,
        latencyMs: 20,
        respond: (_r, i) => `1. Write a roadmap, take ${i}\n2. Draft release notes, take ${i}`,
      });
      const roundStarts: number[] = [];
      // Each new query is a conversation of 10 ms, side by side, and fails: still short next round.
      const run = (personas: Observable<Persona>, round: number): Observable<ConversationResult> =>
        defer(() => {
          roundStarts.push(ts.now());
          return personas.pipe(
            mergeMap((p) => p.queries.map(() => p)),
            mergeMap((p) =>
              timer(10, ts).pipe(
                map(() => {
                  tracker.record(p.persona_id, false);
                  return {
                    kind: "failure",
                    failure: { reason: `round ${round}` },
                  } as unknown as ConversationResult;
                }),
              ),
            ),
          );
        });
      const reasons = supplementRounds({
        tracker,
        generator: new QueryGenerator({ model }),
        maxRounds: 2,
        concurrency: 2,
        callRetry: { count: 0, baseDelayMs: 1, maxDelayMs: 1 },
        prices: new PriceTable(),
        seed: 1,
        run,
        scheduler: ts,
      }).pipe(map((r) => (r.kind === "failure" ? r.failure.reason : "")));
      // Round 1: generator 0–20 ms, two conversations 20–30 ms. Round 2 starts when round 1
      // completes: generator 30–50 ms, conversations 50–60 ms; max_rounds reached, done at 60 ms.
      expectObservable(reasons).toBe("30ms (aa) 26ms (bb|)", { a: "round 1", b: "round 2" });
      flush();
      expect(roundStarts).toEqual([0, 30]);
      expect(model.callCount).toBe(2);
    });
  });

  it("asks nothing and completes at once when nobody is short", () => {
    const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    ts.run(({ expectObservable }) => {
      const tracker = new QuotaTracker();
      tracker.register(persona, 1, 1);
      tracker.record("p1", true);
      const model = new FakeChatModel({ scheduler: ts, latencyMs: 20, respond: () => "1. never asked" });
      const rounds = supplementRounds({
        tracker,
        generator: new QueryGenerator({ model }),
        maxRounds: 3,
        concurrency: 1,
        callRetry: { count: 0, baseDelayMs: 1, maxDelayMs: 1 },
        prices: new PriceTable(),
        seed: 1,
        run: () => {
          throw new Error("no round should run");
        },
        scheduler: ts,
      });
      expectObservable(rounds).toBe("|");
    });
  });
});
