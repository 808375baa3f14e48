// The embedded model: tokens per second through convosim's `local` provider against
// node-llama-cpp called directly, same prompts, same process, same run (bench/run-local.ts).
// One context sequence on both sides so that prompt evaluation and KV-cache reuse match.
// Then concurrency (bench/run-local-batch.ts): 1, 2, 4 and 8 conversations in flight on as many
// sequences of one context, tokens/s of each against 1 in flight in the same round, and whether
// their replies are byte-identical to the 1-in-flight replies (same requests, same seeds).
import { existsSync } from "node:fs";
import {
  type EmbeddedModel,
  embeddedModel,
  embeddedModelPath,
} from "../../src/providers/local/model-cache.js";
import { median, round, runChild } from "../measure.js";
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

interface BatchResult {
  sequences: number;
  context_size: number;
  calls: number;
  max_tokens: number;
  completion_tokens: number;
  ms: number;
  cpu_s: number;
  tokens_per_s: number;
  tokens_per_cpu_s: number;
  max_rss_mb: number;
  texts: string[];
}

const ROUNDS = Number(process.env.BENCH_LOCAL_ROUNDS ?? 3);
const IN_FLIGHT = [1, 2, 4, 8] as const;
const BATCH_CALLS = Number(process.env.BENCH_LOCAL_BATCH_CALLS ?? 8);
const BATCH_MAX_TOKENS = Number(process.env.BENCH_LOCAL_BATCH_MAX_TOKENS ?? 32);

/** 1, 2, 4, 8 in flight per round, the order reversed every other round (load drifts). */
async function measureInFlight() {
  const rounds: Array<Record<number, BatchResult>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [...IN_FLIGHT] : [...IN_FLIGHT].reverse();
    const byN: Record<number, BatchResult> = {};
    for (const n of order) {
      byN[n] = await runChild<BatchResult>(
        "run-local-batch.js",
        ["--calls", String(BATCH_CALLS), "--max-tokens", String(BATCH_MAX_TOKENS)],
        { env: { CONVOSIM_LOCAL_SEQUENCES: String(n) }, timeoutMs: 300_000 },
      );
    }
    rounds.push(byN);
  }
  return IN_FLIGHT.map((n) => {
    const runs = rounds.map((r) => r[n] as BatchResult);
    const one = rounds.map((r) => r[1] as BatchResult);
    const identical = runs.map((run, i) => run.texts.filter((t, k) => t === one[i]?.texts[k]).length);
    return {
      in_flight: n,
      tokens_per_s: median(runs.map((r) => r.tokens_per_s)),
      tokens_per_cpu_s: median(runs.map((r) => r.tokens_per_cpu_s)),
      // Against 1 in flight of the same round, then the median: ratios survive machine load.
      speedup: median(runs.map((r, i) => r.tokens_per_s / (one[i] as BatchResult).tokens_per_s)),
      cpu_speedup: median(runs.map((r, i) => r.tokens_per_cpu_s / (one[i] as BatchResult).tokens_per_cpu_s)),
      max_rss_mb: Math.max(...runs.map((r) => r.max_rss_mb)),
      identical_min: Math.min(...identical),
      calls: BATCH_CALLS,
      runs: runs.map(({ texts: _texts, ...rest }) => rest),
    };
  });
}

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
  const inFlight = await measureInFlight();
  const at = (n: number) => inFlight.find((r) => r.in_flight === n) as (typeof inFlight)[number];
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
      check(
        "4 in flight / 1 in flight, tokens per second (median of same-round ratios)",
        round(at(4).speedup, 2),
        "×",
        "≥ 1.5",
        at(4).speedup >= 1.5,
      ),
      check(
        "replies identical to 1 in flight, 4 in flight (worst round)",
        at(4).identical_min,
        `of ${BATCH_CALLS}`,
        "all",
        at(4).identical_min === BATCH_CALLS,
      ),
    ],
    notes: [
      side("convosim", r.convosim),
      side("direct", r.direct),
      `In flight (${BATCH_CALLS} calls of ≤ ${BATCH_MAX_TOKENS} tokens, temperature 0.7, seed per call, ` +
        `one sequence per conversation in flight, medians of ${ROUNDS} rounds):`,
      ...inFlight.map(
        (x) =>
          `${x.in_flight} in flight: ${round(x.tokens_per_s, 1)} tokens/s (${round(x.speedup, 2)}× of 1 in flight), ` +
          `${round(x.tokens_per_cpu_s, 1)} tokens per CPU-second (${round(x.cpu_speedup, 2)}×), ` +
          `peak RSS ${Math.round(x.max_rss_mb)} MB, replies identical to 1 in flight: ${x.identical_min} of ${x.calls} (worst round).`,
      ),
    ],
    details: { ...r, in_flight: inFlight },
  };
};
