// The stand-in server's building blocks: seeded shaping (latency, faults, token bucket), the
// wire format, and the content-derived replies it shares with the fake provider.
import { describe, expect, it } from "vitest";
import { faultDrawer, latencySampler, seededStreams, TokenBucket } from "../../bench/stand-in-shaping.js";
import { type Counts, contentPieces, sseBody } from "../../bench/stand-in-wire.js";
import { mulberry32 } from "../../src/conversation/random.js";
import {
  hashMessages,
  keywords,
  scriptedReply,
  USER_ROLE_MARKER,
} from "../../src/providers/scripted-replies.js";
import type { ChatMessage } from "../../src/providers/types.js";

describe("latencySampler", () => {
  it("draws within the distribution's support, reproducibly for a seed", () => {
    const draw = (seed: number) => {
      const sample = latencySampler({ kind: "uniform", minMs: 100, maxMs: 200 }, mulberry32(seed));
      return Array.from({ length: 200 }, sample);
    };
    const a = draw(1);
    expect(a).toEqual(draw(1));
    expect(a).not.toEqual(draw(2));
    expect(Math.min(...a)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...a)).toBeLessThanOrEqual(200);
  });

  it("normal is clamped at 0; lognormal centres on its median; a number is fixed", () => {
    const normal = latencySampler({ kind: "normal", meanMs: 10, sdMs: 50 }, mulberry32(3));
    expect(Array.from({ length: 500 }, normal).every((v) => v >= 0)).toBe(true);
    const lognormal = latencySampler({ kind: "lognormal", medianMs: 400, sigma: 0.5 }, mulberry32(4));
    const values = Array.from({ length: 2001 }, lognormal).sort((x, y) => x - y);
    expect(values[1000]).toBeGreaterThan(300);
    expect(values[1000]).toBeLessThan(530);
    expect(latencySampler(250, mulberry32(5))()).toBe(250);
    expect(latencySampler(undefined, mulberry32(5))()).toBe(0);
  });
});

describe("faultDrawer", () => {
  it("draws faults at about the configured rates, reproducibly", () => {
    const draws = (seed: number) => {
      const next = faultDrawer(
        { serverErrorRate: 0.1, rateLimitRate: 0.05, timeoutRate: 0.02, malformedRate: 0.03 },
        seededStreams(seed).faults,
      );
      return Array.from({ length: 10_000 }, next);
    };
    const faults = draws(7);
    expect(faults).toEqual(draws(7));
    const share = (pred: (f: string | undefined) => boolean) => faults.filter(pred).length / faults.length;
    expect(share((f) => f === "server_500" || f === "server_503")).toBeCloseTo(0.1, 1);
    expect(share((f) => f === "rate_limit")).toBeCloseTo(0.05, 1);
    expect(share((f) => f === "timeout")).toBeCloseTo(0.02, 1);
    expect(share((f) => f === "invalid_json" || f === "no_choices")).toBeCloseTo(0.03, 1);
    expect(share((f) => f === undefined)).toBeCloseTo(0.8, 1);
  });

  it("rejects rates that add up to more than 1 and draws nothing when all are 0", () => {
    expect(() => faultDrawer({ serverErrorRate: 0.7, timeoutRate: 0.5 }, Math.random)).toThrow(/more than 1/);
    const none = faultDrawer({}, () => 0);
    expect(none()).toBeUndefined();
  });
});

describe("TokenBucket", () => {
  it("admits a burst, refuses with Retry-After until refilled, and reports x-ratelimit headers", () => {
    let now = 0;
    const bucket = new TokenBucket(60, 2, () => now); // one per second, burst of two
    expect(bucket.take().ok).toBe(true);
    const second = bucket.take();
    expect(second).toMatchObject({
      ok: true,
      headers: { "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0" },
    });
    const refused = bucket.take();
    expect(refused.ok).toBe(false);
    expect(refused.retryAfterMs).toBe(1000);
    expect(refused.headers["x-ratelimit-reset-requests"]).toBe("2.000s");
    now = 500;
    expect(bucket.take()).toMatchObject({ ok: false, retryAfterMs: 500 });
    now = 1000;
    expect(bucket.take().ok).toBe(true);
    bucket.reset();
    expect(bucket.take().ok).toBe(true);
  });

  it("defaults the burst to one second's worth of the per-minute cap", () => {
    const bucket = new TokenBucket(600, undefined, () => 0);
    const admitted = Array.from({ length: 20 }, () => bucket.take().ok).filter(Boolean).length;
    expect(admitted).toBe(10);
  });
});

describe("wire format", () => {
  it("content pieces join back to the text", () => {
    for (const text of ["", "one", "  lead and trail  ", "a b c d e f g h i j"]) {
      expect(contentPieces(text).join("")).toBe(text);
    }
  });

  it("SSE ends with [DONE] and carries usage only when asked", () => {
    const counts: Counts = {
      text: "Hello there friend, how are you today?",
      finishReason: "stop",
      promptTokens: 5,
      completionTokens: 10,
    };
    const request = { id: "r1", model: "m", messages: [], maxTokens: undefined };
    const withUsage = sseBody(request, counts, true);
    const without = sseBody(request, counts, false);
    expect(withUsage.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(withUsage).toContain('"usage":{"prompt_tokens":5,"completion_tokens":10');
    expect(without).not.toContain('"prompt_tokens"');
  });
});

describe("scripted replies", () => {
  const history: ChatMessage[] = [
    { role: "user", content: "Which database should I choose for analytics workloads?" },
  ];

  it("are a function of the request", () => {
    expect(scriptedReply(history)).toBe(scriptedReply([...history]));
    expect(scriptedReply(history)).not.toBe(
      scriptedReply([{ role: "user", content: "Explain Kubernetes networking" }]),
    );
    expect(hashMessages(history)).not.toBe(
      hashMessages([{ role: "assistant", content: history[0]!.content }]),
    );
  });

  it("pick content words of the last non-system message", () => {
    expect(keywords("Could you explain the difference between Postgres and MySQL?")).toEqual([
      "difference",
      "postgres",
    ]);
    expect(keywords("Could you explain the difference between Postgres and MySQL?", 3)).toEqual([
      "difference",
      "postgres",
      "mysql",
    ]);
    expect(scriptedReply([...history, { role: "system", content: "ignored system text" }])).toContain(
      "database",
    );
  });

  it("speak as the user only when the system prompt carries the marker", () => {
    const asUser = scriptedReply([{ role: "system", content: `${USER_ROLE_MARKER}.` }, ...history]);
    expect(asUser).toMatch(/\?$/);
    expect(asUser).not.toMatch(/^Here is an answer/);
    expect(scriptedReply([{ role: "user", content: USER_ROLE_MARKER }])).toMatch(/^Here is an answer/);
  });
});
