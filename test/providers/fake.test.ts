import { retry } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/errors.js";
import { createFakeChatModel, echoResponder, FakeChatModel } from "../../src/providers/fake.js";
import { USER_ROLE_MARKER } from "../../src/providers/scripted-replies.js";
import type { ChatRequest } from "../../src/providers/types.js";

const ask = (content: string): ChatRequest => ({ messages: [{ role: "user", content }] });

describe("FakeChatModel.complete", () => {
  it("answers with the echo responder by default, counting and recording calls", async () => {
    const fake = new FakeChatModel();
    const first = await fake.complete(ask("What is the capital of France and why is it there?"));
    const second = await fake.complete(ask("And Spain?"));
    expect(first.text).toBe("reply 0 to: What is the capital of France and why is");
    expect(second.text).toBe("reply 1 to: And Spain?");
    expect(fake.callCount).toBe(2);
    expect(fake.calls.map((c) => c.messages[0]?.content)).toEqual([
      "What is the capital of France and why is it there?",
      "And Spain?",
    ]);
    expect(first).toMatchObject({ finishReason: "stop", provider: "fake", model: "fake-model" });
  });

  it("estimates usage as characters / 4", async () => {
    const fake = new FakeChatModel({ respond: () => "abcdefghi" });
    const result = await fake.complete(ask("12345678"));
    expect(result.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3 });
  });

  it("plays a list of replies in order, fails with a returned Error, and fails past the end", async () => {
    const rateLimited = new ProviderError("rate_limit", "scripted 429", { retryAfterMs: 10 });
    const fake = new FakeChatModel({ respond: ["one", rateLimited, "three"] });
    await expect(fake.complete(ask("a"))).resolves.toMatchObject({ text: "one" });
    await expect(fake.complete(ask("b"))).rejects.toBe(rateLimited);
    await expect(fake.complete(ask("c"))).resolves.toMatchObject({ text: "three" });
    await expect(fake.complete(ask("d"))).rejects.toThrow(/script exhausted: 3 replies scripted, call 4/);
  });

  it("turns a throwing responder into a rejection", async () => {
    const fake = new FakeChatModel({
      respond: () => {
        throw new Error("responder bug");
      },
    });
    await expect(fake.complete(ask("x"))).rejects.toThrow("responder bug");
  });

  it("waits latencyMs of real time and can be aborted meanwhile", async () => {
    const fake = new FakeChatModel({ latencyMs: 30 });
    const started = performance.now();
    await fake.complete(ask("x"));
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);

    const controller = new AbortController();
    const slow = new FakeChatModel({ latencyMs: 10_000 });
    const pending = slow.complete({ ...ask("y"), signal: controller.signal });
    controller.abort(new Error("stop"));
    await expect(pending).rejects.toThrow("stop");
  });
});

describe("FakeChatModel.complete$ in virtual time", () => {
  it("emits after latencyMs of scheduler time, and each resubscription is a new call", () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ expectObservable }) => {
      const fake = new FakeChatModel({
        latencyMs: 100,
        scheduler,
        respond: (_request, index) => (index < 2 ? new ProviderError("server", `503 #${index}`) : "ok"),
      });
      // Two failures 100 ms apart, then success: 3 calls × 100 virtual ms.
      const result$ = fake.complete$(ask("hi")).pipe(retry(2));
      expectObservable(result$).toBe("300ms (r|)", {
        r: {
          text: "ok",
          usage: { prompt_tokens: 1, completion_tokens: 1 },
          finishReason: "stop",
          provider: "fake",
          model: "fake-model",
        },
      });
      scheduler.flush();
      expect(fake.callCount).toBe(3);
    });
  });

  it("errors after the latency when the reply is an Error, and unsubscribing cancels", () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ expectObservable }) => {
      const failure = new ProviderError("timeout", "scripted");
      const failing = new FakeChatModel({ latencyMs: 50, scheduler, respond: [failure] });
      expectObservable(failing.complete$(ask("x"))).toBe("50ms #", undefined, failure);

      const slow = new FakeChatModel({ latencyMs: 100, scheduler });
      expectObservable(slow.complete$(ask("x")), "^ 40ms !").toBe("");
    });
  });
});

describe("provider fake from config", () => {
  it("answers deterministically and in the user's voice when the request simulates the user", async () => {
    const fake = createFakeChatModel({ provider: "fake", model: "scripted" });
    const assistantTurn: ChatRequest = {
      messages: [{ role: "user", content: "How do I configure caching for my Postgres database?" }],
    };
    const userTurn: ChatRequest = {
      messages: [
        { role: "system", content: `${USER_ROLE_MARKER} described below.` },
        { role: "user", content: "You can configure caching through shared_buffers." },
      ],
    };
    const a1 = await fake.complete(assistantTurn);
    const a2 = await fake.complete(assistantTurn);
    const u = await fake.complete(userTurn);
    expect(a1.text).toBe(a2.text);
    expect(a1.text).toMatch(/^Here is an answer about configure and caching\./);
    expect(u.text).toMatch(/configure and caching|shared_buffers/);
    expect(u.text).not.toMatch(/^Here is an answer/);
    expect(u.text).not.toContain("###STOP###");
    expect(u.model).toBe("scripted");
  });

  it("echoResponder is usable on its own", () => {
    expect(echoResponder({ messages: [] }, 5)).toBe("reply 5 to: ");
  });
});
