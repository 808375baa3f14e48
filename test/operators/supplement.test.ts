// Supplement rounds: personas short of their quota get new queries, up to max rounds.
import { lastValueFrom, map, mergeMap, type Observable, toArray } from "rxjs";
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
