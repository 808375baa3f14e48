// One line per conversation in the chat formats trainers read, built from an interaction and
// the messages of the chosen variant. Pure functions: the streaming and files are export.ts's.
import type { Interaction } from "../schema/interaction.js";
import { type ExportMessage, endOnAssistant } from "./variant.js";

export const FORMATS = ["jsonl", "openai", "sharegpt", "parquet", "hf"] as const;
export type ExportFormat = (typeof FORMATS)[number];

export interface ChatFormatOptions {
  /** System message to put first; overrides the one recorded on the interaction. */
  system?: string | undefined;
}

/** OpenAI chat fine-tuning format: {"messages": [{role, content}, …]}. */
export interface OpenAIRecord {
  messages: Array<{ role: "system" | "user" | "assistant"; content: string }>;
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

function systemFor(interaction: Interaction, options: ChatFormatOptions): string | undefined {
  return options.system !== undefined && options.system !== ""
    ? options.system
    : recordedSystemPrompt(interaction);
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
  return {
    messages: [
      ...(system !== undefined ? [{ role: "system" as const, content: system }] : []),
      ...turns.map((m) => ({ role: m.role, content: m.content })),
    ],
  };
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
