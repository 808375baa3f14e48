import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { from, lastValueFrom, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConversationResult, Interaction } from "../../src/schema/interaction.js";
import { InteractionStorage } from "../../src/sinks/interaction-storage.js";
import {
  noisyInitialQueries,
  TrainingDataCollector,
  type TrainingSample,
  toTrainingSample,
  trainingCollectorSink,
} from "../../src/sinks/training.js";
import { failure, interaction, tempDir } from "./fixtures.js";

const readSamples = async (path: string): Promise<TrainingSample[]> =>
  (await readFile(path, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TrainingSample);

function withInitialMetadata(metadata: Record<string, unknown>): Interaction {
  const base = interaction("n");
  const [first, ...rest] = base.messages;
  return { ...base, messages: [{ ...first!, metadata }, ...rest] };
}

describe("training samples", () => {
  it("builds the reference's sample from an interaction", () => {
    const sample = toTrainingSample(interaction("i1"));
    expect(sample).toEqual({
      sample_id: "sample_i1",
      persona_id: "persona_001",
      persona_features: { role: "engineer", communication_style: "casual" },
      original_query: "Help me write Python code",
      initial_query: "hey can u help me write some python code",
      prompt_trajectory: ["hey can u help me write some python code", "a script to process csv files"],
      full_conversation: [
        { role: "user", content: "hey can u help me write some python code" },
        { role: "assistant", content: "Sure! What kind of Python code?" },
        { role: "user", content: "a script to process csv files" },
        { role: "assistant", content: "Here's a script:\n```python\nimport csv\n```" },
      ],
      num_turns: 2,
      noisy_initial_queries: [],
      metadata: {
        interaction_id: "i1",
        distractor_applied: false,
        assistant_model: { provider: "openai", model: "gpt-4o-mini" },
      },
    });
  });

  it("reads the noise recorded on the opening message, in any of the shapes the noise layer writes", () => {
    expect(
      noisyInitialQueries(
        withInitialMetadata({
          noise: {
            clean_text: "Help me",
            noisy_text: "halp me",
            layer: "surface",
            strategies: ["typo_misspelling"],
          },
        }),
      ),
    ).toEqual([
      {
        clean_text: "Help me",
        noisy_text: "halp me",
        noise_type: "surface",
        applied_strategies: ["typo_misspelling"],
      },
    ]);
    expect(
      noisyInitialQueries(withInitialMetadata({ clean_text: "a", noisy_text: "b", layers: ["L1"] })),
    ).toEqual([{ clean_text: "a", noisy_text: "b", noise_type: "L1", applied_strategies: [] }]);
    expect(
      noisyInitialQueries(
        withInitialMetadata({
          clean_text: "Help me write code",
          noisy_versions: [
            {
              noisy_text: "help me writ code plz",
              noise_type: "surface_noise",
              applied_strategies: ["typo_misspelling"],
            },
          ],
        }),
      ),
    ).toEqual([
      {
        clean_text: "Help me write code",
        noisy_text: "help me writ code plz",
        noise_type: "surface_noise",
        applied_strategies: ["typo_misspelling"],
      },
    ]);
    // Recorded but unchanged is not noise.
    expect(
      noisyInitialQueries(withInitialMetadata({ noise: { clean_text: "same", noisy_text: "same" } })),
    ).toEqual([]);
  });
});

describe("TrainingDataCollector", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("appends one sample per saved interaction when attached to storage", async () => {
    const path = join(dir, "training", "samples.ndjson");
    const collector = new TrainingDataCollector(path);
    const storage = new InteractionStorage(join(dir, "out"), { collector });
    await storage.save(interaction("a"));
    // Written as it happens, not at the end.
    expect((await readSamples(path)).map((s) => s.sample_id)).toEqual(["sample_a"]);
    await storage.save(interaction("b"));
    await storage.saveFailure(failure("c"));
    await storage.close();
    expect(collector.count).toBe(2);
    expect((await readSamples(path)).map((s) => s.metadata.interaction_id)).toEqual(["a", "b"]);
    await expect(collector.add(interaction("late"))).rejects.toThrow(/closed/);
  });

  it("trainingCollectorSink collects interactions, passes failures through and closes the collector", async () => {
    const path = join(dir, "samples.ndjson");
    const collector = new TrainingDataCollector(path);
    const results: ConversationResult[] = [
      { kind: "interaction", interaction: interaction("a") },
      { kind: "failure", failure: failure("b") },
      { kind: "interaction", interaction: interaction("c") },
    ];
    const emitted = await lastValueFrom(from(results).pipe(trainingCollectorSink(collector), toArray()));
    expect(emitted).toEqual(results);
    expect((await readSamples(path)).map((s) => s.metadata.interaction_id)).toEqual(["a", "c"]);
    await expect(collector.add(interaction("late"))).rejects.toThrow(/closed/);
  });
});
