// One generation on one context sequence, in either prompt format. Token counts come from the
// model's own tokenizer and the sequence's TokenMeter, not from estimates:
// - prompt_tokens: the rendered prompt tokenised as the model sees it (BOS included);
// - completion_tokens: tokens the sampler produced (the meter's "output" tokens), which
//   includes a stop sequence or end-of-generation token that is not part of the text;
// - cached_tokens: prompt tokens the sequence already held from its previous call (llama.cpp
//   keeps the KV cache of the longest common prefix, so a conversation's next turn is cheap).
import type { ChatHistoryItem, LLamaContextualRepeatPenalty, LlamaModel } from "node-llama-cpp";
import type { ChatMessage } from "../types.js";
import type { LocalExtraBody } from "./options.js";
import { chatWrapperOf, type LoadedModel, llamaModule, type Slot } from "./runtime.js";
import { cleanCompletion, fitTranscript } from "./transcript.js";

export interface SamplingSettings {
  temperature: number;
  maxTokens: number;
  seed: number | undefined;
  extra: LocalExtraBody;
}

export interface Generation {
  text: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  finishReason: "stop" | "length";
}

/** Raised when even the shortest prompt (system text + last message) leaves no room to answer. */
export class PromptTooLongError extends Error {}

/** Room kept for the reply when the caller asks for more tokens than the context can hold. */
const MIN_REPLY_TOKENS = 32;

function stopList(extra: LocalExtraBody): string[] {
  if (extra.stop === undefined) return [];
  return Array.isArray(extra.stop) ? extra.stop : [extra.stop];
}

function sharedOptions(settings: SamplingSettings) {
  const { extra } = settings;
  const repeatPenalty: false | LLamaContextualRepeatPenalty | undefined =
    extra.repeat_penalty === undefined
      ? undefined
      : extra.repeat_penalty === 1
        ? false
        : { penalty: extra.repeat_penalty };
  return {
    temperature: settings.temperature,
    ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
    ...(extra.top_k !== undefined ? { topK: extra.top_k } : {}),
    ...(extra.top_p !== undefined ? { topP: extra.top_p } : {}),
    ...(extra.min_p !== undefined ? { minP: extra.min_p } : {}),
    ...(repeatPenalty !== undefined ? { repeatPenalty } : {}),
  };
}

function promptTokenCount(model: LlamaModel, text: string): number {
  return model.tokenize(text).length + (model.tokens.shouldPrependBosToken ? 1 : 0);
}

/** Meter readings around a call give the sampled and the freshly evaluated token counts. */
function meterUsage(
  slot: Slot,
  before: { usedInputTokens: number; usedOutputTokens: number },
  prompt: number,
) {
  const diff = slot.sequence.tokenMeter.diff(before);
  // The last prompt token is metered as "output" (its logits start the reply), hence the -1.
  const cached = Math.max(0, Math.min(prompt - 1, prompt - 1 - diff.usedInputTokens));
  return { completionTokens: diff.usedOutputTokens, cachedTokens: cached };
}

/** Prompts a pretrained model with a "User:/Assistant:" transcript (transcript.ts) to continue. */
export async function generateTranscript(
  slot: Slot,
  loaded: LoadedModel,
  messages: readonly ChatMessage[],
  settings: SamplingSettings,
  signal: AbortSignal | undefined,
): Promise<Generation> {
  const { model } = loaded;
  const contextSize = loaded.context.contextSize;
  const labels = { user: settings.extra.user_label, assistant: settings.extra.assistant_label };
  const maxTokens = Math.min(settings.maxTokens, contextSize - MIN_REPLY_TOKENS);
  const transcript = fitTranscript(messages, {
    labels,
    countTokens: (prompt) => promptTokenCount(model, prompt),
    maxPromptTokens: contextSize - maxTokens,
  });
  const promptTokens = promptTokenCount(model, transcript.prompt);
  if (promptTokens > contextSize - MIN_REPLY_TOKENS) {
    throw new PromptTooLongError(
      `prompt of ${promptTokens} tokens does not fit the local context of ${contextSize} tokens ` +
        "(raise CONVOSIM_LOCAL_CONTEXT_SIZE or shorten the system prompt)",
    );
  }
  const before = slot.sequence.tokenMeter.getState();
  slot.lastPrompt = routingKey(messages);
  const result = await slot.completion.generateCompletionWithMeta(transcript.prompt, {
    ...sharedOptions(settings),
    maxTokens: Math.min(maxTokens, contextSize - promptTokens),
    customStopTriggers: [...transcript.stopTriggers, ...stopList(settings.extra)],
    disableContextShift: true,
    signal,
  });
  return {
    text: cleanCompletion(result.response, labels),
    promptTokens,
    ...meterUsage(slot, before, promptTokens),
    finishReason: result.metadata.stopReason === "maxTokens" ? "length" : "stop",
  };
}

function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m): ChatHistoryItem => {
    if (m.role === "system") return { type: "system", text: m.content };
    if (m.role === "user") return { type: "user", text: m.content };
    return { type: "model", response: [m.content] };
  });
  history.push({ type: "model", response: [] });
  return history;
}

/**
 * Prompts an instruction-tuned model through its chat template (runtime.ts's chatWrapperOf).
 * Speaker labels do not apply: the template's roles say who speaks. The reply ends at the
 * template's end-of-turn token ("stop"), a custom stop string ("stop") or maxTokens ("length").
 */
export async function generateChat(
  slot: Slot,
  loaded: LoadedModel,
  messages: readonly ChatMessage[],
  settings: SamplingSettings,
  signal: AbortSignal | undefined,
): Promise<Generation> {
  const { model } = loaded;
  const contextSize = loaded.context.contextSize;
  const chatWrapper = await chatWrapperOf(loaded);
  if (!slot.chat || slot.chat.chatWrapper !== chatWrapper) {
    const { LlamaChat } = await llamaModule();
    slot.chat = new LlamaChat({ contextSequence: slot.sequence, chatWrapper });
  }
  const history = toChatHistory(messages);
  const rendered = slot.chat.chatWrapper.generateContextState({ chatHistory: history }).contextText;
  const promptTokens = rendered.tokenize(model.tokenizer).length;
  const before = slot.sequence.tokenMeter.getState();
  slot.lastPrompt = routingKey(messages);
  // LlamaChat shifts old messages out by itself when the context fills up.
  const maxTokens = Math.max(1, Math.min(settings.maxTokens, contextSize - MIN_REPLY_TOKENS));
  const result = await slot.chat.generateResponse(history, {
    ...sharedOptions(settings),
    maxTokens,
    customStopTriggers: stopList(settings.extra),
    signal,
  });
  return {
    text: result.response.trim(),
    promptTokens,
    ...meterUsage(slot, before, promptTokens),
    finishReason: result.metadata.stopReason === "maxTokens" ? "length" : "stop",
  };
}

/** A string whose common prefix with a slot's lastPrompt approximates the reusable KV cache. */
export function routingKey(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${m.role}\u0000${m.content}\u0001`).join("");
}

export function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
