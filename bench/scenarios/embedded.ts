// The embedded model: tokens per second through convosim's `local` provider against
// node-llama-cpp called directly, same prompts, same process, same run (bench/run-local.ts).
// One context sequence on both sides so that prompt evaluation and KV-cache reuse match.
import { existsSync } from "node:fs";
import {
  type EmbeddedModel,
  embeddedModel,
  embeddedModelPath,
} from "../../src/providers/local/model-cache.js";
import { round, runChild } from "../measure.js";
import { check, type Scenario } from "./types.js";

interface SideResult {
  ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_per_s: number;
}
interface LocalResult {
  model: string;
  prompt_format: string;
  settings: Record<string, unknown>;
  calls_per_side: number;
  max_tokens: number;
  identical_outputs: number;
  convosim: SideResult;
  direct: SideResult;
  ratio: number;
}

const ROUNDS = Number(process.env.BENCH_LOCAL_ROUNDS ?? 3);

export const embedded: Scenario = async () => {
  const path = embeddedModelPath(embeddedModel("gemma-3-270m") as EmbeddedModel);
  if (!existsSync(path)) {
    return {
      name: "embedded",
      title: "Embedded model: convosim vs node-llama-cpp directly",
      setup: "",
      checks: [],
      skipped: `embedded model not found at ${path}; run \`npm run fetch-model\` first`,
      notes: [],
      details: {},
    };
  }
  const r = await runChild<LocalResult>("run-local.js", ["--rounds", String(ROUNDS)], {
    env: { CONVOSIM_LOCAL_SEQUENCES: "1" },
    timeoutMs: 300_000,
  });
  const side = (name: string, s: SideResult) =>
    `${name}: ${s.completion_tokens} tokens generated (prompts ${s.prompt_tokens} tokens) in ` +
    `${round(s.ms / 1000, 2)} s = ${round(s.tokens_per_s, 1)} tokens/s.`;
  return {
    name: "embedded",
    title: "Embedded model: convosim vs node-llama-cpp directly",
    setup:
      `${r.model} (${r.prompt_format} prompts), ${r.calls_per_side} calls per side: the same prompts, ` +
      `maxTokens ${r.max_tokens}, temperature 0, seed 1, same context settings ` +
      `(${JSON.stringify(r.settings)}), interleaved call by call; each call timed end to end.`,
    headline: {
      label: "tokens/s through convosim",
      measured: round(r.convosim.tokens_per_s, 1),
      ideal: round(r.direct.tokens_per_s, 1),
      unit: "tokens/s",
      idealIs: "node-llama-cpp called directly, same prompts, same run",
    },
    checks: [
      check("convosim / direct tokens per second", round(r.ratio), "×", "≥ 0.90", r.ratio >= 0.9),
      check(
        "identical outputs (like for like)",
        r.identical_outputs,
        `of ${r.calls_per_side}`,
        "all",
        r.identical_outputs === r.calls_per_side,
      ),
    ],
    notes: [side("convosim", r.convosim), side("direct", r.direct)],
    details: { ...r },
  };
};
