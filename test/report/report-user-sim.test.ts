// The report's "Simulated user" section over the hand-built run of stats-user-sim-fixtures.ts:
// its cards, plots (the stop reasons plot lives here, once), summary, guard and words tables,
// escaping of data-borne text, and what is left out when there is nothing to draw.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport } from "../../src/report/build.js";
import { GUARD_NAMES } from "../../src/run/stats-user-sim.js";
import { assistantMessage, makeInteraction, tempDir, userMessage, writeRun } from "../run/stats-fixtures.js";
import { userSimFailures, userSimInteractions } from "../run/stats-user-sim-fixtures.js";

const FIXED = new Date("2026-03-01T12:00:00.000Z");
const HOSTILE = "<b>loud</b> & proud";

let dir: string;
let cleanup: () => Promise<void>;
let html: string;
let section: string;
let plots: number;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("convosim-report-user-"));
  const extra = makeInteraction({
    id: "z_<i>hostile</i>",
    features: { communication_style: HOSTILE },
    messages: [userMessage("How do I bake sourdough bread at home?"), assistantMessage("Like so.")],
  });
  await writeRun(dir, [...userSimInteractions(), extra], userSimFailures());
  ({ html, plots } = await buildReport(dir, { generatedAt: FIXED, sample: 0 }));
  section = /<section id="simulated-user">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? "";
});
afterAll(async () => cleanup());

/** The text of a table row whose first cell is `label`. */
function row(label: string): string {
  const match = new RegExp(`<tr><td>${label}</td><td>([^<]*)</td></tr>`).exec(section);
  return match?.[1] ?? "";
}

describe("the report's simulated user section", () => {
  it("comes after the general plots, with its cards", () => {
    expect(section).not.toBe("");
    expect(html.indexOf('<section id="plots">')).toBeLessThan(html.indexOf('<section id="simulated-user">'));
    const cards = [...section.matchAll(/<div class="v">([^<]*)<\/div><div class="k">([^<]*)<\/div>/g)].map(
      (m) => [m[2], m[1]],
    );
    expect(cards).toEqual([
      ["follow-ups", "10"],
      ["re-asked", "50.0%"],
      ["rejections", "6"],
      ["asking something", "60.0%"],
      ["distinct-2 (follow-ups)", "0.667"],
      ["near-duplicate pairs", "2"],
    ]);
  });

  it("draws stop reasons (once, here, with the judge), asks, rejections, words by style and distinct-n", () => {
    const ids = [...section.matchAll(/<figure id="fig-([^"]+)">/g)].map((m) => m[1]);
    expect(ids).toEqual([
      "stop-reasons",
      "user-asks",
      "user-rejections",
      "user-words-by-style",
      "user-diversity",
    ]);
    expect(html.match(/id="fig-stop-reasons"/g)).toHaveLength(1);
    expect(plots).toBe((html.match(/<svg\b/g) ?? []).length);
    expect(section).toContain("<title>user_sim_failed: 1</title>");
    expect(section).toContain(
      "Stop judge: 2 conversations judged (4 verdicts), 1 reached the expected outcome.",
    );
    expect(section).toContain("<title>3: 1</title>"); // one follow-up took three asks
    expect(section).toContain("<title>speaks_as_assistant: 2</title>");
    expect(section).not.toContain("<title>verifier: "); // zero on follow-ups: no bar
    expect(section).toContain("<title>casual (7) (p90): 9</title>");
    expect(section).toContain("<title>distinct-2 (follow-ups): 0.667</title>");
  });

  it("sums everything up in a table with the definitions' figures", () => {
    expect(row("follow-up user messages")).toBe("10 (4 without an asks record, counted as one ask)");
    expect(row("asks")).toBe("16 (mean 1.60 per follow-up)");
    expect(row("re-asked follow-ups")).toBe("5 (50.0%)");
    expect(row("unwrapped replies")).toBe("2 (json 1, quotes 1)");
    expect(row("continued after an early stop")).toBe("1");
    expect(row("per-conversation records")).toBe(
      "4 conversations, 15 asks, 9 rejections; prompt format chat 3, transcript 1",
    );
    expect(row("simulated user gave up")).toBe(
      "1 saved (stop reason user_sim_failed), 1 failed (error_kind user_simulator)",
    );
    expect(row("asking something")).toBe("follow-ups 6 of 10 (60.0%), openings 6 of 7 (85.7%)");
    expect(row("near-duplicate conversations")).toBe(
      "2 pairs with estimated Jaccard ≥ 0.8 over the user turns&#39; word 3-grams, 4 conversations in them, of 7 compared",
    );
    // The extra one-turn conversation opens like a_new but has no follow-ups: not a copy.
    expect(section).toContain("<td>example pair</td><td>a_new ~ d_old (similarity 1.00)</td>");
  });

  it("lists every guard with its counts on follow-ups, in the records and in failed conversations", () => {
    const n = '<td class="n">(\\d+)</td>';
    const rows = [...section.matchAll(new RegExp(`<tr><td>([a-z_]+)</td>${n}${n}${n}</tr>`, "g"))].map(
      (m) => [m[1], Number(m[2]), Number(m[3]), Number(m[4])],
    );
    expect(rows.map((r) => r[0])).toEqual([...GUARD_NAMES]);
    expect(rows).toContainEqual(["speaks_as_assistant", 2, 2, 0]);
    expect(rows).toContainEqual(["prompt_leak", 0, 2, 0]);
    expect(rows).toContainEqual(["copies_assistant", 1, 0, 0]);
    expect(rows).toContainEqual(["empty", 0, 1, 2]);
    expect(rows).toContainEqual(["repeats_user", 0, 0, 1]);
    expect(rows).toContainEqual(["stop_too_early", 0, 0, 0]);
  });

  it("tabulates words per turn by style and escapes style names and ids", () => {
    expect(section).toContain(
      '<tr><td>casual</td><td class="n">7</td><td class="n">5</td><td class="n">9</td><td class="n">4</td><td class="n">8</td><td class="n">10</td></tr>',
    );
    expect(section).toContain(
      '<tr><td>&lt;b&gt;loud&lt;/b&gt; &amp; proud</td><td class="n">0</td><td class="n">—</td><td class="n">—</td><td class="n">1</td><td class="n">8</td><td class="n">8</td></tr>',
    );
    expect(html).not.toContain("<b>loud</b>");
    expect(html).not.toContain("<i>hostile</i>");
  });
});

describe("a run with no follow-ups", () => {
  it("keeps the stop reasons and distinct-n plots and leaves out asks, rejections and words by style", async () => {
    const { dir: other, cleanup: done } = await tempDir("convosim-report-user-");
    try {
      await writeRun(other, [makeInteraction({ id: "one" }), makeInteraction({ id: "two" })]);
      const report = await buildReport(other, { generatedAt: FIXED, sample: 0 });
      const part = /<section id="simulated-user">([\s\S]*?)<\/section>/.exec(report.html)?.[1] ?? "";
      expect([...part.matchAll(/<figure id="fig-([^"]+)">/g)].map((m) => m[1])).toEqual([
        "stop-reasons",
        "user-diversity",
      ]);
      expect(part).toContain("No stop-judge verdicts recorded.");
      expect(part).toContain("<td>near-duplicate conversations</td><td>1 pair with");
    } finally {
      await done();
    }
  });
});
