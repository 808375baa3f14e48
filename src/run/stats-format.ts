// The text form of RunStats for `convosim stats`: one screen, the most telling figures first.
import type { Counts, Distribution } from "./stats-tally.js";
import { sortedCounts } from "./stats-tally.js";
import type { RunStats } from "./stats-types.js";

const percent = (share: number, digits = 1) => `${(share * 100).toFixed(digits)}%`;

/** "a 3, b 2" by count, at most `limit` entries then "… N more". */
function list(table: Counts, limit = 12): string {
  const entries = sortedCounts(table);
  if (entries.length === 0) return "none";
  const shown = entries.slice(0, limit).map(([k, v]) => `${k} ${v}`);
  if (entries.length > limit) shown.push(`… ${entries.length - limit} more`);
  return shown.join(", ");
}

const distribution = (d: Distribution, format: (n: number) => string = String) =>
  d.count === 0
    ? "none"
    : `count ${d.count}  mean ${format(d.mean)}  p50 ${format(d.p50)}  p90 ${format(d.p90)}  max ${format(d.max)}`;

function turnsLine(turns: Counts): string {
  const entries = Object.entries(turns).sort((a, b) => Number(a[0]) - Number(b[0]));
  return entries.map(([k, v]) => `${k}→${v}`).join("  ") || "none";
}

function personaLines(stats: RunStats): string[] {
  const { personas, features, other_keys } = stats.persona_features;
  const lines = [`personas: ${personas}`];
  for (const [key, coverage] of Object.entries(features)) {
    lines.push(
      `  ${key}: ${percent(coverage.share)} of personas, ${coverage.distinct} distinct: ${list(coverage.values, 6)}`,
    );
  }
  if (other_keys > 0) lines.push(`  … ${other_keys} more feature keys`);
  return lines;
}

function noiseLines(stats: RunStats): string[] {
  const noise = stats.noise;
  const lines = [
    `noise: ${noise.noised_messages} of ${noise.user_messages} user messages noised (${percent(noise.noised_share)}), ${noise.interactions_with_noise} interactions with noise`,
  ];
  if (noise.noised_messages === 0) return lines;
  lines.push(`  layers: ${list(noise.layers)}`);
  if (Object.keys(noise.layer_names).length > 0) lines.push(`  layer names: ${list(noise.layer_names)}`);
  lines.push(`  strategies: ${list(noise.strategies)}`);
  if (Object.keys(noise.channels).length > 0) lines.push(`  channels: ${list(noise.channels)}`);
  if (Object.keys(noise.distractor_types).length > 0)
    lines.push(`  distractor types: ${list(noise.distractor_types)}`);
  lines.push(
    `  edits: ${noise.edits}   semantic rewrites: ${noise.semantic_rewrites} (${noise.semantic_verified} passed the verifier)`,
  );
  lines.push(`  character error rate: ${distribution(noise.character_error_rate, (n) => percent(n))}`);
  return lines;
}

export function formatStats(stats: RunStats): string {
  const lines = [
    `interactions: ${stats.interactions}   failed: ${stats.failed}   success rate: ${percent(stats.success_rate)}`,
    `average turns: ${stats.average_turns.toFixed(2)}`,
    `turns: ${turnsLine(stats.turns)}`,
    `stop reasons: ${list(stats.stop_reasons)}`,
    `assistant models: ${list(stats.assistant_models)}`,
    `user models: ${list(stats.user_models)}`,
    "message lengths (characters):",
    `  user       ${distribution(stats.message_lengths.user)}`,
    `  assistant  ${distribution(stats.message_lengths.assistant)}`,
    ...personaLines(stats),
    ...noiseLines(stats),
  ];
  if (stats.failed > 0) {
    lines.push(`failures: ${list(stats.failures_by_kind)}`);
    lines.push(`  reasons: ${list(stats.failures_by_reason, 5)}`);
  }
  if (stats.unreadable_failure_lines > 0)
    lines.push(`unreadable lines in failures.ndjson: ${stats.unreadable_failure_lines}`);
  lines.push("tokens and cost by role and model:");
  for (const [key, u] of Object.entries(stats.usage)) {
    const replayed = u.replayed > 0 ? ` (${u.replayed} replayed from cache)` : "";
    lines.push(
      `  ${key}: ${u.calls} calls${replayed}, ${u.prompt_tokens} prompt (${u.cached_tokens} cached) + ${u.completion_tokens} completion tokens, $${u.cost_usd.toFixed(4)}`,
    );
  }
  const t = stats.total_tokens;
  lines.push(`total tokens: ${t.prompt} prompt (${t.cached} cached) + ${t.completion} completion`);
  lines.push(`total cost: $${stats.total_cost_usd.toFixed(4)}`);
  return lines.join("\n");
}
