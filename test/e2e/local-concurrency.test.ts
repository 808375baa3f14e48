// End-to-end with the REAL embedded Gemma 3 270M: which schedules give byte-identical replies for
// the same requests and seeds (docs/providers-local.md, "Concurrency and reproducibility").
// - One sequence: calls queue, so 4 fired at once reply exactly as 4 run one after another.
// - Several sequences, calls one at a time: identical too — idle sequences change nothing.
// Several sequences with calls overlapping are NOT pinned as identical: node-llama-cpp batches
// their tokens into one llama_decode, and llama.cpp's CPU kernels for repacked quantised weights
// give slightly different numbers depending on where a token sits in the micro-batch, which a
// 270M model turns into different words (the bench's embedded scenario counts how often).
// Replies are short (16 tokens) to keep the file well under a minute on 2 cores.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  createLocalChatModel,
  type EmbeddedModel,
  embeddedModel,
  embeddedModelPath,
} from "../../src/providers/local/index.js";
import type { ChatMessage } from "../../src/providers/types.js";
import { ModelConfig } from "../../src/schema/config.js";

const MODEL_PATH = embeddedModelPath(embeddedModel("gemma-3-270m") as EmbeddedModel);

const QUESTIONS = [
  "How do I start running if I have never exercised before?",
  "My tomato plants have yellow leaves. What could be wrong?",
  "Can you explain how compound interest works with an example?",
  "What should I pack for a three-day hiking trip in autumn?",
];
const requests: ChatMessage[][] = QUESTIONS.map((q) => [
  { role: "system", content: "You are a patient, practical assistant." },
  { role: "user", content: q },
]);

/** Replies to `requests` (sampled, one fixed seed per request), `inFlight` calls at a time. */
async function replies(sequences: number, inFlight: number): Promise<string[]> {
  if (!existsSync(MODEL_PATH)) {
    throw new Error(
      `embedded model not found at ${MODEL_PATH}; run \`npm run fetch-model\` before the tests`,
    );
  }
  const model = await createLocalChatModel(ModelConfig.parse({ provider: "local", model: "gemma-3-270m" }), {
    env: { ...process.env, CONVOSIM_LOCAL_SEQUENCES: String(sequences) },
  });
  try {
    const info = await model.load();
    expect(info.sequences).toBe(sequences);
    const out: string[] = new Array(requests.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < requests.length) {
          const i = next++;
          const result = await model.complete({
            messages: requests[i] as ChatMessage[],
            maxTokens: 16,
            temperature: 0.7,
            seed: 100 + i,
          });
          out[i] = result.text;
        }
      }),
    );
    return out;
  } finally {
    // The last reference disposes the native model, so the next call loads it with its own settings.
    await model.close();
  }
}

describe("local provider: the same requests and seeds under different schedules", () => {
  it("one sequence: 4 calls fired at once reply byte for byte as 4 calls one at a time", async () => {
    const oneAtATime = await replies(1, 1);
    const fourAtOnce = await replies(1, 4);
    expect(oneAtATime.every((text) => typeof text === "string")).toBe(true);
    // Sampled at temperature 0.7 with distinct seeds: the replies are not all the same text.
    expect(new Set(oneAtATime).size).toBeGreaterThan(1);
    expect(fourAtOnce).toEqual(oneAtATime);
  }, 120_000);

  it("four sequences used one call at a time reply as one sequence does", async () => {
    const single = await replies(1, 1);
    const fourIdle = await replies(4, 1);
    expect(fourIdle).toEqual(single);
  }, 120_000);
});
