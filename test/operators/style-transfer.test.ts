// styleTransfer: off it passes tasks through; on it rewrites the query in the persona's voice.
import { lastValueFrom, map, mergeMap, of } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/conversation/pricing.js";
import { conversation } from "../../src/operators/converse.js";
import { styleTransfer } from "../../src/operators/style-transfer.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { ChatRequest } from "../../src/providers/types.js";
import { makeDeps, makeTask } from "../support/pipeline-fixtures.js";

const callRetry = { count: 0, baseDelayMs: 1, maxDelayMs: 1 };

describe("styleTransfer", () => {
  it("is the identity when off", async () => {
    const task = makeTask();
    expect(await lastValueFrom(of(task).pipe(styleTransfer()))).toBe(task);
  });

  it("rewrites initial_query, keeps original_query, and records the call (virtual time)", () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    ts.run(({ cold, expectObservable }) => {
      const model = new FakeChatModel({
        scheduler: ts,
        latencyMs: 30,
        respond: () => '"yo can u help w/ python"',
      });
      const tasks = cold("a-b|", {
        a: makeTask({ interaction_id: "a" }),
        b: makeTask({ interaction_id: "b" }),
      });
      const styled = tasks.pipe(
        styleTransfer({ model, concurrency: 4, callRetry, prices: new PriceTable(), scheduler: ts }),
        map((t) => `${t.interaction_id}:${t.initial_query}:${t.original_query}:${t.prior_usage?.length}`),
      );
      expectObservable(styled).toBe("30ms a-(b|)", {
        a: "a:yo can u help w/ python:Help me write Python code:1",
        b: "b:yo can u help w/ python:Help me write Python code:1",
      });
    });
  });

  it("turns a failed rewrite into a failure record of that conversation, not a silent fallback", () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    ts.run(({ cold, expectObservable, flush }) => {
      const model = new FakeChatModel({
        scheduler: ts,
        latencyMs: 30,
        respond: () => new ProviderError("auth", "401"),
      });
      // The task moves on when the failed call comes back (30 ms), carrying the error; the
      // conversation then fails at once (0 ms) without calling any model.
      const unused = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "never" });
      const deps = makeDeps({ assistant: unused, user: unused, scheduler: ts });
      const results = cold("a|", { a: makeTask() }).pipe(
        styleTransfer({ model, concurrency: 1, callRetry, prices: new PriceTable(), scheduler: ts }),
        mergeMap((task) => conversation(task, deps)),
        map((r) => (r.kind === "failure" ? `failure:${r.failure.error_kind}` : r.kind)),
      );
      expectObservable(results).toBe("30ms (f|)", { f: "failure:auth" });
      flush();
      expect(unused.callCount).toBe(0);
    });
  });

  it("rewrites `concurrency` tasks at a time, in the order their calls finish", () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    ts.run(({ cold, expectObservable }) => {
      // The first rewrite takes 30 ms, the others 10 ms: with concurrency 2, b overtakes a, and c
      // starts only when b's slot frees (10 ms) and is done at 20 ms.
      const model = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "styled" });
      const slow = new FakeChatModel({ scheduler: ts, latencyMs: 30, respond: () => "styled slowly" });
      const byTask = {
        provider: model.provider,
        model: model.model,
        complete: (r: ChatRequest) => model.complete(r),
        complete$: (r: ChatRequest) =>
          r.messages[0]?.content.includes("Slow one") ? slow.complete$(r) : model.complete$(r),
      };
      const tasks = cold("(abc|)", {
        a: makeTask({ interaction_id: "a", original_query: "Slow one" }),
        b: makeTask({ interaction_id: "b" }),
        c: makeTask({ interaction_id: "c" }),
      });
      const order = tasks.pipe(
        styleTransfer({ model: byTask, concurrency: 2, callRetry, prices: new PriceTable(), scheduler: ts }),
        map((t) => t.interaction_id),
      );
      expectObservable(order).toBe("10ms b 9ms c 9ms (a|)");
    });
  });
});
