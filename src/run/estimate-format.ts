// The dry-run text: a table per role and model, what the output folder already spent, how the
// estimate compares with the budget, and what the figures assume. Plain text, no colours, so it
// reads the same in a terminal, a log file and a CI job.
import type { EstimateRow } from "./estimate-tally.js";

/** The parts of a RunEstimate the text needs (kept structural to avoid an import cycle). */
export interface FormattableEstimate {
  conversations: number;
  skipped: number;
  supplementConversations: number;
  calls: { min: number; expected: number; max: number };
  promptTokens: { expected: number; max: number };
  completionTokens: { expected: number; max: number };
  costUsd: { expected: number; max: number };
  rows: EstimateRow[];
  unpriced: string[];
  turns: { min: number; max: number };
  ratios: { assistant: number; user: number };
  exactTurns: boolean;
}

export interface FormatContext {
  /** What the output folder's usage.ndjson says was spent already (spentInOutput). */
  spent?: { usd: number; tokens: number; conversations?: number };
  /** `--budget-usd` / `--budget-tokens`. */
  budget?: { usd?: number | undefined; tokens?: number | undefined };
  /** The output folder, for the "already spent" line. */
  out?: string;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function formatTokens(n: number): string {
  const r = Math.round(n);
  if (r < 10_000) return r.toLocaleString("en-US");
  if (r < 1_000_000) return `${(r / 1000).toFixed(1)}k`;
  if (r < 1_000_000_000) return `${(r / 1_000_000).toFixed(2)}M`;
  return `${(r / 1_000_000_000).toFixed(2)}B`;
}

export function formatUsd(n: number): string {
  if (n > 0 && n < 0.01) return `$${n.toFixed(4)}`;
  return `$${n.toFixed(2)}`;
}

const pct = (share: number) => `${Math.round(share * 100)}%`;

function table(estimate: FormattableEstimate): string[] {
  const header = [
    "role",
    "model",
    "share",
    "calls min · expected · max",
    "tokens expected · max",
    "cost expected · max",
  ];
  const line = (r: {
    role: string;
    model: string;
    share?: number | undefined;
    calls: EstimateRow["calls"];
    promptTokens: EstimateRow["promptTokens"];
    completionTokens: EstimateRow["completionTokens"];
    costUsd: EstimateRow["costUsd"];
    priced?: boolean;
  }) => [
    r.role,
    r.model + (r.priced === false ? " (no price)" : ""),
    r.share !== undefined ? pct(r.share) : "",
    `${formatCount(r.calls.min)} · ${formatCount(r.calls.expected)} · ${formatCount(r.calls.max)}`,
    `${formatTokens(r.promptTokens.expected + r.completionTokens.expected)} · ${formatTokens(r.promptTokens.max + r.completionTokens.max)}`,
    `${formatUsd(r.costUsd.expected)} · ${formatUsd(r.costUsd.max)}`,
  ];
  const body = estimate.rows.map((r) =>
    line({ ...r, role: r.role.replace("_", " "), model: `${r.provider}/${r.model}` }),
  );
  const total = line({ role: "total", model: "", ...estimate });
  const cells = [header, ...body, total];
  const widths = header.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  // Text columns align left, figures right.
  const render = (c: string[]) =>
    c
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return cells.map(render);
}

function budgetLines(estimate: FormattableEstimate, context: FormatContext): string[] {
  const budget = context.budget;
  if (!budget || (budget.usd === undefined && budget.tokens === undefined)) return [];
  const spent = context.spent ?? { usd: 0, tokens: 0 };
  const scope = context.out ? "for this output folder, across runs" : "for this run";
  const lines: string[] = [];
  const dims = [
    {
      limit: budget.usd,
      spent: spent.usd,
      expected: estimate.costUsd.expected,
      max: estimate.costUsd.max,
      show: formatUsd,
      unit: "",
    },
    {
      limit: budget.tokens,
      spent: spent.tokens,
      expected: estimate.promptTokens.expected + estimate.completionTokens.expected,
      max: estimate.promptTokens.max + estimate.completionTokens.max,
      show: formatTokens,
      unit: " tokens",
    },
  ];
  for (const d of dims) {
    if (d.limit === undefined) continue;
    const left = Math.max(0, d.limit - d.spent);
    const head = `budget ${d.show(d.limit)}${d.unit} (${scope}): ${d.show(left)}${d.unit} left`;
    if (d.max <= left) lines.push(`${head}; even the ceiling fits.`);
    else if (d.expected <= left)
      lines.push(`${head}; the expected ${d.show(d.expected)} fits, the ceiling ${d.show(d.max)} does not.`);
    else {
      const each = estimate.conversations > 0 ? d.expected / estimate.conversations : 0;
      const fits = each > 0 ? Math.min(estimate.conversations, Math.floor(left / each)) : 0;
      lines.push(
        `${head}; the expected ${d.show(d.expected)} does not fit: about ${formatCount(fits)} of ` +
          `${formatCount(estimate.conversations)} conversations, then the run stops with exit code 4.`,
      );
    }
  }
  return lines;
}

export function formatEstimate(estimate: FormattableEstimate, context: FormatContext = {}): string {
  const turns =
    estimate.turns.min === estimate.turns.max
      ? `${estimate.turns.min} turns`
      : `${estimate.turns.min}–${estimate.turns.max} turns`;
  const notes = [
    estimate.skipped > 0 ? `${formatCount(estimate.skipped)} already done, skipped` : "",
    estimate.supplementConversations > 0
      ? `${formatCount(estimate.supplementConversations)} from supplement rounds`
      : "",
  ].filter(Boolean);
  const lines = [
    `dry run, nothing spent: ${formatCount(estimate.conversations)} conversations` +
      (notes.length > 0 ? ` (${notes.join("; ")})` : "") +
      `, ${turns} each`,
    "",
    ...table(estimate),
    "",
  ];
  if (context.spent && (context.spent.usd > 0 || context.spent.tokens > 0)) {
    const over =
      context.spent.conversations !== undefined
        ? ` over ${formatCount(context.spent.conversations)} conversations`
        : "";
    lines.push(
      `already spent${context.out ? ` in ${context.out}` : ""}: ${formatUsd(context.spent.usd)} · ` +
        `${formatTokens(context.spent.tokens)} tokens${over} (usage.ndjson)`,
    );
  }
  lines.push(...budgetLines(estimate, context));
  if (estimate.unpriced.length > 0)
    lines.push(
      `no price for ${estimate.unpriced.join(", ")}: counted as $0; add it under pricing: in the config`,
    );
  lines.push(
    `expected: replies at ${pct(estimate.ratios.assistant)} of max_completion_tokens (simulated user ` +
      `${pct(estimate.ratios.user)}), ${estimate.exactTurns ? "each task's seeded turn target" : "turn targets spread evenly"}, ` +
      (estimate.supplementConversations > 0
        ? "supplement conversations with targets spread evenly and queries of average length, "
        : "") +
      "no early stop. ceiling: every reply at max_completion_tokens. Prompt tokens ≈ characters / 4; " +
      "re-asks and retried calls are not included.",
  );
  return lines.join("\n");
}
