// The report's figures, drawn from RunStats: one inline SVG each. A figure whose data is
// empty (no noise, no failures) is left out rather than drawn as an empty frame. The stop
// reasons and the simulated user's figures are drawn in simulated-user.ts, for their section.
import type { Counts, Distribution, ModelUsage, RunStats } from "../run/stats.js";
import { barChart, columnChart, formatNumber } from "./svg.js";

export interface Figure {
  id: string;
  title: string;
  svg: string;
  /** One sentence under the plot. */
  caption: string;
}

/** Most frequent first; at most `limit` rows so a chart stays readable. */
function top(table: Counts, limit = 15): Array<[string, number]> {
  return Object.entries(table)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit);
}

function bars(
  id: string,
  title: string,
  table: Counts,
  caption: string,
  format?: (n: number) => string,
): Figure | undefined {
  const rows = top(table);
  if (rows.length === 0) return undefined;
  const svg = barChart({
    title,
    categories: rows.map(([k]) => k),
    series: [{ name: title, values: rows.map(([, v]) => v) }],
    ...(format ? { format } : {}),
  });
  return { id, title, svg, caption };
}

/** Labels of a histogram's bins: "0–49", "50–99", …, "5000+" for integer edges (whole
 *  characters), "0%–1%", … for fractions. */
export function binLabels(edges: readonly number[], format?: (n: number) => string): string[] {
  return edges.map((edge, i) => {
    const next = edges[i + 1];
    if (!format) return next === undefined ? `${edge}+` : `${edge}–${next - 1}`;
    return next === undefined ? `${format(edge)}+` : `${format(edge)}–${format(next)}`;
  });
}

const percent = (n: number) => `${(n * 100).toFixed(n > 0 && n < 0.1 ? 1 : 0)}%`;
const dollars = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;

function lengths(stats: RunStats): Figure {
  const { user, assistant } = stats.message_lengths;
  const d = (x: Distribution) => `median ${x.p50}, p90 ${x.p90}, max ${x.max}`;
  return {
    id: "message-lengths",
    title: "Message length by role (characters)",
    svg: columnChart({
      title: "Message length by role (characters)",
      categories: binLabels(user.histogram.edges),
      series: [
        { name: "user", values: user.histogram.counts },
        { name: "assistant", values: assistant.histogram.counts },
      ],
    }),
    caption: `Messages per length bin. User: ${d(user)}. Assistant: ${d(assistant)}.`,
  };
}

function tokens(usage: Record<string, ModelUsage>): Figure | undefined {
  const rows = Object.entries(usage).sort((a, b) => a[0].localeCompare(b[0]));
  if (rows.length === 0) return undefined;
  return {
    id: "tokens-by-model",
    title: "Tokens by model",
    svg: barChart({
      title: "Tokens by model",
      categories: rows.map(([k]) => k),
      series: [
        { name: "prompt", values: rows.map(([, u]) => u.prompt_tokens) },
        { name: "completion", values: rows.map(([, u]) => u.completion_tokens) },
      ],
    }),
    caption: "Prompt and completion tokens of every call (all roles, failures included).",
  };
}

export function figures(stats: RunStats): Figure[] {
  const turns = Object.entries(stats.turns).sort((a, b) => Number(a[0]) - Number(b[0]));
  const noise = stats.noise;
  const cer = noise.character_error_rate;
  const coverage = Object.fromEntries(
    Object.entries(stats.persona_features.features).map(([key, f]) => [key, f.share]),
  );
  const cost = Object.fromEntries(Object.entries(stats.usage_by_model).map(([k, u]) => [k, u.cost_usd]));
  const list: Array<Figure | undefined> = [
    {
      id: "turns",
      title: "Turns per conversation",
      svg: columnChart({
        title: "Turns per conversation",
        categories: turns.map(([k]) => k),
        series: [{ name: "conversations", values: turns.map(([, v]) => v) }],
      }),
      caption: `Conversations by number of turns (mean ${stats.average_turns.toFixed(2)}).`,
    },
    lengths(stats),
    bars(
      "assistant-models",
      "Assistant models",
      stats.assistant_models,
      "Conversations per assistant model.",
    ),
    Object.keys(stats.user_models).length > 1
      ? bars("user-models", "Simulated user models", stats.user_models, "Conversations per user model.")
      : undefined,
    bars(
      "persona-coverage",
      "Persona feature coverage",
      coverage,
      `Share of the ${stats.persona_features.personas} personas that have each feature.`,
      percent,
    ),
    bars(
      "noise-strategies",
      "Noise strategies",
      noise.strategies,
      `Strategies applied to the ${noise.noised_messages} noised user messages (of ${noise.user_messages}).`,
    ),
    bars("noise-layers", "Noise layers", noise.layers, "The main layer of each noised message."),
    cer.count > 0
      ? {
          id: "character-error-rate",
          title: "Character error rate of noised messages",
          svg: columnChart({
            title: "Character error rate of noised messages",
            categories: binLabels(cer.histogram.edges, percent),
            series: [{ name: "messages", values: cer.histogram.counts }],
          }),
          caption: `Edit distance from the clean text over its length: mean ${percent(cer.mean)}, median ${percent(cer.p50)}, p90 ${percent(cer.p90)}.`,
        }
      : undefined,
    tokens(stats.usage_by_model),
    bars("cost-by-model", "Cost by model (USD)", cost, `Total ${dollars(stats.total_cost_usd)}.`, dollars),
    bars(
      "failures",
      "Failures by kind",
      stats.failures_by_kind,
      `${formatNumber(stats.failed)} conversations failed.`,
    ),
  ];
  return list.filter((figure): figure is Figure => figure !== undefined);
}
