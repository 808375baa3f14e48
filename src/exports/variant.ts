// Which text of a user message goes into an export. The noisy variant is what the assistant
// actually received (message.content); the clean one is the text before the distractor touched
// it, which operators/converse.ts keeps as metadata.clean_content on a noised message. The
// assistant's replies are the same in both variants: they answered the noisy text.
import { createHash } from "node:crypto";
import type { Interaction, Role } from "../schema/interaction.js";

export type Variant = "noisy" | "clean";
export const VARIANTS: readonly Variant[] = ["noisy", "clean"];

export interface ExportMessage {
  role: Role;
  /** The text of the chosen variant. */
  content: string;
  /** True when the distractor changed this message. */
  was_noised: boolean;
  /** The clean text of a noised message (null when it was not noised or none was kept). */
  clean_content: string | null;
}

/** The clean text a noised message recorded, if any. */
export function cleanContentOf(metadata: Record<string, unknown> | undefined): string | null {
  if (metadata?.was_noised !== true) return null;
  if (typeof metadata.clean_content === "string") return metadata.clean_content;
  // A noise hook may record only its own result (schema/noise.ts: original_text).
  const noise = metadata.noise;
  if (typeof noise === "object" && noise !== null && !Array.isArray(noise)) {
    const original = (noise as Record<string, unknown>).original_text;
    if (typeof original === "string") return original;
  }
  return null;
}

/** The interaction's messages with the variant's text in `content`. */
export function variantMessages(interaction: Interaction, variant: Variant): ExportMessage[] {
  return interaction.messages.map((message) => {
    const clean = cleanContentOf(message.metadata);
    const wasNoised = message.metadata?.was_noised === true;
    return {
      role: message.role,
      content: variant === "clean" && clean !== null ? clean : message.content,
      was_noised: wasNoised,
      clean_content: clean,
    };
  });
}

/**
 * A 16-byte digest of a conversation's roles and texts: two conversations with the same
 * digest are exact duplicates. 16 bytes (base64, 22 characters) keep the dedupe set small
 * while collisions stay out of reach (2^64 conversations before one is likely).
 */
export function conversationDigest(messages: readonly ExportMessage[]): string {
  const hash = createHash("sha256");
  for (const message of messages) {
    // Length-prefixed, so no choice of texts can make two different conversations hash alike.
    hash.update(`${message.role}\0${message.content.length}\0${message.content}\0`);
  }
  return hash.digest().subarray(0, 16).toString("base64");
}

/** Messages up to the last assistant reply: a chat sample must end on what is learned. */
export function endOnAssistant<T extends { role: string }>(messages: readonly T[]): T[] {
  let end = messages.length;
  while (end > 0 && messages[end - 1]?.role !== "assistant") end--;
  return messages.slice(0, end);
}
