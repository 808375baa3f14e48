// Output folders for the export tests: real runs of generate() with provider "fake" (no
// network, a fraction of a second), with a small noise hook of our own so some user messages
// are noised and the clean variant has something to restore.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { NoiseHook } from "../../src/schema/noise.js";

/** Lowercases and drops the final punctuation of every odd-seeded message: visible, deterministic. */
export const testNoise: NoiseHook = (input) => {
  if (input.seed % 2 === 0) return { text: input.text, applied: false };
  const text = input.text.toLowerCase().replace(/[?.!]+$/, "");
  if (text === input.text) return { text, applied: false };
  return {
    text,
    applied: true,
    details: { original_text: input.text, noisy_text: text, layer: "surface_noise", layers: ["L1_case"] },
  };
};

export interface RunShape {
  personas: number;
  queriesPerPersona: number;
}

/** Writes the personas and runs generate() into `out`; resolves with the conversations done. */
export async function generateRun(out: string, shape: RunShape): Promise<number> {
  const lines = Array.from({ length: shape.personas }, (_, p) =>
    JSON.stringify({
      persona_id: `persona_${String(p).padStart(3, "0")}`,
      persona_features: {
        role: ["engineer", "teacher", "nurse"][p % 3],
        communication_style: p % 2 ? "casual" : "formal",
        ...(p % 4 === 0 ? { tech_proficiency: "expert" } : {}),
      },
      queries: Array.from({ length: shape.queriesPerPersona }, (_, q) => ({
        original_query: `How do I plan project ${q} for team ${p} next quarter?`,
      })),
    }),
  );
  const personas = `${out}.personas.jsonl`;
  await mkdir(dirname(personas), { recursive: true });
  await writeFile(personas, `${lines.join("\n")}\n`);
  const summary = await generate({
    config: ConvosimConfig.parse({
      interaction_generation: {
        min_turns: 1,
        max_turns: 3,
        max_workers: 8,
        assistant_model: { provider: "fake", model: "fake-assistant" },
        user_model: { provider: "fake", model: "fake-user" },
      },
    }),
    personas,
    out,
    cache: false,
    noise: testNoise,
  });
  return summary.done;
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `convosim-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
