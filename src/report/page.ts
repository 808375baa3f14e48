// Assembles the report: one HTML document with its style sheet, script, plots and data all
// inline. A Content-Security-Policy meta tag makes "nothing from the network" a property of
// the page itself: default-src 'none' forbids every fetch, and only the one inline script
// whose hash is listed may run (so even a missed escape could not execute injected code).
import { createHash } from "node:crypto";
import type { RunStats } from "../run/stats.js";
import { SCRIPT, STYLE } from "./client.js";
import { conversationsSection } from "./conversations.js";
import { escapeHtml, jsonForScript } from "./escape.js";
import type { Figure } from "./plots.js";
import type { SampledConversation } from "./sample.js";
import { simulatedUserSection } from "./simulated-user.js";
import { formatNumber } from "./svg.js";
import { tables } from "./tables.js";

export interface PageInput {
  title: string;
  /** The output folder, shown as given. */
  source: string;
  generatedAt: Date;
  stats: RunStats;
  figures: readonly Figure[];
  /** The simulated user section's figures (stop reasons among them). */
  userFigures?: readonly Figure[];
  sample: readonly SampledConversation[];
  seed: number;
}

export function contentSecurityPolicy(script: string): string {
  const hash = createHash("sha256").update(script, "utf8").digest("base64");
  return [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `script-src 'sha256-${hash}'`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

function cards(stats: RunStats): string {
  const percent = (n: number) => `${(n * 100).toFixed(1)}%`;
  const tokens = stats.total_tokens.prompt + stats.total_tokens.completion;
  const items: Array<[string, string]> = [
    ["conversations", formatNumber(stats.interactions)],
    ["failed", formatNumber(stats.failed)],
    ["success rate", percent(stats.success_rate)],
    ["mean turns", stats.average_turns.toFixed(2)],
    ["personas", formatNumber(stats.persona_features.personas)],
    ["user messages noised", percent(stats.noise.noised_share)],
    ["tokens", formatNumber(tokens)],
    ["cost", `$${stats.total_cost_usd.toFixed(4)}`],
  ];
  return `<div class="cards">${items
    .map(
      ([k, v]) =>
        `<div class="card"><div class="v">${escapeHtml(v)}</div><div class="k">${escapeHtml(k)}</div></div>`,
    )
    .join("")}</div>`;
}

function figureGrid(figures: readonly Figure[]): string {
  return `<div class="figures">${figures
    .map(
      (f) =>
        `<figure id="fig-${escapeHtml(f.id)}">${f.svg}<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`,
    )
    .join("\n")}</div>`;
}

export function renderPage(input: PageInput): string {
  const { stats } = input;
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(SCRIPT))}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="convosim report">',
    `<title>${escapeHtml(input.title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head><body>",
    `<header><h1>${escapeHtml(input.title)}</h1>`,
    `<p class="sub">Output folder ${escapeHtml(input.source)} · generated ${escapeHtml(input.generatedAt.toISOString())}</p></header>`,
    "<main>",
    cards(stats),
    '<section id="plots"><h2>Statistics</h2>',
    figureGrid(input.figures),
    "</section>",
    simulatedUserSection(stats, figureGrid(input.userFigures ?? [])),
    tables(stats),
    conversationsSection(input.sample, { total: stats.interactions, seed: input.seed }),
    '<section id="raw"><h2>All statistics</h2><details><summary>The output of <code>convosim stats --json</code></summary>',
    `<pre class="json">${escapeHtml(JSON.stringify(stats, null, 2))}</pre></details></section>`,
    "</main>",
    `<script type="application/json" id="convosim-stats">${jsonForScript(stats)}</script>`,
    `<script>${SCRIPT}</script>`,
    "</body></html>",
    "",
  ].join("\n");
}
