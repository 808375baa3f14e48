// The stand-in server's side of the OpenAI chat completions wire format: reading a request's
// messages and limit, the deterministic answer with its token counts, and the response bodies —
// one JSON completion, or the server-sent-events form (role chunk, content chunks, finish chunk,
// optional usage chunk, [DONE]) written in one piece so that streaming costs no more CPU than JSON.
import { scriptedReply } from "../src/providers/scripted-replies.js";
import type { ChatMessage } from "../src/providers/types.js";

export interface CompletionRequest {
  id: string;
  model: string;
  messages: ChatMessage[];
  maxTokens: number | undefined;
}

export interface Counts {
  text: string;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
}

/** The stand-in's token count: ceil(characters / 4), the usual rule of thumb for English. */
export function tokenCount(text: string): number {
  return Math.ceil(text.length / 4);
}

function usageOf(counts: Counts) {
  return {
    prompt_tokens: counts.promptTokens,
    completion_tokens: counts.completionTokens,
    total_tokens: counts.promptTokens + counts.completionTokens,
    prompt_tokens_details: { cached_tokens: 0 },
  };
}

export function completionBody(request: CompletionRequest, counts: Counts): string {
  return JSON.stringify({
    id: `chatcmpl-${request.id}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: counts.text, refusal: null },
        logprobs: null,
        finish_reason: counts.finishReason,
      },
    ],
    usage: usageOf(counts),
  });
}

/** Content pieces of about four words each, whitespace kept, so the joined deltas equal the text. */
export function contentPieces(text: string): string[] {
  const words = text.match(/\S+\s*/g) ?? [];
  const pieces: string[] = [];
  for (let i = 0; i < words.length; i += 4) pieces.push(words.slice(i, i + 4).join(""));
  const lead = text.match(/^\s+/)?.[0];
  if (lead && pieces.length > 0) pieces[0] = lead + pieces[0];
  return pieces;
}

export function sseBody(request: CompletionRequest, counts: Counts, includeUsage: boolean): string {
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-${request.id}`;
  const chunk = (choices: unknown[], usage: unknown = null) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: request.model, choices, usage })}\n\n`;
  let out = chunk([
    { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
  ]);
  for (const piece of contentPieces(counts.text)) {
    out += chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]);
  }
  out += chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: counts.finishReason }]);
  // With stream_options.include_usage, OpenAI sends one last chunk with empty choices and the usage.
  if (includeUsage) out += chunk([], usageOf(counts));
  return `${out}data: [DONE]\n\n`;
}

/** Message content as text: a string, or the text parts of a content array. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) =>
      part && typeof part === "object" && "text" in part && typeof part.text === "string" ? part.text : "",
    )
    .join("");
}

export function toMessages(raw: unknown): ChatMessage[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const messages: ChatMessage[] = [];
  for (const m of raw) {
    if (!m || typeof m !== "object") return undefined;
    const role = (m as { role?: unknown }).role;
    const r =
      role === "system" || role === "developer" ? "system" : role === "assistant" ? "assistant" : "user";
    messages.push({ role: r, content: textOf((m as { content?: unknown }).content) });
  }
  return messages;
}

export function maxTokensOf(body: Record<string, unknown>): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === "number" && value > 0 ? Math.floor(value) : undefined;
}

/** The reply text and honest token counts, cut to max tokens (finish_reason "length") when set. */
export function answer(request: CompletionRequest): Counts {
  let text = scriptedReply(request.messages);
  let finishReason = "stop";
  if (request.maxTokens !== undefined && tokenCount(text) > request.maxTokens) {
    text = text.slice(0, request.maxTokens * 4);
    finishReason = "length";
  }
  let promptChars = 0;
  for (const m of request.messages) promptChars += m.content.length;
  return { text, finishReason, promptTokens: Math.ceil(promptChars / 4), completionTokens: tokenCount(text) };
}

/** OpenAI's error body shape. */
function errorJson(message: string, type: string, code: string | null = null): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

/** Every fixed body the server sends, serialised once per server rather than per request. */
export function cannedBodies(models: readonly string[]) {
  return {
    notFound: errorJson("Not found", "invalid_request_error", "not_found"),
    badJson: errorJson("Request body is not valid JSON", "invalid_request_error"),
    noMessages: errorJson("'messages' must be a non-empty array", "invalid_request_error"),
    tooLarge: errorJson("Request body too large", "invalid_request_error"),
    e500: errorJson("The server had an error while processing your request.", "server_error"),
    e503: errorJson("The engine is currently overloaded, please try again later.", "server_error"),
    e429: errorJson(
      "Rate limit reached (injected). Please try again later.",
      "requests",
      "rate_limit_exceeded",
    ),
    throttled: errorJson("Rate limit reached for requests per minute.", "requests", "rate_limit_exceeded"),
    models: JSON.stringify({
      object: "list",
      data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "convosim-bench" })),
    }),
    // A body cut off mid-way, as a proxy that drops the upstream connection would deliver it.
    invalidJson:
      '{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,"message":{"role":"assis',
    noChoices: JSON.stringify({
      id: "chatcmpl-broken",
      object: "chat.completion",
      created: 0,
      model: "stand-in",
    }),
  };
}
