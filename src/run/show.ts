// `convosim show`: one conversation, readable in a terminal. Every piece of text comes from
// personas, queries or models, so each is made terminal-safe here (an escape is shown as `\x1b`,
// never acted on); the file it came from keeps the exact text.
import type { Interaction } from "../schema/interaction.js";
import { terminalLine, terminalText } from "../shared/terminal-text.js";

export function formatInteraction(interaction: Interaction, width = 100): string {
  const m = interaction.metadata;
  // Header lines stay one line each: \n inside an id or a feature is shown as `\n`.
  const head = [
    `${interaction.interaction_id}  (persona ${interaction.persona_id}, query ${interaction.query_id})`,
    `persona: ${Object.entries(interaction.persona_features)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(", ")}`,
    `assistant: ${m.assistant_model?.provider}/${m.assistant_model?.model} · ${interaction.num_turns} turns · stop: ${m.stop_reason}`,
    `original query: ${interaction.original_query}`,
  ].map(terminalLine);
  const body = interaction.messages.map((message) => {
    const label = message.role === "user" ? "USER" : "ASSISTANT";
    const clean =
      typeof message.metadata.clean_content === "string"
        ? `\n  (clean: ${terminalText(message.metadata.clean_content)})`
        : "";
    const text = terminalText(message.content)
      .split("\n")
      .map((line) =>
        line.length > width
          ? line.replace(new RegExp(`(.{1,${width}})(\\s|$)`, "g"), "$1\n  ").trimEnd()
          : line,
      )
      .join("\n  ");
    return `${label}:\n  ${text}${clean}`;
  });
  return [...head, "", ...body].join("\n");
}

/** One line of `convosim show DIR`'s id list: id, turns, stop reason. */
export function formatListLine(interaction: Interaction): string {
  return terminalLine(
    `  ${interaction.interaction_id}  ${interaction.num_turns} turns  ${interaction.metadata.stop_reason}`,
  );
}
