// The stand-in server's response bodies in the OpenAI chat completions wire format: one JSON
// completion, or the server-sent-events form (role chunk, content chunks, finish chunk, optional
// usage chunk, [DONE]) written in one piece so that streaming costs no more CPU than JSON.
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
