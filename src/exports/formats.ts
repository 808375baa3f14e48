// One line per conversation in the chat formats trainers read, built from an interaction and
// the messages of the chosen variant. Pure functions: the streaming and files are export.ts's.
import type { Interaction } from "../schema/interaction.js";
import { type ExportFormat, FORMATS, TRAIN_ON, type TrainOn } from "./format-names.js";
import { type ExportMessage, endOnAssistant } from "./variant.js";

export { type ExportFormat, FORMATS, TRAIN_ON, type TrainOn };

export interface ChatFormatOptions {
  /** System message to put first; overrides the one recorded on the interaction ("" for none). */
  system?: string | undefined;
  /** openai only: which assistant messages get weight 1 (default "all": no weight keys). */
  trainOn?: TrainOn | undefined;
}

export interface OpenAIMessage {
  role: "system" | "user" | "assistant";
  content: string;
  /** Assistant messages only, and only with --train-on last|unnoised: 1 trained on, 0 not. */
  weight?: 0 | 1;
}

/** OpenAI chat fine-tuning format: {"messages": [{role, content, weight?}, …]}. */
export interface OpenAIRecord {
  messages: OpenAIMessage[];
}

/** ShareGPT: {"conversations": [{from, value}, …]}. */
export interface ShareGPTRecord {
  conversations: Array<{ from: "system" | "human" | "gpt"; value: string }>;
}

/**
 * The assistant's system prompt, when the run recorded it on the interaction
 * (metadata.assistant_system_prompt). A persona's system_prompt is the simulated user's, not
 * the assistant's, so it is never used here.
 */
export function recordedSystemPrompt(interaction: Interaction): string | undefined {
  const value = interaction.metadata?.assistant_system_prompt;
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** `--system TEXT` wins; `--system ""` asks for none (not even the recorded one). */
function systemFor(interaction: Interaction, options: ChatFormatOptions): string | undefined {
  if (options.system === undefined) return recordedSystemPrompt(interaction);
  return options.system === "" ? undefined : options.system;
}

/**
 * The conversation in OpenAI's format, ending with an assistant message (a trailing user
 * message is dropped: there is nothing to learn from it). Undefined when no assistant reply
 * is left, which the caller counts as skipped.
 */
export function toOpenAI(
  interaction: Interaction,
  messages: readonly ExportMessage[],
  options: ChatFormatOptions = {},
): OpenAIRecord | undefined {
  const turns = endOnAssistant(messages);
  if (turns.length === 0) return undefined;
  const system = systemFor(interaction, options);
  const trainOn = options.trainOn ?? "all";
  const lastReply = turns.length - 1;
  let answersNoised = false;
  return {
    messages: [
      ...(system !== undefined ? [{ role: "system" as const, content: system }] : []),
      ...turns.map((m, i): OpenAIMessage => {
        if (m.role === "user") answersNoised = m.was_noised;
        if (m.role !== "assistant" || trainOn === "all") return { role: m.role, content: m.content };
        const trained = trainOn === "last" ? i === lastReply : !answersNoised;
        return { role: m.role, content: m.content, weight: trained ? 1 : 0 };
      }),
    ],
  };
}

/** True when a weighted line has no assistant message at weight 1: nothing in it is learned. */
export function nothingToTrain(record: OpenAIRecord): boolean {
  const replies = record.messages.filter((m) => m.role === "assistant");
  return replies.every((m) => m.weight === 0);
}

/** The same conversation in ShareGPT's format (human/gpt, optional system first). */
export function toShareGPT(
  interaction: Interaction,
  messages: readonly ExportMessage[],
  options: ChatFormatOptions = {},
): ShareGPTRecord | undefined {
  const turns = endOnAssistant(messages);
  if (turns.length === 0) return undefined;
  const system = systemFor(interaction, options);
  return {
    conversations: [
      ...(system !== undefined ? [{ from: "system" as const, value: system }] : []),
      ...turns.map((m) => ({
        from: m.role === "user" ? ("human" as const) : ("gpt" as const),
        value: m.content,
      })),
    ],
  };
}

/**
 * The full interaction record. With the clean variant the user messages' `content` holds the
 * clean text; everything else (metadata, including the noise record) is as stored.
 */
export function toJsonlRecord(interaction: Interaction, messages: readonly ExportMessage[]): Interaction {
  return {
    ...interaction,
    messages: interaction.messages.map((message, i) => ({
      ...message,
      content: messages[i]?.content ?? message.content,
    })),
  };
}
