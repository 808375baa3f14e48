// The report's tables: what a plot cannot show compactly (every feature's top values, usage
// per role and model with cache figures, noise details, failure reasons).
import type { Counts, RunStats } from "../run/stats.js";
import { clip, escapeHtml } from "./escape.js";
import { formatNumber } from "./svg.js";

const cell = (text: string, numeric = false) => `<td${numeric ? ' class="n"' : ""}>${escapeHtml(text)}</td>`;
const head = (names: readonly string[], numeric: readonly number[] = []) =>
  `<tr>${names.map((n, i) => `<th${numeric.includes(i) ? ' class="n"' : ""}>${escapeHtml(n)}</th>`).join("")}</tr>`;

function inline(table: Counts, limit = 8): string {
  const entries = Object.entries(table).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = entries.slice(0, limit).map(([k, v]) => `${clip(k, 60)} (${v})`);
  if (entries.length > limit) shown.push(`… ${entries.length - limit} more`);
  return shown.join(", ") || "—";
}

function personaTable(stats: RunStats): string {
  const rows = Object.entries(stats.persona_features.features).map(
    ([key, f]) =>
      `<tr>${cell(key)}${cell(`${(f.share * 100).toFixed(1)}%`, true)}${cell(String(f.distinct), true)}${cell(inline(f.values))}</tr>`,
  );
  if (rows.length === 0) return "";
  return `<h3>Persona features (${formatNumber(stats.persona_features.personas)} personas)</h3><table>${head(["feature", "share", "distinct", "top values (personas)"], [1, 2])}${rows.join("")}</table>`;
}

function usageTable(stats: RunStats): string {
  const rows = Object.entries(stats.usage)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([key, u]) => {
      const space = key.indexOf(" ");
      const [role, model] = space < 0 ? [key, ""] : [key.slice(0, space), key.slice(space + 1)];
      return `<tr>${cell(role)}${cell(model)}${[
        u.calls,
        u.replayed,
        u.prompt_tokens,
        u.cached_tokens,
        u.completion_tokens,
      ]
        .map((n) => cell(formatNumber(n), true))
        .join("")}${cell(`$${u.cost_usd.toFixed(4)}`, true)}</tr>`;
    });
  if (rows.length === 0) return "";
  return `<h3>Tokens and cost by role and model</h3><table>${head(
    ["role", "model", "calls", "replayed", "prompt", "cached", "completion", "cost"],
    [2, 3, 4, 5, 6, 7],
  )}${rows.join("")}</table>`;
}

function noiseTable(stats: RunStats): string {
  const n = stats.noise;
  const cer = n.character_error_rate;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rows: Array<[string, string]> = [
    [
      "noised user messages",
      `${formatNumber(n.noised_messages)} of ${formatNumber(n.user_messages)} (${pct(n.noised_share)})`,
    ],
    ["conversations with noise", formatNumber(n.interactions_with_noise)],
    ["layers", inline(n.layers)],
    ["layer names", inline(n.layer_names)],
    ["strategies", inline(n.strategies, 20)],
    ["input channels", inline(n.channels)],
    ["character edits", formatNumber(n.edits)],
    ["distractor types", inline(n.distractor_types)],
    [
      "semantic rewrites",
      `${formatNumber(n.semantic_rewrites)} (${formatNumber(n.semantic_verified)} passed the verifier)`,
    ],
    [
      "character error rate",
      cer.count > 0
        ? `mean ${pct(cer.mean)}, median ${pct(cer.p50)}, p90 ${pct(cer.p90)}, max ${pct(cer.max)}`
        : "—",
    ],
  ];
  return `<h3>Noise</h3><table>${rows.map(([k, v]) => `<tr>${cell(k)}${cell(v)}</tr>`).join("")}</table>`;
}

function failureTable(stats: RunStats): string {
  if (stats.failed === 0 && stats.unreadable_failure_lines === 0) return "";
  const rows = Object.entries(stats.failures_by_reason)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `<tr>${cell(reason)}${cell(formatNumber(count), true)}</tr>`);
  const unreadable =
    stats.unreadable_failure_lines > 0
      ? `<p>${formatNumber(stats.unreadable_failure_lines)} unreadable lines in failures.ndjson.</p>`
      : "";
  return `<h3>Failures by reason</h3><table>${head(["reason", "conversations"], [1])}${rows.join("")}</table>${unreadable}`;
}

export function tables(stats: RunStats): string {
  return `<section id="tables"><h2>Details</h2>${personaTable(stats)}${noiseTable(stats)}${usageTable(stats)}${failureTable(stats)}</section>`;
}
