// AnthropicChatModel against a loopback server speaking a few canned Messages API answers.
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AnthropicChatModel,
  DEFAULT_ANTHROPIC_MAX_TOKENS,
  OPENING_USER_TURN,
  toAnthropicMessages,
} from "../../src/providers/anthropic.js";
import { ProviderError, type ProviderErrorKind } from "../../src/providers/errors.js";
import type { ModelConfig } from "../../src/schema/config.js";
import { type CannedResponse, type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

const SECRET = "sk-ant-LOOPBACK-SECRET-31337";

const message = (text: string, usage: Record<string, number> = {}) => ({
  id: "msg_1",
  type: "message",
  role: "assistant",
  model: "claude-test",
  content: [{ type: "text", text }],
  stop_reason: "end_turn",
  usage: { input_tokens: 10, output_tokens: 3, ...usage },
});
const apiError = (type: string, msg: string) => ({ type: "error", error: { type, message: msg } });

// Each test picks its answer by the last user message: "case:<name>".
const CASES: Record<string, CannedResponse | "hang"> = {
  ok: {
    status: 200,
    headers: { "request-id": "req_ok" },
    body: message("Hello!", { cache_read_input_tokens: 5, cache_creation_input_tokens: 2 }),
  },
  long: { status: 200, body: { ...message("cut"), stop_reason: "max_tokens" } },
  rate: {
    status: 429,
    headers: { "retry-after": "3", "request-id": "req_429" },
    body: apiError("rate_limit_error", "slow down"),
  },
  overloaded: { status: 529, body: apiError("overloaded_error", "Overloaded") },
  server: { status: 500, body: apiError("api_error", "internal") },
  auth: { status: 401, body: apiError("authentication_error", `invalid x-api-key ${SECRET}`) },
  bad: { status: 400, body: apiError("invalid_request_error", "messages: roles must alternate") },
  notjson: { status: 200, headers: { "request-id": "req_broken" }, body: '{"content": [' },
  nocontent: { status: 200, body: { id: "msg_x", type: "message" } },
  empty: { status: 200, body: { ...message(""), stop_reason: "max_tokens" } },
  hang: "hang",
};

let server: LoopbackServer;

beforeAll(async () => {
  server = await startLoopbackServer((request) => {
    const body = request.body as { messages: Array<{ content: string }> };
    const last = body.messages[body.messages.length - 1]?.content ?? "";
    const name = /case:(\w+)/.exec(last)?.[1] ?? "ok";
    return CASES[name] ?? { status: 404, body: apiError("not_found_error", name) };
  });
});
afterAll(() => server.close());

function model(config: Partial<ModelConfig> = {}): AnthropicChatModel {
  return new AnthropicChatModel(
    { provider: "anthropic", model: "claude-test", base_url: server.url, ...config },
    SECRET,
  );
}

describe("toAnthropicMessages", () => {
  it("moves system text out, merges same-role neighbours and opens with a user turn", () => {
    const mapped = toAnthropicMessages([
      { role: "system", content: "Be brief." },
      { role: "assistant", content: "I need help with SQL." },
      { role: "assistant", content: "Specifically joins." },
      { role: "system", content: "Persona: engineer." },
      { role: "user", content: "Sure, what about joins?" },
    ]);
    expect(mapped).toEqual({
      system: "Be brief.\n\nPersona: engineer.",
      turns: [
        { role: "user", content: OPENING_USER_TURN },
        { role: "assistant", content: "I need help with SQL.\n\nSpecifically joins." },
        { role: "user", content: "Sure, what about joins?" },
      ],
    });
  });
});

describe("AnthropicChatModel against a loopback Messages API", () => {
  it("sends the mapped request and reads text, usage (cached included) and stop reason", async () => {
    const before = server.requests.length;
    const result = await model({ temperature: 1.6 }).complete({
      messages: [
        { role: "system", content: "You are helpful." },
        { role: "user", content: "Hi" },
      ],
      seed: 7,
    });
    const sent = server.requests[before];
    expect(sent?.path).toBe("/v1/messages");
    // This SDK generation sends the key as a bearer token.
    expect(sent?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(sent?.headers["anthropic-version"]).toBeTruthy();
    expect(sent?.body).toEqual({
      model: "claude-test",
      max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
      system: "You are helpful.",
      messages: [{ role: "user", content: "Hi" }],
      temperature: 1, // clamped to the Messages API's range; no seed field exists
      stream: false,
    });
    expect(result).toEqual({
      text: "Hello!",
      usage: { prompt_tokens: 17, completion_tokens: 3, cached_tokens: 5 },
      finishReason: "stop",
      provider: "anthropic",
      model: "claude-test",
    });
  });

  it("passes max tokens from the call or the config and maps max_tokens to length", async () => {
    const before = server.requests.length;
    const result = await model({ max_completion_tokens: 77 }).complete({
      messages: [{ role: "user", content: "case:long" }],
    });
    await model({ max_completion_tokens: 77 }).complete({
      messages: [{ role: "user", content: "x" }],
      maxTokens: 5,
    });
    expect(server.requests[before]?.body).toMatchObject({ max_tokens: 77 });
    expect(server.requests[before + 1]?.body).toMatchObject({ max_tokens: 5 });
    expect(result.finishReason).toBe("length");
  });

  const cases: Array<[string, ProviderErrorKind, Partial<ProviderError>]> = [
    ["rate", "rate_limit", { status: 429, retryAfterMs: 3000, requestId: "req_429" }],
    ["overloaded", "server", { status: 529 }],
    ["server", "server", { status: 500 }],
    ["auth", "auth", { status: 401 }],
    ["bad", "bad_request", { status: 400 }],
    ["notjson", "malformed", { requestId: "req_broken" }],
    ["nocontent", "malformed", {}],
    ["empty", "malformed", {}],
  ];

  it.each(cases)("case %s → %s", async (name, kind, fields) => {
    const error = await model()
      .complete({ messages: [{ role: "user", content: `case:${name}` }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind, ...fields });
    expect((error as Error).message).not.toContain(SECRET);
    expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
  });

  it("no answer within request_timeout → timeout", async () => {
    const error = await model({ request_timeout: 0.2 })
      .complete({ messages: [{ role: "user", content: "case:hang" }] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "timeout" });
  });

  it("nothing listening → connection", async () => {
    const closed = await startLoopbackServer(() => ({ status: 200 }));
    await closed.close();
    const error = await new AnthropicChatModel(
      { provider: "anthropic", model: "m", base_url: closed.url },
      SECRET,
    )
      .complete({ messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "connection" });
    expect((error as Error).message).toContain("ECONNREFUSED");
  });
});
