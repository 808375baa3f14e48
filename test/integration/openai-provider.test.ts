// OpenAIChatModel against the real stand-in server (node:http on loopback): replies and usage,
// latency, every injected fault, the requests-per-minute cap, streaming, and key secrecy.
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { type StandInOptions, type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { ProviderError } from "../../src/providers/errors.js";
import { OpenAIChatModel } from "../../src/providers/openai.js";
import { createChatModel } from "../../src/providers/registry.js";
import { USER_ROLE_MARKER } from "../../src/providers/scripted-replies.js";
import type { ChatRequest } from "../../src/providers/types.js";
import type { ModelConfig } from "../../src/schema/config.js";
import { waitUntil } from "../support/wait.js";

const SECRET = "sk-proj-RECOGNISABLE-SECRET-5e1f2a9b";
const servers: StandInServer[] = [];

async function serve(options: StandInOptions = {}): Promise<StandInServer> {
  const server = await startStandInServer(options);
  servers.push(server);
  return server;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

function model(server: StandInServer, config: Partial<ModelConfig> = {}): OpenAIChatModel {
  return new OpenAIChatModel(
    { provider: "openai", model: "stand-in", base_url: server.url, ...config },
    SECRET,
  );
}

const ASK: ChatRequest = {
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "How should I index a Postgres table for range queries?" },
  ],
};

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("OpenAIChatModel ↔ stand-in server", () => {
  it("answers deterministically with honest usage", async () => {
    const server = await serve();
    const m = model(server);
    const first = await m.complete(ASK);
    const second = await m.complete(ASK);
    expect(first.text).toBe(second.text);
    expect(first.text).toMatch(/^Here is an answer about index and postgres\./);
    const promptChars = ASK.messages.reduce((n, msg) => n + msg.content.length, 0);
    expect(first.usage).toEqual({
      prompt_tokens: Math.ceil(promptChars / 4),
      completion_tokens: Math.ceil(first.text.length / 4),
      cached_tokens: 0,
    });
    expect(first).toMatchObject({ finishReason: "stop", provider: "openai", model: "stand-in" });
    expect(server.stats).toMatchObject({ completions: 2, byStatus: { 200: 2 } });
  });

  it("answers a simulated-user request with a user-style follow-up, never a stop marker", async () => {
    const m = model(await serve());
    const result = await m.complete({
      messages: [
        { role: "system", content: `${USER_ROLE_MARKER} in a conversation. Persona: a data engineer.` },
        { role: "assistant", content: "How should I index a Postgres table?" },
        { role: "user", content: "Use a B-tree index on the timestamp column for range scans." },
      ],
    });
    expect(result.text).not.toMatch(/^Here is an answer/);
    expect(result.text).not.toContain("###STOP###");
    expect(result.text).toMatch(/\?$/);
    expect(result.text).toMatch(/b-tree|index/);
  });

  it("honours max tokens with finish reason length", async () => {
    const result = await model(await serve()).complete({ ...ASK, maxTokens: 3 });
    expect(result.finishReason).toBe("length");
    expect(result.usage.completion_tokens).toBe(3);
  });

  it("respects the configured latency", async () => {
    const m = model(await serve({ latency: 150 }));
    const started = performance.now();
    await m.complete(ASK);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("tracks concurrency", async () => {
    const server = await serve({ latency: 100 });
    const m = model(server);
    await Promise.all(Array.from({ length: 5 }, () => m.complete(ASK)));
    expect(server.stats.maxConcurrent).toBeGreaterThanOrEqual(2);
    expect(server.stats.inFlight).toBe(0);
  });

  it("injected 429 → rate_limit with Retry-After and the request id", async () => {
    const server = await serve({ faults: { rateLimitRate: 1, retryAfterSeconds: 2 } });
    const error = await failure(model(server).complete(ASK));
    expect(error).toMatchObject({ kind: "rate_limit", status: 429, retryAfterMs: 2000 });
    expect(error.requestId).toMatch(/^req_standin_/);
    expect(error.transient).toBe(true);
  });

  it("the requests-per-minute cap answers 429 with Retry-After and x-ratelimit headers", async () => {
    const server = await serve({ requestsPerMinute: 6, burst: 1 });
    const m = model(server);
    await m.complete(ASK);
    const error = await failure(m.complete(ASK));
    expect(error.kind).toBe("rate_limit");
    expect(error.retryAfterMs).toBeGreaterThan(8000); // one request per 10 s
    expect(error.retryAfterMs).toBeLessThanOrEqual(10_000);
    const raw = await fetch(`${server.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get("x-ratelimit-limit-requests")).toBe("6");
    expect(raw.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(Number(raw.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(server.stats.throttled).toBe(2);
  });

  it("a silent cap (rateLimitHeaders: false) answers 429 with Retry-After in whole seconds and nothing else", async () => {
    const server = await serve({ requestsPerMinute: 6, burst: 1, rateLimitHeaders: false });
    const post = () =>
      fetch(`${server.url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
      });
    const ok = await post();
    expect(ok.status).toBe(200);
    expect([...ok.headers.keys()].filter((k) => k.startsWith("x-ratelimit"))).toEqual([]);
    await ok.text();
    const refused = await post();
    expect(refused.status).toBe(429);
    expect([...refused.headers.keys()].filter((k) => k.startsWith("x-ratelimit"))).toEqual([]);
    expect(refused.headers.get("retry-after-ms")).toBeNull();
    expect(refused.headers.get("retry-after")).toMatch(/^(9|10)$/); // one request per 10 s, whole seconds
    await refused.text();
    const error = await failure(model(server).complete(ASK));
    expect(error.kind).toBe("rate_limit");
    expect(error.retryAfterMs! % 1000).toBe(0);
    expect(server.stats.throttled).toBe(2);
    expect(server.stats.lastOkAt).toBeGreaterThanOrEqual(server.stats.firstRequestAt);
  });

  it("injected 500/503 → server", async () => {
    const server = await serve({ faults: { serverErrorRate: 1 }, seed: 3 });
    const m = model(server);
    const statuses = new Set<number | undefined>();
    for (let i = 0; i < 8; i++) {
      const error = await failure(m.complete(ASK));
      expect(error.kind).toBe("server");
      statuses.add(error.status);
    }
    expect([...statuses].sort()).toEqual([500, 503]);
    const { byStatus } = server.stats;
    expect((byStatus[500] ?? 0) + (byStatus[503] ?? 0)).toBe(8);
  });

  it.each(["invalid_json", "no_choices"] as const)("malformed body (%s) → malformed", async (kind) => {
    const server = await serve({ faults: { malformedRate: 1, malformedKind: kind } });
    const error = await failure(model(server).complete(ASK));
    expect(error.kind).toBe("malformed");
    expect(error.requestId).toMatch(/^req_standin_/);
  });

  it("a held request and a short request_timeout → timeout, and the server frees the request", async () => {
    const server = await serve({ faults: { timeoutRate: 1 } });
    const error = await failure(model(server, { request_timeout: 0.3 }).complete(ASK));
    expect(error.kind).toBe("timeout");
    // The server sees the client's socket close a moment later: waited for, bounded (a loaded
    // machine made the former 1 s poll too short).
    await waitUntil(() => server.stats.inFlight === 0, "the server to free the request");
    expect(server.stats.faults).toEqual({ timeout: 1 });
  });

  it("a closed server → connection", async () => {
    const server = await startStandInServer();
    await server.close();
    const error = await failure(model(server).complete(ASK));
    expect(error.kind).toBe("connection");
  });

  it("streams valid SSE with a final usage chunk", async () => {
    const server = await serve();
    const body = {
      model: "stand-in",
      messages: ASK.messages,
      stream: true,
      stream_options: { include_usage: true },
    };
    const response = await fetch(`${server.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const text = await response.text();
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map(
      (e) =>
        JSON.parse(e.slice(6)) as {
          object: string;
          choices: Array<{ delta: { content?: string }; finish_reason: string | null }>;
          usage: { completion_tokens: number } | null;
        },
    );
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    const streamed = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? "")).join("");
    const whole = await model(server).complete(ASK);
    expect(streamed).toBe(whole.text);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(whole.usage.completion_tokens);
  });

  it("lists models and answers 404 elsewhere", async () => {
    const server = await serve({ models: ["a", "b"] });
    const models = (await (await fetch(`${server.url}/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual(["a", "b"]);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});

describe("the API key never leaks", () => {
  it("appears in no error message or string form, whatever fails", async () => {
    const env = { STANDIN_KEY: SECRET };
    const configs: Array<[StandInOptions, Partial<ModelConfig>]> = [
      [{ faults: { rateLimitRate: 1 } }, {}],
      [{ faults: { serverErrorRate: 1 } }, {}],
      [{ faults: { malformedRate: 1 } }, {}],
      [{ faults: { timeoutRate: 1 } }, { request_timeout: 0.2 }],
    ];
    const errors: unknown[] = [];
    for (const [options, extra] of configs) {
      const server = await serve(options);
      const m = await createChatModel(
        { provider: "openai", model: "stand-in", base_url: server.url, api_key_env: "STANDIN_KEY", ...extra },
        { env },
      );
      errors.push(await m.complete(ASK).catch((e: unknown) => e));
    }
    const closed = await startStandInServer();
    await closed.close();
    const m = await createChatModel(
      { provider: "openai", model: "x", base_url: closed.url, api_key_env: "STANDIN_KEY" },
      { env },
    );
    errors.push(await m.complete(ASK).catch((e: unknown) => e));
    errors.push(
      await createChatModel({ provider: "openai", model: "x", api_key_env: "OTHER" }, { env }).catch(
        (e: unknown) => e,
      ),
    );

    expect(errors.map((e) => (e as ProviderError).kind)).toEqual([
      "rate_limit",
      "server",
      "malformed",
      "timeout",
      "connection",
      "config",
    ]);
    for (const error of errors) {
      const forms = [
        String(error),
        (error as Error).message,
        (error as Error).stack ?? "",
        inspect(error, { depth: 10 }),
        JSON.stringify(error),
      ];
      for (const form of forms) expect(form).not.toContain(SECRET);
    }
  });
});
