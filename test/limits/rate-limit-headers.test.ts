// Rate-limit headers → RateLimitInfo, on results and on 429 errors of both HTTP providers, and the
// endpoint keys that decide which models share a budget.
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { AnthropicChatModel } from "../../src/providers/anthropic.js";
import { ProviderError } from "../../src/providers/errors.js";
import { OpenAIChatModel } from "../../src/providers/openai.js";
import {
  httpEndpointKey,
  parseAnthropicRateLimit,
  parseDurationMs,
  parseOpenAIRateLimit,
  parseRateLimitHeaders,
} from "../../src/providers/rate-limit-headers.js";
import { createChatModel } from "../../src/providers/registry.js";

const SECRET = "sk-test-RATE-LIMIT-SECRET-77";
const getter = (headers: Record<string, string>) => (name: string) => headers[name];

describe("parseDurationMs", () => {
  it.each([
    ["1s", 1000],
    ["6m0s", 360_000],
    ["20ms", 20],
    ["0.123s", 123],
    ["1h2m3.5s", 3_723_500],
    ["2", 2000],
  ])("%s → %i ms", (text, ms) => expect(parseDurationMs(text)).toBeCloseTo(ms, 6));

  it("rejects what is not a duration", () => {
    expect(parseDurationMs("soon")).toBeUndefined();
    expect(parseDurationMs("1 minute")).toBeUndefined();
    expect(parseDurationMs("")).toBeUndefined();
    expect(parseDurationMs(undefined)).toBeUndefined();
  });
});

describe("parseOpenAIRateLimit", () => {
  it("reads the x-ratelimit-* family", () => {
    const info = parseOpenAIRateLimit(
      getter({
        "x-ratelimit-limit-requests": "3000",
        "x-ratelimit-remaining-requests": "2999",
        "x-ratelimit-reset-requests": "20ms",
        "x-ratelimit-limit-tokens": "250000",
        "x-ratelimit-remaining-tokens": "249000",
        "x-ratelimit-reset-tokens": "6m0s",
      }),
    );
    expect(info).toEqual({
      limitRequests: 3000,
      remainingRequests: 2999,
      resetRequestsMs: 20,
      limitTokens: 250_000,
      remainingTokens: 249_000,
      resetTokensMs: 360_000,
    });
  });

  it("is undefined for a server that sends none, and keeps only the fields that parse", () => {
    expect(parseOpenAIRateLimit(getter({}))).toBeUndefined();
    expect(
      parseOpenAIRateLimit(
        getter({ "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "x" }),
      ),
    ).toEqual({ limitRequests: 60 });
  });

  it("reads a remaining count sent without its limit (a gateway's 429 saying the quota is spent)", () => {
    expect(parseOpenAIRateLimit(getter({ "x-ratelimit-remaining-requests": "0" }))).toEqual({
      remainingRequests: 0,
    });
  });
});

describe("parseAnthropicRateLimit", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("reads requests and tokens, resets as RFC 3339 times", () => {
    const info = parseAnthropicRateLimit(
      getter({
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01.5Z",
        "anthropic-ratelimit-tokens-limit": "40000",
        "anthropic-ratelimit-tokens-remaining": "39000",
        "anthropic-ratelimit-tokens-reset": "2026-01-01T00:01:00Z",
      }),
      now,
    );
    expect(info).toEqual({
      limitRequests: 50,
      remainingRequests: 49,
      resetRequestsMs: 1500,
      limitTokens: 40_000,
      remainingTokens: 39_000,
      resetTokensMs: 60_000,
    });
  });

  it("falls back to the input-token family when the combined one is absent", () => {
    const info = parseAnthropicRateLimit(
      getter({
        "anthropic-ratelimit-input-tokens-limit": "20000",
        "anthropic-ratelimit-input-tokens-remaining": "100",
        "anthropic-ratelimit-output-tokens-limit": "8000",
      }),
      now,
    );
    expect(info).toEqual({ limitTokens: 20_000, remainingTokens: 100 });
  });

  it("parseRateLimitHeaders reads either family", () => {
    expect(parseRateLimitHeaders(getter({ "anthropic-ratelimit-requests-limit": "5" }))).toEqual({
      limitRequests: 5,
    });
    expect(parseRateLimitHeaders(getter({ "x-ratelimit-limit-tokens": "7" }))).toEqual({ limitTokens: 7 });
    expect(parseRateLimitHeaders(getter({ "retry-after": "1" }))).toBeUndefined();
  });
});

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const USER = [{ role: "user" as const, content: "hello" }];
const OPENAI_HEADERS = {
  "x-ratelimit-limit-requests": "3000",
  "x-ratelimit-remaining-requests": "12",
  "x-ratelimit-reset-requests": "0.500s",
};

describe("providers attach rate-limit info", () => {
  const completion = {
    choices: [{ message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 1 },
  };

  it("OpenAI: on the result, and on a 429 ProviderError beside Retry-After", async () => {
    let answer = () => json(200, completion, OPENAI_HEADERS);
    const model = new OpenAIChatModel({ provider: "openai", model: "m" }, SECRET, {
      fetch: async () => answer(),
    });
    const result = await model.complete({ messages: USER });
    expect(result.rateLimit).toEqual({ limitRequests: 3000, remainingRequests: 12, resetRequestsMs: 500 });

    answer = () => json(429, { error: { message: "slow" } }, { ...OPENAI_HEADERS, "retry-after-ms": "40" });
    const error = await model.complete({ messages: USER }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: "rate_limit", retryAfterMs: 40, rateLimit: { limitRequests: 3000 } });
    expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
  });

  it("OpenAI: a server without headers leaves rateLimit out", async () => {
    const model = new OpenAIChatModel({ provider: "openai", model: "m" }, SECRET, {
      fetch: async () => json(200, completion),
    });
    expect(await model.complete({ messages: USER })).not.toHaveProperty("rateLimit");
  });

  it("Anthropic: on the result", async () => {
    const body = {
      id: "msg",
      type: "message",
      role: "assistant",
      content: [{ type: "text", text: "hi" }],
      stop_reason: "end_turn",
      usage: { input_tokens: 3, output_tokens: 1 },
    };
    const model = new AnthropicChatModel({ provider: "anthropic", model: "claude" }, SECRET, {
      fetch: async () =>
        json(200, body, {
          "anthropic-ratelimit-requests-limit": "50",
          "anthropic-ratelimit-requests-remaining": "10",
        }),
    });
    const result = await model.complete({ messages: USER });
    expect(result.rateLimit).toEqual({ limitRequests: 50, remainingRequests: 10 });
  });
});

describe("endpoint keys", () => {
  it("name provider, endpoint and key variable, never the key", async () => {
    const env = { OPENAI_API_KEY: SECRET, OTHER_KEY: SECRET };
    const a = await createChatModel({ provider: "openai", model: "gpt-a" }, { env });
    const b = await createChatModel({ provider: "openai", model: "gpt-b" }, { env });
    const c = await createChatModel(
      { provider: "openai", model: "gpt-a", api_key_env: "OTHER_KEY" },
      { env },
    );
    const local = await createChatModel(
      { provider: "openai", model: "x", base_url: "http://127.0.0.1:8000/v1/" },
      { env },
    );
    expect(a.endpointKey).toBe("openai|https://api.openai.com/v1|OPENAI_API_KEY");
    expect(b.endpointKey).toBe(a.endpointKey);
    expect(c.endpointKey).toBe("openai|https://api.openai.com/v1|OTHER_KEY");
    expect(local.endpointKey).toBe("openai|http://127.0.0.1:8000/v1|");
    for (const model of [a, b, c, local]) expect(model.endpointKey).not.toContain(SECRET);
  });

  it("a model built without the registry gets the same key", () => {
    const direct = new OpenAIChatModel({ provider: "openai", model: "m" }, SECRET);
    expect(direct.endpointKey).toBe(httpEndpointKey("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"));
    const claude = new AnthropicChatModel({ provider: "anthropic", model: "c" }, SECRET);
    expect(claude.endpointKey).toBe("anthropic|https://api.anthropic.com|ANTHROPIC_API_KEY");
  });
});
