// The run's stop signal (a first Ctrl-C or SIGTERM) in virtual time: nothing new is admitted or
// started after it, conversations in flight end at their next model call (unsaved, reported
// with what they paid for), and every wait — retry_delay, a call's backoff, an endpoint's
// admission queue — ends the moment the signal lands.
import { asyncScheduler, from, lastValueFrom, map, Observable } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/conversation/pricing.js";
import type { Admission, Release } from "../../src/limits/types.js";
import { admit } from "../../src/operators/admit.js";
import { callModel } from "../../src/operators/call-model.js";
import type { InterruptedConversation } from "../../src/operators/converse.js";
import { converseAll } from "../../src/operators/converse-all.js";
import { StopRequested } from "../../src/operators/stop.js";
import { styleTransfer } from "../../src/operators/style-transfer.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { ChatModel, ChatRequest } from "../../src/providers/types.js";
import { makeDeps, makeTask } from "../support/pipeline-fixtures.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

// A follow-up the turn guards accept, different every time it is asked.
let asked = 0;
const followUp = () => `Thanks. Could you also show how step ${++asked} handles an empty input list?`;

describe("the stop signal (virtual time)", () => {
  it("admit lets nothing through after the stop, and counts only what it let through", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const stop = new AbortController();
      let counted = 0;
      // Tasks every 10 ms; the signal lands at 15 ms, so c, d and e are never admitted.
      cold("15ms x").subscribe(() => stop.abort());
      const admitted = cold("a 9ms b 9ms c 9ms d 9ms e|").pipe(
        admit({ admitted: () => void counted++ }, stop.signal),
      );
      expectObservable(admitted).toBe("a 9ms b 30ms |");
      ts.flush();
      expect(counted).toBe(2);
    });
  });

  it("converseAll starts no conversation after the stop; those in flight end at their next call, unsaved", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, flush }) => {
      const stop = new AbortController();
      const started: string[] = [];
      const interrupted: InterruptedConversation[] = [];
      let released = 0;
      const assistant = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: () => "Here is the answer.",
      });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: followUp });
      const deps = makeDeps({ assistant, user, minTurns: 2, maxTurns: 2, scheduler: ts });
      // Two-turn conversations take 30 ms (assistant, user, assistant), two at a time: a and b
      // finish at 30 ms, c and d start then; the signal lands at 35 ms while their first
      // assistant call is out. That call finishes at 40 ms (it is paid for), and c and d end
      // there, unsaved; e, waiting in mergeMap's buffer, never starts.
      cold("35ms x").subscribe(() => stop.abort());
      const results = cold("(abcde|)").pipe(
        map((id) => makeTask({ interaction_id: id, seed: id.charCodeAt(0) })),
        converseAll({
          ...deps,
          stopSignal: stop.signal,
          concurrency: 2,
          backpressure: { released: () => void released++ },
          events: {
            onStart: (task) => void started.push(task.interaction_id),
            onInterrupted: (c) => void interrupted.push(c),
          },
        }),
        map((r) => (r.kind === "interaction" ? r.interaction.interaction_id : "failed")),
      );
      expectObservable(results).toBe("30ms (ab) 6ms |");
      flush();
      expect(started).toEqual(["a", "b", "c", "d"]);
      expect(interrupted.map((c) => [c.interaction_id, c.started, c.completed_turns])).toEqual([
        ["c", true, 1],
        ["d", true, 1],
      ]);
      // Each paid for its one assistant call; the ledger gets it.
      expect(interrupted.map((c) => c.usage.length)).toEqual([1, 1]);
      expect(released).toBe(5); // every slot comes back, the unstarted task's too
    });
  });

  it("ends a conversation waiting out retry_delay the moment the signal lands", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, flush }) => {
      const stop = new AbortController();
      const interrupted: string[] = [];
      const assistant = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: () => new ProviderError("server", "overloaded", { status: 503 }),
      });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: followUp });
      // No call retries; the conversation retries its step after retry_delay (2 s) — but the
      // signal at 15 ms ends that wait, and the conversation with it.
      const deps = makeDeps({ assistant, user, scheduler: ts, callRetryCount: 0, retryDelayMs: 2000 });
      cold("15ms x").subscribe(() => stop.abort());
      const results = cold("a|").pipe(
        map(() => makeTask({ interaction_id: "a" })),
        converseAll({
          ...deps,
          stopSignal: stop.signal,
          concurrency: 1,
          events: { onInterrupted: (c) => void interrupted.push(c.interaction_id) },
        }),
      );
      expectObservable(results).toBe("15ms |");
      flush();
      expect(interrupted).toEqual(["a"]);
    });
  });

  it("ends a call's backoff (a Retry-After of an hour) the moment the signal lands", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, flush }) => {
      const stop = new AbortController();
      let calls = 0;
      const assistant = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: () => {
          calls++;
          return new ProviderError("rate_limit", "slow down", { status: 429, retryAfterMs: 60_000 });
        },
      });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: followUp });
      const deps = makeDeps({ assistant, user, scheduler: ts });
      cold("25ms x").subscribe(() => stop.abort());
      const results = cold("a|").pipe(
        map(() => makeTask({ interaction_id: "a" })),
        converseAll({
          ...deps,
          callRetry: { count: 3, baseDelayMs: 100, maxDelayMs: 1000 },
          stopSignal: stop.signal,
          concurrency: 1,
        }),
      );
      expectObservable(results).toBe("25ms |");
      flush();
      expect(calls).toBe(1); // no retry was sent after the stop
    });
  });

  it("withdraws a call queued for its endpoint's admission the moment the signal lands", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, flush }) => {
      const stop = new AbortController();
      let queued = 0;
      let withdrawn = 0;
      // An endpoint that never admits anything (paused for hours, say).
      const closed: Admission = {
        admit: () =>
          new Observable<Release>(() => {
            queued++;
            return () => void withdrawn++;
          }),
      };
      const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "answer" });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: followUp });
      const deps = makeDeps({ assistant, user, scheduler: ts });
      cold("40ms x").subscribe(() => stop.abort());
      const results = cold("a|").pipe(
        map(() => makeTask({ interaction_id: "a" })),
        converseAll({ ...deps, admissionFor: () => closed, stopSignal: stop.signal, concurrency: 1 }),
      );
      expectObservable(results).toBe("40ms |");
      flush();
      expect([queued, withdrawn]).toEqual([1, 1]);
      expect(assistant.callCount).toBe(0);
    });
  });

  it("style transfer starts no call after the stop and passes the task on untouched", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, flush }) => {
      const stop = new AbortController();
      let calls = 0;
      const model = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: () => {
          calls++;
          return "hey so how do i do this";
        },
      });
      cold("15ms x").subscribe(() => stop.abort());
      const queries = cold("a 19ms b|").pipe(
        map((id) =>
          makeTask({ interaction_id: id, original_query: `question ${id}`, initial_query: `question ${id}` }),
        ),
        styleTransfer({
          model,
          concurrency: 2,
          callRetry: { count: 0, baseDelayMs: 1, maxDelayMs: 1 },
          prices: new PriceTable(),
          scheduler: ts,
          stopSignal: stop.signal,
        }),
        map((task) => task.initial_query),
      );
      // a's rewrite was sent before the signal and finishes; b arrives after it: no call.
      expectObservable(queries).toBe("10ms a 9ms b|", { a: "hey so how do i do this", b: "question b" });
      flush();
      expect(calls).toBe(1);
    });
  });
});

describe("the stop signal and a provider's own queue", () => {
  it("a call waiting in the provider's queue (waitSignal) ends with StopRequested; a running one is left alone", async () => {
    const stop = new AbortController();
    const seen: Array<AbortSignal | undefined> = [];
    // A provider whose first call runs (it answers once the test says so) and whose second call
    // waits in its queue until the run's stop ends that wait, like the local model's sequences.
    let finishRunning: (() => void) | undefined;
    const queued: ChatModel = {
      provider: "fake",
      model: "queued",
      complete: (request: ChatRequest) => {
        seen.push(request.waitSignal);
        if (seen.length === 1)
          return new Promise((resolve) => {
            finishRunning = () =>
              resolve({
                text: "done",
                usage: { prompt_tokens: 1, completion_tokens: 1 },
                finishReason: "stop",
                provider: "fake",
                model: "queued",
              });
          });
        return new Promise((_, reject) => {
          request.waitSignal?.addEventListener("abort", () => reject(request.waitSignal?.reason), {
            once: true,
          });
        });
      },
    };
    const options = {
      retry: { count: 0, baseDelayMs: 1, maxDelayMs: 1 },
      scheduler: asyncScheduler,
      jitterSeed: 1,
      stopSignal: stop.signal,
    };
    const running = lastValueFrom(callModel(queued, { messages: [{ role: "user", content: "a" }] }, options));
    const waiting = lastValueFrom(callModel(queued, { messages: [{ role: "user", content: "b" }] }, options));
    stop.abort();
    await expect(waiting).rejects.toBeInstanceOf(StopRequested);
    finishRunning?.();
    await expect(running).resolves.toMatchObject({ text: "done" });
    expect(seen).toEqual([stop.signal, stop.signal]);
  });
});

describe("stop helpers", () => {
  it("an already-stopped admit drops everything", () => {
    const stop = new AbortController();
    stop.abort();
    const seen: number[] = [];
    from([1, 2, 3])
      .pipe(admit({ admitted: () => undefined }, stop.signal))
      .subscribe((n) => seen.push(n));
    expect(seen).toEqual([]);
  });
});
