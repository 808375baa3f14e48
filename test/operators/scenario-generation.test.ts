// scenarioGeneration: a model writes a scenario for each task whose query brought none, before
// the conversation starts. The diagrams show when each task moves on: at once with a scenario of
// its own, after the model's latency without one, after the failed call when the model fails.
import { map } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/conversation/pricing.js";
import { ScenarioGenerator } from "../../src/conversation/scenario-generator.js";
import { scenarioGeneration } from "../../src/operators/scenario-generation.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { Task } from "../../src/schema/persona.js";
import { makeTask } from "../support/pipeline-fixtures.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const callRetry = { count: 0, baseDelayMs: 1, maxDelayMs: 1 };
const SCENARIO = '{"goal": "ship the fix today", "known": ["the bug is in the parser"]}';
const withOwnScenario = makeTask({
  interaction_id: "own",
  scenario: { goal: "brought with the query", source: "input" },
});
const without = (id: string) => makeTask({ interaction_id: id });
/** "<id>:<scenario goal or none>:<calls recorded>" */
const summary = (t: Task) =>
  `${t.interaction_id}:${t.scenario?.goal ?? "none"}:${t.prior_usage?.length ?? 0}`;

describe("scenarioGeneration (virtual time)", () => {
  it("is the identity when off: same values, same frames", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const a = without("a");
      expectObservable(cold("a--a|", { a }).pipe(scenarioGeneration())).toBe("a--a|", { a });
    });
  });

  it("passes a task with its own scenario at once; one without waits for the model (20 ms)", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, flush }) => {
      const model = new FakeChatModel({ scheduler: ts, latencyMs: 20, respond: () => SCENARIO });
      const tasks = cold("ab|", { a: without("a"), b: withOwnScenario });
      const out = tasks.pipe(
        scenarioGeneration({
          generator: new ScenarioGenerator(model),
          concurrency: 4,
          callRetry,
          prices: new PriceTable(),
          scheduler: ts,
        }),
        map(summary),
      );
      // b overtakes a: it needs no call, so it moves on in its own frame (1 ms); a follows at 20 ms
      // with the generated scenario and the call in its usage, and the stream completes with it.
      expectObservable(out).toBe("-b 18ms (a|)", {
        a: "a:ship the fix today:1",
        b: "own:brought with the query:0",
      });
      flush();
      expect(model.callCount).toBe(1);
    });
  });

  it("runs `concurrency` calls at a time: with 1, the second task's call starts when the first ends", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const model = new FakeChatModel({ scheduler: ts, latencyMs: 20, respond: () => SCENARIO });
      const out = cold("(ab|)", { a: without("a"), b: without("b") }).pipe(
        scenarioGeneration({
          generator: new ScenarioGenerator(model),
          concurrency: 1,
          callRetry,
          prices: new PriceTable(),
          scheduler: ts,
        }),
        map((t) => t.interaction_id),
      );
      expectObservable(out).toBe("20ms a 19ms (b|)");
    });
  });

  it("leaves the query as the goal when the call fails, moving on when the failure comes", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const model = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: () => new ProviderError("auth", "401 bad key"),
      });
      const out = cold("a|", { a: without("a") }).pipe(
        scenarioGeneration({
          generator: new ScenarioGenerator(model),
          concurrency: 1,
          callRetry,
          prices: new PriceTable(),
          scheduler: ts,
        }),
        map(summary),
      );
      // No scenario, no usage recorded by this step: the conversation derives one from the query.
      expectObservable(out).toBe("10ms (a|)", { a: "a:none:0" });
    });
  });
});
