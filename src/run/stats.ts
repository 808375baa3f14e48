// `convosim stats`: counts, success rate, turns, stop reasons, tokens and cost by model.
import type { Interaction } from "../schema/interaction.js";
import { loadFailures } from "../sinks/completed.js";
import { iterateInteractions } from "./output-reader.js";

export interface ModelUsage {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_usd: number;
}

export interface RunStats {
  interactions: number;
  failed: number;
  success_rate: number;
  turns: Record<string, number>;
  average_turns: number;
  stop_reasons: Record<string, number>;
  assistant_models: Record<string, number>;
  failures_by_kind: Record<string, number>;
  /** Keyed "role provider/model", e.g. "assistant_response openai/gpt-4o-mini". */
  usage: Record<string, ModelUsage>;
  total_cost_usd: number;
}

const bump = (table: Record<string, number>, key: string) => {
  table[key] = (table[key] ?? 0) + 1;
};

function addUsage(stats: RunStats, interaction: Pick<Interaction, "metadata">["metadata"]["usage"]): void {
  for (const record of interaction) {
    const key = `${record.operation} ${record.provider}/${record.model}`;
    const entry = stats.usage[key] ?? {
      calls: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      cached_tokens: 0,
      cost_usd: 0,
    };
    stats.usage[key] = entry;
    entry.calls++;
    entry.prompt_tokens += record.prompt_tokens;
    entry.completion_tokens += record.completion_tokens;
    entry.cached_tokens += record.cached_tokens ?? 0;
    entry.cost_usd += record.cost_usd;
    stats.total_cost_usd += record.cost_usd;
  }
}

export async function computeStats(dir: string): Promise<RunStats> {
  const stats: RunStats = {
    interactions: 0,
    failed: 0,
    success_rate: 0,
    turns: {},
    average_turns: 0,
    stop_reasons: {},
    assistant_models: {},
    failures_by_kind: {},
    usage: {},
    total_cost_usd: 0,
  };
  let turnSum = 0;
  for await (const interaction of iterateInteractions(dir)) {
    stats.interactions++;
    turnSum += interaction.num_turns;
    bump(stats.turns, String(interaction.num_turns));
    bump(stats.stop_reasons, String(interaction.metadata.stop_reason ?? "unknown"));
    const model = interaction.metadata.assistant_model;
    bump(stats.assistant_models, `${model?.provider}/${model?.model}`);
    addUsage(stats, interaction.metadata.usage ?? []);
  }
  const { failures } = await loadFailures(dir);
  for (const failure of failures) {
    stats.failed++;
    bump(stats.failures_by_kind, failure.error_kind);
    addUsage(stats, failure.usage ?? []);
  }
  const total = stats.interactions + stats.failed;
  stats.success_rate = total > 0 ? stats.interactions / total : 0;
  stats.average_turns = stats.interactions > 0 ? turnSum / stats.interactions : 0;
  return stats;
}

export function formatStats(stats: RunStats): string {
  const lines = [
    `interactions: ${stats.interactions}   failed: ${stats.failed}   success rate: ${(stats.success_rate * 100).toFixed(1)}%`,
    `average turns: ${stats.average_turns.toFixed(2)}`,
    `turns: ${Object.entries(stats.turns)
      .map(([k, v]) => `${k}→${v}`)
      .join("  ")}`,
    `stop reasons: ${Object.entries(stats.stop_reasons)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `assistant models: ${Object.entries(stats.assistant_models)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  ];
  if (stats.failed > 0)
    lines.push(
      `failures: ${Object.entries(stats.failures_by_kind)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );
  lines.push("tokens and cost by role and model:");
  for (const [key, u] of Object.entries(stats.usage)) {
    lines.push(
      `  ${key}: ${u.calls} calls, ${u.prompt_tokens} prompt (${u.cached_tokens} cached) + ${u.completion_tokens} completion tokens, $${u.cost_usd.toFixed(4)}`,
    );
  }
  lines.push(`total cost: $${stats.total_cost_usd.toFixed(4)}`);
  return lines.join("\n");
}
