// styleTransfer: off it passes tasks through; on it rewrites the query in the persona's voice.
import { lastValueFrom, map, of, toArray } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/conversation/pricing.js";
import { conversation } from "../../src/operators/converse.js";
import { styleTransfer } from "../../src/operators/style-transfer.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel } from "../../src/providers/fake.js";
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

  it("turns a failed rewrite into a failure record of that conversation, not a silent fallback", async () => {
    const model = new FakeChatModel({ respond: () => new ProviderError("auth", "401") });
    const [task] = await lastValueFrom(
      of(makeTask()).pipe(
        styleTransfer({ model, concurrency: 1, callRetry, prices: new PriceTable() }),
        toArray(),
      ),
    );
    expect(task?.preflight_error?.error_kind).toBe("auth");
    const unused = new FakeChatModel({ respond: () => "never" });
    const result = await lastValueFrom(conversation(task!, makeDeps({ assistant: unused, user: unused })));
    expect(result.kind).toBe("failure");
    expect(unused.callCount).toBe(0);
  });
});
