// A conversation as plain text for helper models (the stop judge, the verifier): the clean
// text of each message, labelled by role, long messages shortened in the middle.
import type { Message } from "../schema/interaction.js";

const MAX_CHARS = 1500;

function shorten(text: string): string {
  if (text.length <= MAX_CHARS) return text;
  return `${text.slice(0, MAX_CHARS * 0.7)} […] ${text.slice(-MAX_CHARS * 0.3)}`;
}

export function transcriptText(messages: readonly Message[]): string {
  return messages
    .map((m) => {
      const text = typeof m.metadata.clean_content === "string" ? m.metadata.clean_content : m.content;
      return `${m.role === "user" ? "User" : "Assistant"}: ${shorten(text.trim())}`;
    })
    .join("\n\n");
}
