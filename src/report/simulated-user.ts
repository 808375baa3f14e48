// The report's "Simulated user" section: how hard it was to get usable user turns (asks,
// rejections by guard), why conversations stopped (the stop reasons plot lives here, with the
// stop judge's verdicts), and what the user turns look like (length by persona style, share
// asking something, distinct-n, near-duplicate conversations). Drawn from
// RunStats.simulated_user; every text is escaped.
import type { Counts, RunStats } from "../run/stats.js";
import type { SimulatedUserStats, WordCounts } from "../run/stats-user-sim.js";
import { escapeHtml } from "./escape.js";
import type { Figure } from "./plots.js";
import { barChart, columnChart, formatNumber } from "./svg.js";

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ratio = (x: number) => x.toFixed(3);

const cell = (text: string, numeric = false) => `<td${numeric ? ' class="n"' : ""}>${escapeHtml(text)}</td>`;
const head = (names: readonly string[], numeric: readonly number[] = []) =>
  `<tr>${names.map((n, i) => `<th${numeric.includes(i) ? ' class="n"' : ""}>${escapeHtml(n)}</th>`).join("")}</tr>`;

const nonZero = (table: Counts) =>
  Object.entries(table)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

function judgeSentence(u: SimulatedUserStats): string {
  const j = u.judge;
  if (j.conversations === 0) return "No stop-judge verdicts recorded.";
  return `Stop judge: ${formatNumber(j.conversations)} conversations judged (${formatNumber(j.verdicts)} verdicts), ${formatNumber(j.reached)} reached the expected outcome.`;
}

/** The section's plots: stop reasons always (with conversations), the others when they have data. */
export function simulatedUserFigures(stats: RunStats): Figure[] {
  const u = stats.simulated_user;
  const list: Figure[] = [];
  const reasons = nonZero(stats.stop_reasons);
  if (reasons.length > 0)
    list.push({
      id: "stop-reasons",
      title: "Stop reasons",
      svg: barChart({
        title: "Stop reasons",
        categories: reasons.map(([k]) => k),
        series: [{ name: "conversations", values: reasons.map(([, v]) => v) }],
      }),
      caption: `Why each conversation ended. ${judgeSentence(u)}`,
    });
  // Every count from 1 to the largest seen, zeros included, so the columns read as a histogram.
  const asked = Object.keys(u.asks_per_follow_up).map((k) => Number.parseInt(k, 10));
  const most = Math.max(0, ...asked.filter(Number.isFinite));
  const asks = Array.from({ length: most }, (_, i) => {
    const key =
      Object.keys(u.asks_per_follow_up).find((k) => Number.parseInt(k, 10) === i + 1) ?? String(i + 1);
    return [key, u.asks_per_follow_up[key] ?? 0] as const;
  });
  if (asks.length > 0)
    list.push({
      id: "user-asks",
      title: "Asks per simulated-user turn",
      svg: columnChart({
        title: "Asks per simulated-user turn",
        categories: asks.map(([k]) => k),
        series: [{ name: "follow-ups", values: asks.map(([, v]) => v) }],
      }),
      caption: `Calls each follow-up took (1 = the first reply was used): ${formatNumber(u.reasked)} of ${formatNumber(u.follow_ups)} re-asked (${pct(u.reask_share)}), mean ${u.mean_asks.toFixed(2)}.`,
    });
  const guards = nonZero(u.rejections_by_guard);
  if (guards.length > 0)
    list.push({
      id: "user-rejections",
      title: "Rejected user replies by guard",
      svg: barChart({
        title: "Rejected user replies by guard",
        categories: guards.map(([k]) => k),
        series: [{ name: "rejections", values: guards.map(([, v]) => v) }],
      }),
      caption: `The ${formatNumber(u.rejections)} rejections recorded on follow-ups, by the guard that rejected the reply.`,
    });
  const styles = Object.entries(u.words_by_style).filter(([, w]) => w.follow_ups.count > 0);
  if (styles.length > 0)
    list.push({
      id: "user-words-by-style",
      title: "Words per follow-up by communication style",
      svg: barChart({
        title: "Words per follow-up by communication style",
        categories: styles.map(([style, w]) => `${style} (${w.follow_ups.count})`),
        series: [
          { name: "median", values: styles.map(([, w]) => w.follow_ups.p50) },
          { name: "p90", values: styles.map(([, w]) => w.follow_ups.p90) },
        ],
      }),
      caption:
        "Words per simulated-user follow-up (clean text), grouped by persona_features.communication_style; the number of follow-ups in brackets.",
    });
  const { follow_ups: f, openings: o } = u.diversity;
  if (f.unigrams + o.unigrams > 0)
    list.push({
      id: "user-diversity",
      title: "Diversity of user turns (distinct-n)",
      svg: barChart({
        title: "Diversity of user turns (distinct-n)",
        categories: ["distinct-1", "distinct-2"],
        series: [
          { name: "follow-ups", values: [f.distinct_1, f.distinct_2] },
          { name: "openings", values: [o.distinct_1, o.distinct_2] },
        ],
        format: ratio,
      }),
      caption: `Unique word n-grams over all n-grams across the run: follow-ups ${formatNumber(f.unigrams)} words in ${formatNumber(f.messages)} turns, openings ${formatNumber(o.unigrams)} words in ${formatNumber(o.messages)}.${f.estimated || o.estimated ? " Distinct counts are HyperLogLog estimates (±0.8 %)." : ""}`,
    });
  return list;
}

function cards(u: SimulatedUserStats): string {
  const items: Array<[string, string]> = [
    ["follow-ups", formatNumber(u.follow_ups)],
    ["re-asked", pct(u.reask_share)],
    ["rejections", formatNumber(u.rejections)],
    ["asking something", pct(u.asking.follow_ups.share)],
    ["distinct-2 (follow-ups)", ratio(u.diversity.follow_ups.distinct_2)],
    ["near-duplicate pairs", formatNumber(u.near_duplicates.pairs)],
  ];
  return `<div class="cards">${items
    .map(
      ([k, v]) =>
        `<div class="card"><div class="v">${escapeHtml(v)}</div><div class="k">${escapeHtml(k)}</div></div>`,
    )
    .join("")}</div>`;
}

function inline(entries: ReadonlyArray<[string, number]>): string {
  return entries.map(([k, v]) => `${k} ${formatNumber(v)}`).join(", ") || "—";
}

function summaryTable(stats: RunStats): string {
  const u = stats.simulated_user;
  const r = u.conversation_records;
  const n = u.near_duplicates;
  const a = u.asking;
  const d = u.diversity;
  const old = u.follow_ups - u.follow_ups_with_record;
  const rows: Array<[string, string]> = [
    [
      "follow-up user messages",
      `${formatNumber(u.follow_ups)}${old > 0 ? ` (${formatNumber(old)} without an asks record, counted as one ask)` : ""}`,
    ],
    ["asks", `${formatNumber(u.asks)} (mean ${u.mean_asks.toFixed(2)} per follow-up)`],
    ["re-asked follow-ups", `${formatNumber(u.reasked)} (${pct(u.reask_share)})`],
    ["rejections", formatNumber(u.rejections)],
    [
      "unwrapped replies",
      `${formatNumber(u.unwrapped)}${u.unwrapped > 0 ? ` (${inline(nonZero(u.unwrapped_by_kind))})` : ""}`,
    ],
    ["continued after an early stop", formatNumber(u.continued_after_stop)],
    [
      "per-conversation records",
      r.interactions > 0
        ? `${formatNumber(r.interactions)} conversations, ${formatNumber(r.asks)} asks, ${formatNumber(r.rejections)} rejections; prompt format ${inline(nonZero(r.prompt_formats))}`
        : "—",
    ],
    [
      "simulated user gave up",
      `${formatNumber(stats.stop_reasons.user_sim_failed ?? 0)} saved (stop reason user_sim_failed), ${formatNumber(u.failures.conversations)} failed (error_kind user_simulator)`,
    ],
    ["stop judge", judgeSentence(u)],
    [
      "asking something",
      `follow-ups ${formatNumber(a.follow_ups.asking)} of ${formatNumber(a.follow_ups.messages)} (${pct(a.follow_ups.share)}), openings ${formatNumber(a.openings.asking)} of ${formatNumber(a.openings.messages)} (${pct(a.openings.share)})`,
    ],
    [
      "distinct-1 / distinct-2",
      `follow-ups ${ratio(d.follow_ups.distinct_1)} / ${ratio(d.follow_ups.distinct_2)}, openings ${ratio(d.openings.distinct_1)} / ${ratio(d.openings.distinct_2)}${d.follow_ups.estimated || d.openings.estimated ? " (estimated)" : ""}`,
    ],
    [
      "near-duplicate conversations",
      `${formatNumber(n.pairs)}${n.pairs_is_lower_bound ? " or more" : ""} ${n.pairs === 1 ? "pair" : "pairs"} with estimated Jaccard ≥ ${n.threshold} over the user turns' word 3-grams, ${formatNumber(n.conversations_in_pairs)} conversations in them, of ${formatNumber(n.conversations_compared)} compared${n.conversations_not_compared > 0 ? ` (${formatNumber(n.conversations_not_compared)} past the cap not compared)` : ""}`,
    ],
    ...n.examples.map((p): [string, string] => [
      "example pair",
      `${p.a} ~ ${p.b} (similarity ${p.similarity.toFixed(2)})`,
    ]),
  ];
  return `<h3>Summary</h3><table id="simulated-user-summary">${rows.map(([k, v]) => `<tr>${cell(k)}${cell(v)}</tr>`).join("")}</table>`;
}

function guardTable(u: SimulatedUserStats): string {
  const tables = [
    u.rejections_by_guard,
    u.conversation_records.rejections_by_guard,
    u.failures.rejections_by_guard,
  ];
  const names = [...new Set(tables.flatMap((t) => Object.keys(t)))];
  const rows = names.map(
    (name) => `<tr>${cell(name)}${tables.map((t) => cell(formatNumber(t[name] ?? 0), true)).join("")}</tr>`,
  );
  return `<h3>Rejections by guard</h3><table id="simulated-user-guards">${head(
    ["guard", "on follow-ups", "per-conversation records", "failed conversations' last turn"],
    [1, 2, 3],
  )}${rows.join("")}</table>`;
}

function wordsTable(u: SimulatedUserStats): string {
  const entries = Object.entries(u.words_by_style);
  if (entries.length === 0) return "";
  const w = (x: WordCounts) =>
    [x.count, x.p50, x.p90]
      .map((v, i) => cell(i > 0 && x.count === 0 ? "—" : formatNumber(v), true))
      .join("");
  const rows = entries.map(([style, x]) => `<tr>${cell(style)}${w(x.follow_ups)}${w(x.openings)}</tr>`);
  return `<h3>Words per user turn by communication style</h3><table id="simulated-user-words">${head(
    [
      "communication_style",
      "follow-ups",
      "median words",
      "p90 words",
      "openings",
      "median words",
      "p90 words",
    ],
    [1, 2, 3, 4, 5, 6],
  )}${rows.join("")}</table>`;
}

/** The whole section; `grid` is the section's figures, already laid out. */
export function simulatedUserSection(stats: RunStats, grid: string): string {
  const u = stats.simulated_user;
  return [
    '<section id="simulated-user"><h2>Simulated user</h2>',
    cards(u),
    grid,
    summaryTable(stats),
    guardTable(u),
    wordsTable(u),
    "</section>",
  ].join("\n");
}
