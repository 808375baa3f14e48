// The reference's training data path: a collector attached to storage writes samples as
// interactions are saved; TrainingDataExporter turns them into JSON arrays per split (by
// persona, seeded) and a statistics file.
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TrainingDataExporter, type TrainingStatistics } from "../../src/exports/training-exporter.js";
import type { Interaction } from "../../src/schema/interaction.js";
import { InteractionStorage } from "../../src/sinks/interaction-storage.js";
import { noisyInitialQueries, TrainingDataCollector, type TrainingSample } from "../../src/sinks/training.js";
import { interaction, tempDir } from "../sinks/fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, "utf8")) as T;

/** Persona p's i-th conversation; odd personas had their opening message noised. */
function record(p: number, i: number): Interaction {
  const base = interaction(`i_${p}_${i}`, { persona_id: `persona_${p}` });
  if (p % 2 === 1) {
    base.messages[0] = {
      ...base.messages[0]!,
      content: "hey cn u help",
      metadata: {
        is_initial: true,
        was_noised: true,
        clean_content: "hey can u help",
        noise: { original_text: "hey can u help", layer: "surface_noise", applied_strategies: ["typo"] },
      },
    };
    base.metadata = { ...base.metadata, distractor_applied: true };
  }
  return base;
}

describe("training samples from what converse records", () => {
  it("reads was_noised / clean_content / noise as the noisy initial query", () => {
    expect(noisyInitialQueries(record(1, 0))).toEqual([
      {
        clean_text: "hey can u help",
        noisy_text: "hey cn u help",
        noise_type: "surface_noise",
        applied_strategies: ["typo"],
      },
    ]);
    expect(noisyInitialQueries(record(2, 0))).toEqual([]);
  });
});

describe("TrainingDataExporter", () => {
  it("collects through storage, then exports persona-disjoint splits and statistics", async () => {
    const samplesPath = join(dir, "samples.ndjson");
    const collector = new TrainingDataCollector(samplesPath);
    const storage = new InteractionStorage(join(dir, "out"), { collector });
    for (let p = 0; p < 12; p++) for (let i = 0; i < 3; i++) await storage.save(record(p, i));
    await storage.close();

    const exporter = new TrainingDataExporter({ split: "train=0.7,test=0.3", seed: 1 });
    const out = join(dir, "training");
    const stats = await exporter.export(TrainingDataExporter.samplesFromFile(samplesPath), out);
    expect((await readdir(out)).sort()).toEqual(["statistics.json", "test.json", "train.json"]);
    const train = await readJson<TrainingSample[]>(join(out, "train.json"));
    const test = await readJson<TrainingSample[]>(join(out, "test.json"));
    expect(train.length + test.length).toBe(36);
    expect(Math.min(train.length, test.length)).toBeGreaterThan(0);
    const trainPersonas = new Set(train.map((s) => s.persona_id));
    expect(test.filter((s) => trainPersonas.has(s.persona_id))).toEqual([]);
    expect(train[0]).toHaveProperty("prompt_trajectory");
    expect(train[0]).toHaveProperty("full_conversation");

    expect(await readJson<TrainingStatistics>(join(out, "statistics.json"))).toEqual(stats);
    expect(stats).toMatchObject({
      total_samples: 36,
      total_personas: 12,
      average_turns: 2,
      duplicates_dropped: 0,
      noise: { rate: 0.5, samples_with_noise: 18, layer_distribution: { surface_noise: 18 } },
      split: { by: "persona", seed: 1 },
    });
    expect(stats.persona_distribution.persona_0).toBe(3);
    expect(stats.split?.parts.train?.samples).toBe(train.length);
    expect((stats.split?.parts.train?.personas ?? 0) + (stats.split?.parts.test?.personas ?? 0)).toBe(12);

    // The same from the interaction files, with the same seed: the same split.
    const again = await new TrainingDataExporter({ split: "train=0.7,test=0.3", seed: 1 }).exportFolder(
      join(dir, "out"),
      join(dir, "again"),
    );
    expect(again.split?.parts).toEqual(stats.split?.parts);
  });

  it("without a split writes samples.json; a sample seen twice is dropped and counted", async () => {
    const out = join(dir, "all");
    const stats = await new TrainingDataExporter().export([record(0, 0), record(0, 1), record(0, 0)], out);
    expect((await readdir(out)).sort()).toEqual(["samples.json", "statistics.json"]);
    expect(await readJson<TrainingSample[]>(join(out, "samples.json"))).toHaveLength(2);
    expect(stats).toMatchObject({ total_samples: 2, duplicates_dropped: 1, split: null });
  });

  it("writes a valid empty array when there is nothing to export", async () => {
    const out = join(dir, "empty");
    await new TrainingDataExporter({ split: "train=0.5,test=0.5" }).export([], out);
    expect(await readJson(join(out, "train.json"))).toEqual([]);
    expect(await readJson(join(out, "test.json"))).toEqual([]);
  });

  it("writes through a symlinked samples.json (the link stays) and refuses an outDir inside interactions/", async () => {
    const store = join(dir, "run");
    const storage = new InteractionStorage(store);
    await storage.save(record(0, 0));
    await storage.close();
    const out = join(dir, "samples");
    await mkdir(out);
    const target = join(dir, "kept-elsewhere.json");
    await writeFile(target, "[]\n");
    await symlink(target, join(out, "samples.json"));
    await new TrainingDataExporter().exportFolder(store, out);
    expect((await lstat(join(out, "samples.json"))).isSymbolicLink()).toBe(true);
    expect(await readJson<TrainingSample[]>(target)).toHaveLength(1);

    const before = await readdir(join(store, "interactions"));
    await expect(
      new TrainingDataExporter().exportFolder(store, join(store, "interactions", "sub", "..")),
    ).rejects.toThrow(/is inside the folder being read/);
    expect(await readdir(join(store, "interactions"))).toEqual(before);
  });

  it("rejects a split that does not sum to 1", () => {
    expect(() => new TrainingDataExporter({ split: "train=0.5" })).toThrow(/sum to 0.5/);
  });
});
