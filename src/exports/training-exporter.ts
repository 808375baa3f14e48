// The reference's TrainingDataExporter: training samples (sinks/training.ts) as JSON arrays,
// optionally split, plus a statistics file (totals, average turns, noise rate and layer
// distribution, persona distribution). Unlike the reference, the split is by persona and
// seeded (split.ts), so no persona is in two splits, and the arrays are streamed to disk one
// sample at a time instead of being built in memory.
import { type FileHandle, open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Interaction } from "../schema/interaction.js";
import { makeFolder } from "../shared/writable-folder.js";
import { readNdjson } from "../sinks/ndjson-sink.js";
import { type TrainingSample, toTrainingSample } from "../sinks/training.js";
import { type OutputFile, openOutputFile, refuseInsideFolder } from "./output-file.js";
import { readStore } from "./source.js";
import { parseSplitSpec, type SplitSpec, splitOf, validateSplitSpec } from "./split.js";

export interface TrainingExporterOptions {
  /** Persona-level split, e.g. "train=0.8,validation=0.1,test=0.1". None: one file. */
  split?: SplitSpec | string;
  /** Seed of the split (default 0). */
  seed?: number;
}

/** The file written when no split is asked for. */
export const ALL_SAMPLES = "samples";

export interface TrainingStatistics {
  total_samples: number;
  total_personas: number;
  average_turns: number;
  /** Samples dropped because their sample_id was already exported. */
  duplicates_dropped: number;
  noise: {
    /** Share of samples with metadata.distractor_applied. */
    rate: number;
    samples_with_noise: number;
    /** Noise type (layer) of the noisy initial queries → count. */
    layer_distribution: Record<string, number>;
  };
  /** persona_id → samples. */
  persona_distribution: Record<string, number>;
  split: { by: "persona"; seed: number; parts: Record<string, { samples: number; personas: number }> } | null;
  /** File name (in the output folder) → samples. */
  files: Record<string, number>;
}

/** A JSON array written element by element, in 64 KiB writes. */
class JsonArrayFile {
  readonly path: string;
  #file: FileHandle | undefined;
  #pending = "";
  count = 0;

  constructor(path: string) {
    this.path = path;
  }

  async add(value: unknown): Promise<void> {
    this.#pending += `${this.count === 0 ? "[\n" : ",\n"}${JSON.stringify(value)}`;
    this.count += 1;
    if (this.#pending.length >= 1 << 16) await this.#flush();
  }

  async close(): Promise<void> {
    this.#pending += this.count === 0 ? "[]\n" : "\n]\n";
    try {
      await this.#flush();
    } finally {
      await this.#file?.close();
    }
  }

  async #flush(): Promise<void> {
    this.#file ??= await open(this.path, "w");
    const text = this.#pending;
    this.#pending = "";
    await this.#file.write(text);
  }
}

const isSample = (value: Interaction | TrainingSample): value is TrainingSample =>
  "sample_id" in value && "full_conversation" in value;

export class TrainingDataExporter {
  readonly #split: SplitSpec | undefined;
  readonly #seed: number;

  constructor(options: TrainingExporterOptions = {}) {
    if (typeof options.split === "string") this.#split = parseSplitSpec(options.split);
    else if (options.split !== undefined) {
      validateSplitSpec(options.split);
      this.#split = options.split;
    }
    this.#seed = options.seed ?? 0;
  }

  /** Samples from a collector's NDJSON file (unreadable lines are skipped). */
  static async *samplesFromFile(path: string): AsyncGenerator<TrainingSample> {
    for await (const line of readNdjson(path)) {
      if (line.ok && typeof line.value === "object" && line.value !== null)
        yield line.value as TrainingSample;
    }
  }

  /** Exports the samples of an output folder's interactions. */
  async exportFolder(dir: string, outDir: string): Promise<TrainingStatistics> {
    // Its .json files inside interactions/ would be read back as (corrupt) interactions.
    await refuseInsideFolder(outDir, join(dir, "interactions"), "outDir");
    return this.export(readStore(dir), outDir);
  }

  /**
   * Writes `<split>.json` per split (or `samples.json`) and `statistics.json` into `outDir`.
   * Accepts interactions or ready samples (e.g. samplesFromFile); files appear complete or
   * not at all (written under temporary names, then renamed).
   */
  async export(
    source: AsyncIterable<Interaction | TrainingSample> | Iterable<Interaction | TrainingSample>,
    outDir: string,
  ): Promise<TrainingStatistics> {
    await makeFolder(outDir);
    const names = this.#split ? this.#split.map((part) => part.name) : [ALL_SAMPLES];
    const suffix = `.tmp-${process.pid}`;
    // Each file written as `> PATH` would: through a symlink, in place to a device or pipe.
    const targets = new Map<string, OutputFile>();
    for (const name of names) {
      targets.set(name, await openOutputFile(join(outDir, `${name}.json`), "outDir", suffix));
    }
    const stats = await openOutputFile(join(outDir, "statistics.json"), "outDir", suffix);
    const files = new Map(names.map((name) => [name, new JsonArrayFile(targets.get(name)!.writePath)]));
    const seen = new Set<string>();
    const personas = new Map<string, number>();
    const splitPersonas = new Map(names.map((name) => [name, new Set<string>()]));
    const layers = new Map<string, number>();
    let duplicates = 0;
    let turns = 0;
    let noisy = 0;
    try {
      for await (const item of source) {
        const sample = isSample(item) ? item : toTrainingSample(item);
        if (seen.has(sample.sample_id)) {
          duplicates += 1;
          continue;
        }
        seen.add(sample.sample_id);
        const split = this.#split ? splitOf(sample.persona_id, this.#split, this.#seed) : ALL_SAMPLES;
        await files.get(split)?.add(sample);
        splitPersonas.get(split)?.add(sample.persona_id);
        personas.set(sample.persona_id, (personas.get(sample.persona_id) ?? 0) + 1);
        turns += sample.num_turns;
        if (sample.metadata?.distractor_applied) noisy += 1;
        for (const query of sample.noisy_initial_queries ?? []) {
          const layer = query.noise_type ?? "unknown";
          layers.set(layer, (layers.get(layer) ?? 0) + 1);
        }
      }
      for (const file of files.values()) await file.close();
    } catch (error) {
      await Promise.allSettled([...files.values()].map((file) => file.close()));
      const temporary = names.filter((name) => targets.get(name)!.renameTo !== undefined);
      await Promise.allSettled(temporary.map((name) => rm(targets.get(name)!.writePath, { force: true })));
      throw error;
    }
    for (const name of names) {
      const target = targets.get(name)!;
      if (target.renameTo !== undefined) await rename(target.writePath, target.renameTo);
    }
    const total = seen.size;
    const statistics: TrainingStatistics = {
      total_samples: total,
      total_personas: personas.size,
      average_turns: total > 0 ? turns / total : 0,
      duplicates_dropped: duplicates,
      noise: {
        rate: total > 0 ? noisy / total : 0,
        samples_with_noise: noisy,
        layer_distribution: Object.fromEntries([...layers].sort((a, b) => b[1] - a[1])),
      },
      persona_distribution: Object.fromEntries([...personas].sort((a, b) => a[0].localeCompare(b[0]))),
      split: this.#split
        ? {
            by: "persona",
            seed: this.#seed,
            parts: Object.fromEntries(
              names.map((name) => [
                name,
                { samples: files.get(name)?.count ?? 0, personas: splitPersonas.get(name)?.size ?? 0 },
              ]),
            ),
          }
        : null,
      files: Object.fromEntries(names.map((name) => [`${name}.json`, files.get(name)?.count ?? 0])),
    };
    await writeFile(stats.writePath, `${JSON.stringify(statistics, null, 2)}\n`);
    if (stats.renameTo !== undefined) await rename(stats.writePath, stats.renameTo);
    return statistics;
  }
}
