// cachedCall: a hit emits the stored result at once without calling the model; a miss takes the
// model's latency and stores the result. Virtual time throughout, except the on-disk replay.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  asyncScheduler,
  concat,
  concatMap,
  defer,
  firstValueFrom,
  from,
  lastValueFrom,
  type Observable,
  of,
  reduce,
  toArray,
} from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { cachedCall, cachedCallByKey } from "../../src/cache/cached-call.js";
import { type ModelIdentity, responseKey } from "../../src/cache/key.js";
import { MemoryResponseCache } from "../../src/cache/memory-cache.js";
import { SegmentResponseCache } from "../../src/cache/segment-cache.js";
import type { ResponseCache } from "../../src/cache/types.js";
import { callModel } from "../../src/operators/call-model.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { ChatMessage, ChatRequest, ChatResult } from "../../src/providers/types.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const identity: ModelIdentity = { provider: "fake", model: "fake-model" };
const request: ChatRequest = { messages: [{ role: "user", content: "hi" }], temperature: 0.7, seed: 1 };
const retry = { count: 2, baseDelayMs: 100, maxDelayMs: 400 };

describe("cachedCall (virtual time)", () => {
  it("a miss takes the model's latency and stores the result; the hit then emits at once", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const cache = new MemoryResponseCache();
      const model = new FakeChatModel({ scheduler: testScheduler, latencyMs: 50, respond: ["stored reply"] });
      const call = () => cachedCall(cache, identity, request, model.complete$(request));
      expectObservable(call()).toBe("50ms (a|)", { a: expect.objectContaining({ text: "stored reply" }) });
      // Asked again at 100 ms: answered in the same frame, marked cached, no model call.
      expectObservable(cold("100ms a").pipe(concatMap(call))).toBe("100ms a", {
        a: expect.objectContaining({ text: "stored reply", cached: true }),
      });
      flush();
      expect(model.callCount).toBe(1); // the script holds one reply: a second call would fail
      expect(cache.stats()).toMatchObject({ misses: 1, writes: 1, hits: 1 });
    });
  });

  it("does not subscribe to the call on a hit", () => {
    const cache = new MemoryResponseCache();
    const key = responseKey(identity, request);
    cache.put(key, {
      text: "x",
      usage: { prompt_tokens: 1, completion_tokens: 1 },
      finishReason: "stop",
      provider: "fake",
      model: "fake-model",
    });
    let subscriptions = 0;
    const call$ = defer(() => {
      subscriptions++;
      return of<ChatResult>({
        text: "live",
        usage: { prompt_tokens: 1, completion_tokens: 1 },
        finishReason: "stop",
        provider: "fake",
        model: "m",
      });
    });
    const values: ChatResult[] = [];
    cachedCallByKey(cache, key, call$).subscribe((v) => values.push(v));
    expect(subscriptions).toBe(0);
    expect(values).toEqual([expect.objectContaining({ text: "x", cached: true })]);
  });

  it("stores nothing when the call fails, so the next run calls again", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ expectObservable }) => {
      const cache = new MemoryResponseCache();
      const auth = new ProviderError("auth", "401");
      const model = new FakeChatModel({ scheduler: testScheduler, latencyMs: 10, respond: [auth] });
      expectObservable(cachedCall(cache, identity, request, model.complete$(request))).toBe(
        "10ms #",
        undefined,
        auth,
      );
    });
  });

  it("sits outside the retries: a retried 429 is stored once, and replayed with no wait", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ expectObservable }) => {
      const cache = new MemoryResponseCache();
      const model = new FakeChatModel({
        scheduler: testScheduler,
        latencyMs: 10,
        respond: [new ProviderError("rate_limit", "429", { retryAfterMs: 1000 }), "ok"],
      });
      const call$ = () =>
        cachedCall(
          cache,
          identity,
          request,
          callModel(model, request, { retry, scheduler: testScheduler, jitterSeed: 1 }),
        );
      expectObservable(call$()).toBe("1020ms (a|)", { a: expect.objectContaining({ text: "ok" }) });
      expectObservable(testScheduler.createColdObservable("1100ms a").pipe(concatMap(() => call$()))).toBe(
        "1100ms a",
        { a: expect.objectContaining({ text: "ok", cached: true }) },
      );
    });
  });

  it("neither stores nor replays what the caller would reject", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ flush }) => {
      const cache = new MemoryResponseCache();
      const model = new FakeChatModel({
        scheduler: testScheduler,
        latencyMs: 5,
        respond: ["", "good", "again"],
      });
      const accept = (r: ChatResult) => r.text.trim() !== "";
      const texts: string[] = [];
      const call = () => cachedCall(cache, identity, request, model.complete$(request), { accept });
      concat(call(), call(), call()).subscribe((r) => texts.push(r.text));
      flush();
      expect(texts).toEqual(["", "good", "good"]);
      expect(model.callCount).toBe(2);
    });
  });

  it("passes the call through untouched without a cache (--no-cache)", () => {
    const call$ = of<ChatResult>({
      text: "t",
      usage: { prompt_tokens: 1, completion_tokens: 1 },
      finishReason: "stop",
      provider: "p",
      model: "m",
    });
    expect(cachedCall(undefined, identity, request, call$)).toBe(call$);
  });
});

// Three conversations of three turns: each request carries the replies before it, as in a run.
function runConversations(
  cache: ResponseCache,
  model: FakeChatModel,
  schedulerCall = (r: ChatRequest) => model.complete$(r),
): Observable<ChatResult[]> {
  return from([1, 2, 3]).pipe(
    concatMap((conversation) => {
      let messages: ChatMessage[] = [{ role: "user", content: `question ${conversation}` }];
      return from([1, 2, 3]).pipe(
        concatMap((turn) => {
          const req: ChatRequest = {
            messages,
            temperature: 0.7,
            maxTokens: 64,
            seed: conversation * 100 + turn,
          };
          return cachedCall(cache, identity, req, schedulerCall(req)).pipe(
            concatMap((result) => {
              messages = [
                ...messages,
                { role: "assistant", content: result.text },
                { role: "user", content: `more ${turn}` },
              ];
              return of(result);
            }),
          );
        }),
      );
    }),
    toArray(),
  );
}

const strip = ({ text, usage, finishReason, provider, model }: ChatResult) => ({
  text,
  usage,
  finishReason,
  provider,
  model,
});

describe("replay", () => {
  it("a second run with a fresh model makes no call and reproduces texts and usage (virtual time)", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ flush }) => {
      const cache = new MemoryResponseCache();
      const first = new FakeChatModel({
        scheduler: testScheduler,
        latencyMs: 30,
        respond: (r, i) => `first model, call ${i}, seed ${r.seed}`,
      });
      const second = new FakeChatModel({
        scheduler: testScheduler,
        latencyMs: 30,
        respond: (_r, i) => `second model, call ${i}`,
      });
      let original: ChatResult[] = [];
      let replay: ChatResult[] = [];
      runConversations(cache, first).subscribe((r) => (original = r));
      flush();
      const replayStart = testScheduler.now();
      runConversations(cache, second).subscribe((r) => (replay = r));
      flush();
      expect(first.callCount).toBe(9);
      expect(second.callCount).toBe(0);
      expect(testScheduler.now()).toBe(replayStart); // no latency at all
      expect(replay.map(strip)).toEqual(original.map(strip));
      expect(replay.every((r) => r.cached === true)).toBe(true);
      expect(original.some((r) => r.cached)).toBe(false);
    });
  });

  it("replays from disk in a later run, through callModel", async () => {
    const dir = await mkdtemp(join(tmpdir(), "convosim-replay-"));
    try {
      const run = async (model: FakeChatModel) => {
        const cache = new SegmentResponseCache(dir);
        const results = await firstValueFrom(
          runConversations(cache, model, (r) =>
            callModel(model, r, { retry, scheduler: asyncScheduler, jitterSeed: 1 }),
          ),
        );
        await cache.close();
        return { results, stats: cache.stats() };
      };
      const first = new FakeChatModel({ respond: (r, i) => `first ${i} ${r.seed}` });
      const second = new FakeChatModel({ respond: () => "second" });
      const original = await run(first);
      const replay = await run(second);
      expect(first.callCount).toBe(9);
      expect(second.callCount).toBe(0);
      expect(original.stats).toMatchObject({ writes: 9, misses: 9, hits: 0 });
      expect(replay.stats).toMatchObject({ writes: 0, misses: 0, hits: 9 });
      expect(replay.results.map(strip)).toEqual(original.results.map(strip));
      const totals = (rs: ChatResult[]) =>
        lastValueFrom(
          from(rs).pipe(reduce((n, r) => n + r.usage.prompt_tokens + r.usage.completion_tokens, 0)),
        );
      expect(await totals(replay.results)).toBe(await totals(original.results));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
