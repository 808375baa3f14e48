import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderDatasetCard, sizeCategory } from "../../src/exports/card.js";
import { ExportTally } from "../../src/exports/tally.js";
import { variantMessages } from "../../src/exports/variant.js";
import { interaction } from "../sinks/fixtures.js";

function tallyOf(count: number) {
  const tally = new ExportTally();
  for (let i = 0; i < count; i++) {
    const record = interaction(`i${i}`, {
      persona_id: `p${i % 4}`,
      persona_features: { role: i % 2 ? "engineer" : "teacher", ...(i % 4 === 0 ? { age: 30 } : {}) },
    });
    if (i % 5 === 0) {
      record.metadata = { ...record.metadata, distractor_applied: true };
      record.messages[0]!.metadata = {
        was_noised: true,
        clean_content: "x",
        noise: { layer: "surface_noise" },
      };
    }
    tally.add(record, variantMessages(record, "noisy"), i % 4 === 3 ? "test" : "train");
  }
  return tally.snapshot();
}

describe("dataset card", () => {
  const card = renderDatasetCard({
    tally: tallyOf(20),
    dataFiles: [
      { split: "train", path: "data/train-*" },
      { split: "test", path: "data/test-*" },
    ],
    license: "other",
    variant: "noisy",
    seed: 9,
    splitBy: "persona",
    duplicates: 2,
    filtered: { min_turns: 3, stop_reason: 0 },
    skipped: 0,
    source: "run-1",
  });
  const [, yamlText = "", body = ""] = card.split(/^---$/m);

  it("declares the default config and one data file pattern per split in its YAML header", () => {
    const header = parse(yamlText);
    expect(header.configs).toEqual([
      {
        config_name: "default",
        data_files: [
          { split: "train", path: "data/train-*" },
          { split: "test", path: "data/test-*" },
        ],
      },
    ]);
    expect(header).toMatchObject({ license: "other", size_categories: ["n<1K"] });
  });

  it("describes the run: splits, models, personas and coverage, noise, counts, licence", () => {
    expect(body).toContain("| train | 15 | 3 |");
    expect(body).toContain("| test | 5 | 1 |");
    expect(body).toContain("Split by persona with seed 9");
    expect(body).toContain("| openai/gpt-4o-mini | 20 | 100.0% |");
    expect(body).toContain("4 personas.");
    expect(body).toContain("| age | 25.0% | 30 (5) |");
    expect(body).toContain("| role | 100.0% | engineer (10), teacher (10) |");
    expect(body).toContain("Conversations with noise (metadata.distractor_applied): 4 of 20 (20.0%)");
    expect(body).toContain("Noised user messages: 4 of 40 (10.0%)");
    expect(body).toContain("| surface_noise | 4 | 100.0% |");
    expect(body).toContain("| exact duplicates dropped | 2 |");
    expect(body).toContain("| filtered out (min_turns) | 3 |");
    expect(body).not.toContain("stop_reason) |");
    expect(body).toMatch(/Licence "other"/);
  });

  it("buckets sizes the way the Hub does", () => {
    expect(sizeCategory(999)).toBe("n<1K");
    expect(sizeCategory(1000)).toBe("1K<n<10K");
    expect(sizeCategory(250_000)).toBe("100K<n<1M");
  });
});
