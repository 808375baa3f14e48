// The report's HTML without a browser: self-contained (nothing that could reach the network),
// at least three plots, every piece of data escaped, a content security policy that lets only
// the page's own script run, and a deterministic bounded sample.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport, writeReport } from "../../src/report/build.js";
import { SCRIPT } from "../../src/report/client.js";
import { highlightChanges } from "../../src/report/diff.js";
import { ConversationSampler } from "../../src/report/sample.js";
import { barChart, columnChart } from "../../src/report/svg.js";
import {
  assistantMessage,
  makeFailure,
  makeInteraction,
  tempDir,
  userMessage,
  writeRun,
} from "../run/stats-fixtures.js";

const XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>';
const FIXED = new Date("2026-03-01T12:00:00.000Z");

let dir: string;
let cleanup: () => Promise<void>;

function interactions() {
  return Array.from({ length: 30 }, (_, i) => {
    const noised = i % 3 === 0;
    const clean = `How do I parse a CSV file number ${i} in Python?`;
    const opening = noised
      ? userMessage(clean.replace("parse", "prase"), {
          clean,
          noise: { layer: "surface_noise", applied_strategies: ["typo_transposition"], edits: [] },
        })
      : userMessage(i === 1 ? `${XSS} </script> <!-- ]]>` : clean);
    return makeInteraction({
      id: `conv_${String(i).padStart(2, "0")}`,
      persona: `p${i % 10}`,
      features: { role: i % 2 ? "engineer" : "teacher", motto: i === 4 ? XSS : "keep going" },
      stop: i % 4 === 0 ? "user_satisfied" : "target_turns",
      assistant: { provider: "fake", model: i % 5 === 0 ? "model-<b>bold</b>" : "model-a" },
      messages: [opening, assistantMessage(`Answer ${i}: use the csv module.`)],
    });
  });
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("convosim-report-"));
  await writeRun(dir, interactions(), [makeFailure("failed_1", { reason: `boom ${XSS}` })]);
});
afterAll(async () => cleanup());

/** Every attribute that makes a browser fetch something, in every tag of the page. Text is
 *  escaped, so each "<" left in the document starts a real tag. */
function fetchingAttributes(html: string): string[] {
  const names = /\s(?:src|href|xlink:href|srcset|poster|action|formaction|data|background)\s*=/i;
  return [...html.matchAll(/<[a-zA-Z][^>]*>/g)].map((m) => m[0]).filter((tag) => names.test(tag));
}

describe("report HTML", () => {
  it("is one self-contained document: no fetching attribute, no external script, style or font", async () => {
    const { html } = await buildReport(dir, { generatedAt: FIXED });
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(fetchingAttributes(html)).toEqual([]);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/<(iframe|object|embed|img|video|audio|source)\b/i);
    // The one executable script is the report's own; the other is a JSON data block.
    const scripts = [...html.matchAll(/<script([^>]*)>/gi)].map((m) => m[1]?.trim());
    expect(scripts).toEqual(['type="application/json" id="convosim-stats"', ""]);
    expect(html).toContain(`<script>${SCRIPT}</script>`);
    // No URL at all outside what the data itself says (these fixtures mention none).
    expect(html).not.toMatch(/https?:\/\//i);
  });

  it("locks the page down with a content security policy naming the script's hash", async () => {
    const { html } = await buildReport(dir, { generatedAt: FIXED });
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? "";
    const hash = createHash("sha256").update(SCRIPT).digest("base64");
    expect(csp).toContain("default-src &#39;none&#39;");
    expect(csp).toContain(`script-src &#39;sha256-${hash}&#39;`);
  });

  it("draws at least three plots as inline SVG", async () => {
    const { html, plots } = await buildReport(dir, { generatedAt: FIXED });
    const svgs = html.match(/<svg\b/g) ?? [];
    expect(svgs.length).toBe(plots);
    expect(plots).toBeGreaterThanOrEqual(3);
    for (const id of [
      "turns",
      "stop-reasons",
      "message-lengths",
      "assistant-models",
      "noise-strategies",
      "tokens-by-model",
      "failures",
    ])
      expect(html).toContain(`<figure id="fig-${id}">`);
    // The stop-reason bars carry their counts.
    expect(html).toMatch(/<title>user_satisfied: 8<\/title>/);
  });

  it("escapes conversation text, persona features, model names and failure reasons", async () => {
    const { html, stats } = await buildReport(dir, { generatedAt: FIXED });
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain("<b>bold</b>");
    expect(html).not.toContain("</script> <!--");
    expect(html).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;",
    );
    expect(html).toContain("model-&lt;b&gt;bold&lt;/b&gt;");
    // The embedded statistics parse back to exactly what computeStats returned.
    const block = /<script type="application\/json" id="convosim-stats">([^<]*)<\/script>/.exec(html)?.[1];
    expect(JSON.parse(block ?? "null")).toEqual(stats);
  });

  it("shows noised messages clean and noisy side by side with the changed word marked", async () => {
    const { html } = await buildReport(dir, { generatedAt: FIXED });
    expect((html.match(/<details class="conv"/g) ?? []).length).toBe(30);
    expect((html.match(/data-noised="1"/g) ?? []).length).toBe(10);
    expect(html).toContain(
      '<div class="text clean">How do I <mark>parse</mark> a CSV file number 3 in Python?</div>',
    );
    expect(html).toContain(
      '<div class="text noisy">How do I <mark>prase</mark> a CSV file number 3 in Python?</div>',
    );
    expect(html).toContain("surface_noise · typo_transposition");
  });

  it("samples a bounded, seeded, reproducible set of conversations", async () => {
    const ids = (html: string) => [...html.matchAll(/<span class="cid">([^<]+)<\/span>/g)].map((m) => m[1]);
    const a = await buildReport(dir, { sample: 7, seed: 1, generatedAt: FIXED });
    const b = await buildReport(dir, { sample: 7, seed: 1, generatedAt: FIXED });
    const c = await buildReport(dir, { sample: 7, seed: 2, generatedAt: FIXED });
    expect(a.html).toBe(b.html);
    expect(ids(a.html)).toHaveLength(7);
    expect(ids(a.html)).not.toEqual(ids(c.html));
    expect(a.html).toContain("A sample of 7 of 30 conversations, chosen by seed 1");
    // Statistics always cover the whole folder.
    expect(a.stats.interactions).toBe(30);
  });

  it("writes the file atomically where asked", async () => {
    const out = join(dir, "out.html");
    const report = await writeReport(dir, out, { generatedAt: FIXED });
    expect(await readFile(out, "utf8")).toBe(report.html);
  });
});

describe("report parts", () => {
  it("the sampler keeps the same conversations whatever order they arrive in", () => {
    const all = interactions();
    const forward = new ConversationSampler(5, 9);
    const backward = new ConversationSampler(5, 9);
    for (const i of all) forward.offer(i);
    for (const i of [...all].reverse()) backward.offer(i);
    expect(forward.result().map((c) => c.interaction_id)).toEqual(
      backward.result().map((c) => c.interaction_id),
    );
    expect(forward.result()).toHaveLength(5);
    expect(forward.seen).toBe(30);
  });

  it("the sampler picks each conversation about equally often across seeds", () => {
    const all = interactions();
    const hits = new Map<string, number>();
    for (let seed = 0; seed < 600; seed++) {
      const sampler = new ConversationSampler(3, seed);
      for (const i of all) sampler.offer(i);
      for (const c of sampler.result()) hits.set(c.interaction_id, (hits.get(c.interaction_id) ?? 0) + 1);
    }
    // Expected 600 * 3 / 30 = 60 per conversation; a fair sampler stays well inside 25..110.
    expect(hits.size).toBe(30);
    for (const count of hits.values()) {
      expect(count).toBeGreaterThan(25);
      expect(count).toBeLessThan(110);
    }
  });

  it("highlights changed words only, escaped", () => {
    expect(highlightChanges("fix my <b> code now", "fix my code now pls")).toEqual({
      clean: "fix my <mark>&lt;b&gt;</mark> code now",
      noisy: "fix my code now <mark>pls</mark>",
    });
    expect(highlightChanges("same", "same")).toEqual({ clean: "same", noisy: "same" });
  });

  it("chart helpers escape labels and survive empty and zero data", () => {
    const svg = barChart({
      title: "T<1>",
      categories: ["a&b", "<x>"],
      series: [{ name: "s", values: [0, 3] }],
    });
    expect(svg).not.toMatch(/<x>|a&b|T<1>/);
    expect(svg).toContain("&lt;x&gt;: 3");
    expect(columnChart({ title: "empty", categories: [], series: [{ name: "s", values: [] }] })).toMatch(
      /^<svg[\s\S]*<\/svg>$/,
    );
    expect(
      columnChart({ title: "zeros", categories: ["0", "1"], series: [{ name: "s", values: [0, 0] }] }),
    ).not.toContain("NaN");
  });
});
