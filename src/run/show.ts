// `convosim show`: one conversation, readable in a terminal.
import type { Interaction } from "../schema/interaction.js";

export function formatInteraction(interaction: Interaction, width = 100): string {
  const m = interaction.metadata;
  const head = [
    `${interaction.interaction_id}  (persona ${interaction.persona_id}, query ${interaction.query_id})`,
    `persona: ${Object.entries(interaction.persona_features)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(", ")}`,
    `assistant: ${m.assistant_model?.provider}/${m.assistant_model?.model} · ${interaction.num_turns} turns · stop: ${m.stop_reason}`,
    `original query: ${interaction.original_query}`,
  ];
  const body = interaction.messages.map((message) => {
    const label = message.role === "user" ? "USER" : "ASSISTANT";
    const clean =
      typeof message.metadata.clean_content === "string"
        ? `\n  (clean: ${message.metadata.clean_content})`
        : "";
    const text = message.content
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
