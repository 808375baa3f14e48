// The text form of RunStats for `convosim stats`: one screen, the most telling figures first.
import { scrubSecrets } from "../shared/redact-secrets.js";
import { terminalLine } from "../shared/terminal-text.js";
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

/** Counts without the zero entries (guards that never fired). */
const nonZero = (table: Counts): Counts => Object.fromEntries(Object.entries(table).filter(([, v]) => v > 0));

const ratio = (n: number) => n.toFixed(3);

function simulatedUserLines(stats: RunStats): string[] {
  const u = stats.simulated_user;
  const lines = ["simulated user:"];
  const old = u.follow_ups - u.follow_ups_with_record;
  lines.push(
    `  follow-ups: ${u.follow_ups}, ${u.asks} asks (mean ${u.mean_asks.toFixed(2)}), ${u.reasked} re-asked (${percent(u.reask_share)})${old > 0 ? `, ${old} without an asks record (counted as 1)` : ""}`,
  );
  lines.push(
    `  rejections: ${u.rejections}${u.rejections > 0 ? ` (${list(nonZero(u.rejections_by_guard))})` : ""}`,
  );
  const kinds = Object.keys(u.unwrapped_by_kind).length > 0 ? ` (${list(u.unwrapped_by_kind)})` : "";
  lines.push(
    `  unwrapped: ${u.unwrapped}${kinds}   continued after an early stop: ${u.continued_after_stop}`,
  );
  const r = u.conversation_records;
  if (r.interactions > 0) {
    const rejected = r.rejections > 0 ? ` (${list(nonZero(r.rejections_by_guard))})` : "";
    lines.push(
      `  per-conversation records: ${r.interactions} interactions, ${r.asks} asks, ${r.rejections} rejections${rejected}; prompt format: ${list(r.prompt_formats)}`,
    );
  }
  const f = u.failures;
  const failedRejections =
    f.rejections > 0 ? `; their last turns: ${list(nonZero(f.rejections_by_guard))}` : "";
  lines.push(
    `  gave up: ${stats.stop_reasons.user_sim_failed ?? 0} saved with stop reason user_sim_failed, ${f.conversations} failed (error_kind user_simulator)${failedRejections}`,
  );
  const j = u.judge;
  lines.push(
    j.conversations > 0
      ? `  stop judge: ${j.conversations} conversations judged (${j.verdicts} verdicts), ${j.reached} reached the expected outcome`
      : "  stop judge: no verdicts recorded",
  );
  lines.push("  words per user turn by communication_style (follow-ups | openings):");
  const words = (w: { count: number; p50: number; p90: number }) =>
    w.count === 0 ? "none" : `n ${w.count} median ${w.p50} p90 ${w.p90}`;
  for (const [style, w] of Object.entries(u.words_by_style))
    lines.push(`    ${style}: ${words(w.follow_ups)} | ${words(w.openings)}`);
  const a = u.asking;
  lines.push(
    `  asking something: follow-ups ${a.follow_ups.asking} of ${a.follow_ups.messages} (${percent(a.follow_ups.share)}), openings ${a.openings.asking} of ${a.openings.messages} (${percent(a.openings.share)})`,
  );
  for (const [name, d] of [
    ["follow-ups", u.diversity.follow_ups],
    ["openings", u.diversity.openings],
  ] as const)
    lines.push(
      `  diversity, ${name}: distinct-1 ${ratio(d.distinct_1)} (${d.distinct_unigrams}/${d.unigrams}), distinct-2 ${ratio(d.distinct_2)} (${d.distinct_bigrams}/${d.bigrams})${d.estimated ? " (estimated)" : ""}`,
    );
  const n = u.near_duplicates;
  const bound = n.pairs_is_lower_bound ? " (at least)" : "";
  const skipped = n.conversations_not_compared > 0 ? `, ${n.conversations_not_compared} not compared` : "";
  lines.push(
    `  near-duplicate conversations (user turns, Jaccard ≥ ${n.threshold}): ${n.pairs}${bound} ${n.pairs === 1 ? "pair" : "pairs"}, ${n.conversations_in_pairs} conversations, of ${n.conversations_compared} compared${skipped}`,
  );
  for (const p of n.examples) lines.push(`    ${p.a} ~ ${p.b} (${p.similarity.toFixed(2)})`);
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
    ...simulatedUserLines(stats),
  ];
  if (stats.failed > 0) {
    lines.push(`failures: ${list(stats.failures_by_kind)}`);
    lines.push(`  reasons: ${list(stats.failures_by_reason, 5)}`);
  }
  if (stats.unreadable_files > 0)
    lines.push(`unreadable interaction files (not counted): ${stats.unreadable_files}`);
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
  // Models, features and failure reasons come from the folder (personas, configs, servers):
  // each line stays one line with escapes shown, and URL credentials in old reasons masked.
  return lines.map((line) => terminalLine(scrubSecrets(line))).join("\n");
}
