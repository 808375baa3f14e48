// OpenAIChatModel without a network: the SDK's fetch is injected, so the request it builds and
// the mapping of every kind of answer onto ChatResult / ProviderError can be checked directly.
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ProviderError, type ProviderErrorKind } from "../../src/providers/errors.js";
import { completionLimitField, OpenAIChatModel } from "../../src/providers/openai.js";
import type { ModelConfig } from "../../src/schema/config.js";

const SECRET = "sk-test-UNIT-SECRET-4f9c1e";
const USER = [{ role: "user" as const, content: "Hello there, how are you?" }];

interface Sent {
  url: string;
  headers: Headers;
  body: Record<string, unknown>;
}

function fakeFetch(answer: (sent: Sent) => Response | Promise<Response>, sent: Sent[] = []): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const record: Sent = {
      url: request.url,
      headers: request.headers,
      body: JSON.parse(await request.text()) as Record<string, unknown>,
    };
    sent.push(record);
    return answer(record);
  };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

const completion = (content: unknown, usage?: unknown) => ({
  id: "c1",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  ...(usage === undefined ? {} : { usage }),
});

function model(config: Partial<ModelConfig>, fetchImpl: typeof fetch): OpenAIChatModel {
  return new OpenAIChatModel({ provider: "openai", model: "gpt-test", ...config }, SECRET, {
    fetch: fetchImpl,
  });
}

describe("OpenAIChatModel request", () => {
  it("sends model, messages, temperature, limit, seed and extra_body to the configured endpoint", async () => {
    const sent: Sent[] = [];
    const m = model(
      {
        base_url: "http://127.0.0.1:9/v1",
        temperature: 0.3,
        max_completion_tokens: 50,
        extra_body: { top_p: 0.9 },
      },
      fakeFetch(() => json(200, completion("hi")), sent),
    );
    await m.complete({ messages: USER, seed: 42, temperature: 0.1 });
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request?.url).toBe("http://127.0.0.1:9/v1/chat/completions");
    expect(request?.headers.get("authorization")).toBe(`Bearer ${SECRET}`);
    expect(request?.body).toEqual({
      model: "gpt-test",
      messages: USER,
      temperature: 0.1, // the call's value overrides the config's
      max_tokens: 50, // not api.openai.com: the field every compatible server accepts
      seed: 42,
      top_p: 0.9,
      stream: false,
    });
  });

  it("uses max_completion_tokens on OpenAI itself and lets extra_body choose the field", () => {
    expect(completionLimitField(undefined)).toBe("max_completion_tokens");
    expect(completionLimitField("https://api.openai.com/v1")).toBe("max_completion_tokens");
    expect(completionLimitField("https://openrouter.ai/api/v1")).toBe("max_tokens");
    const m = model({ max_completion_tokens: 10, extra_body: { max_completion_tokens: 99 } }, fetch);
    const body = m.buildBody({ messages: USER });
    expect(body.max_completion_tokens).toBe(99);
    expect(body).not.toHaveProperty("max_tokens");
    expect(
      model({ max_completion_tokens: 10 }, fetch).buildBody({ messages: USER }).max_completion_tokens,
    ).toBe(10);
  });
});

describe("OpenAIChatModel result", () => {
  it("returns text, usage with cached tokens, finish reason, provider and model", async () => {
    const usage = { prompt_tokens: 12, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 8 } };
    const m = model(
      {},
      fakeFetch(() => json(200, completion("Fine, thanks.", usage))),
    );
    await expect(m.complete({ messages: USER })).resolves.toEqual({
      text: "Fine, thanks.",
      usage: { prompt_tokens: 12, completion_tokens: 3, cached_tokens: 8 },
      finishReason: "stop",
      provider: "openai",
      model: "gpt-test",
    });
  });

  it("estimates usage (chars / 4) when the server reports none", async () => {
    const m = model(
      {},
      fakeFetch(() => json(200, completion("12345678"))),
    );
    const result = await m.complete({ messages: USER });
    expect(result.usage).toEqual({
      prompt_tokens: Math.ceil(USER[0]!.content.length / 4),
      completion_tokens: 2,
    });
  });
});

describe("OpenAIChatModel error mapping", () => {
  const cases: Array<[string, () => Response, ProviderErrorKind, Partial<ProviderError>]> = [
    [
      "429 with Retry-After",
      () => json(429, { error: { message: "slow down" } }, { "retry-after": "2", "x-request-id": "req_a" }),
      "rate_limit",
      { status: 429, retryAfterMs: 2000, requestId: "req_a" },
    ],
    [
      "429 with retry-after-ms",
      () => json(429, {}, { "retry-after-ms": "350" }),
      "rate_limit",
      { retryAfterMs: 350 },
    ],
    [
      "500",
      () => json(500, { error: { message: "boom" } }, { "x-request-id": "req_b" }),
      "server",
      { status: 500, requestId: "req_b" },
    ],
    ["503", () => json(503, "overloaded"), "server", { status: 503 }],
    ["408", () => json(408, {}), "timeout", { status: 408 }],
    ["401", () => json(401, { error: { message: "bad key" } }), "auth", { status: 401 }],
    ["403", () => json(403, {}), "auth", { status: 403 }],
    ["400", () => json(400, { error: { message: "bad param" } }), "bad_request", { status: 400 }],
    ["404", () => json(404, {}), "bad_request", { status: 404 }],
    [
      "invalid JSON body",
      () => json(200, '{"choices": [', { "x-request-id": "req_c" }),
      "malformed",
      { requestId: "req_c" },
    ],
    [
      "non-JSON body",
      () => new Response("<html>gateway</html>", { status: 200, headers: { "content-type": "text/html" } }),
      "malformed",
      {},
    ],
    ["JSON without choices", () => json(200, { id: "x", object: "chat.completion" }), "malformed", {}],
    ["empty choices", () => json(200, { choices: [] }), "malformed", {}],
    ["null content", () => json(200, completion(null)), "malformed", {}],
    ["empty content", () => json(200, completion("  \n")), "malformed", {}],
  ];

  it.each(cases)("%s → %s", async (_name, answer, kind, fields) => {
    const m = model({}, fakeFetch(answer));
    const error = await m.complete({ messages: USER }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe(kind);
    expect(error).toMatchObject(fields);
    expect(String(error)).not.toContain(SECRET);
    expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
  });

  it("a refused connection → connection, with the cause's code in the message", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    const m = model({}, async () => {
      throw new TypeError("fetch failed", { cause: refused });
    });
    const error = (await m.complete({ messages: USER }).catch((e: unknown) => e)) as ProviderError;
    expect(error.kind).toBe("connection");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("no answer within request_timeout → timeout", async () => {
    const hang: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    const m = model({ request_timeout: 0.05 }, hang);
    const error = (await m.complete({ messages: USER }).catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.kind).toBe("timeout");
  });

  it("a body that stalls after the headers → timeout (the deadline covers the body)", async () => {
    const stalled: typeof fetch = async (_input, init) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"choices":'));
          init?.signal?.addEventListener("abort", () =>
            controller.error(new DOMException("aborted", "AbortError")),
          );
        },
      });
      return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
    };
    const m = model({ request_timeout: 0.05 }, stalled);
    await expect(m.complete({ messages: USER })).rejects.toMatchObject({ kind: "timeout" });
  });

  it("an already aborted signal rejects with its reason and sends nothing", async () => {
    const sent: Sent[] = [];
    const m = model(
      {},
      fakeFetch(() => json(200, completion("hi")), sent),
    );
    const reason = new Error("cancelled before start");
    await expect(m.complete({ messages: USER, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(sent).toHaveLength(0);
  });

  it("a caller abort rejects with the abort reason, not a (retryable) ProviderError", async () => {
    const hang: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    const controller = new AbortController();
    const m = model({}, hang);
    const pending = m.complete({ messages: USER, signal: controller.signal });
    const reason = new Error("user pressed Ctrl-C");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});
