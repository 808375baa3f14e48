// A rough token estimate for providers (and fakes) that report no usage: about four characters
// per token for English text, which is what OpenAI's own rule of thumb says.
import type { ChatMessage } from "./types.js";

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  let chars = 0;
  for (const message of messages) chars += message.content.length;
  return Math.ceil(chars / 4);
}
