// BENCHMARKS.md renders a scenario's side-by-side tables (the peers scenario: one row per tool)
// as markdown tables, between its checks and its notes.
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../bench/report.js";

const machine = { cpus: 2, cpu: "test", memory_gb: 1, node: "v20", platform: "linux x64" };

describe("renderMarkdown", () => {
  it("writes a scenario's tables as markdown, caption first, before its notes", () => {
    const markdown = renderMarkdown(
      [
        {
          name: "peers",
          title: "Peers",
          setup: "Two tools.",
          checks: [],
          tables: [
            {
              caption: "No cap",
              header: ["tool", "wall s"],
              rows: [
                ["a", "1.5"],
                ["b", "3"],
              ],
            },
          ],
          notes: ["a note"],
          details: {},
          durationS: 1,
          date: "2026-01-01T00:00:00.000Z",
          machine,
        },
      ],
      { machine, date: "2026-01-01T00:00:00.000Z", totalS: 1, wanted: ["peers"] },
    );
    const table = "No cap:\n\n| tool | wall s |\n|---|---|\n| a | 1.5 |\n| b | 3 |\n";
    expect(markdown).toContain(table);
    expect(markdown.indexOf(table)).toBeLessThan(markdown.indexOf("- a note"));
  });
});
