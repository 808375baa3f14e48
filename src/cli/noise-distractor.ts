// `convosim noise --config F [--semantic]`: preview the distractor of a config instead of the
// bare rule-based layers — its activation gate, layer weights, strategy file and steering, and
// with --semantic the model-driven layers (rewrite + verifier) played by distractor.model or the
// user model. Each line is its own interaction ("line:<n>"), as in the rule-based preview.
import { createDistractor, type OwnedDistractor } from "../api/distractor.js";
import { InputError } from "../config/errors.js";
import { loadConfig } from "../config/load.js";
import type { NoiseResult } from "../schema/noise.js";

export interface DistractorPreviewOptions {
  config?: string;
  semantic?: boolean;
  seed?: number;
  probability?: number;
  turn?: number;
  channel?: string;
  report?: boolean;
}

export interface DistractorNoiser {
  noise(text: string, index: number): Promise<NoiseResult & { fallback?: unknown }>;
  distractor: OwnedDistractor;
  close(): Promise<void>;
}

/** True when the flags ask for the distractor rather than the bare rule-based layers. */
export function wantsDistractor(options: DistractorPreviewOptions): boolean {
  return options.semantic === true || options.config !== undefined;
}

export async function distractorNoiser(
  options: DistractorPreviewOptions,
  persona: Record<string, unknown>,
): Promise<DistractorNoiser> {
  if (options.report)
    throw new InputError({
      file: "command line",
      field: "--report",
      message: "the realism report measures the rule-based layers only",
      hint: "drop --config/--semantic, or drop --report to preview the distractor line by line",
    });
  const config = await loadConfig(options.config, options.seed !== undefined ? { seed: options.seed } : {});
  const distractor = await createDistractor({
    ...config,
    distractor: {
      ...config.distractor,
      ...(options.semantic ? { use_semantic: true } : {}),
      ...(options.probability !== undefined ? { activation_probability: options.probability } : {}),
      ...(options.channel ? { channel: options.channel as typeof config.distractor.channel } : {}),
    },
  });
  const seed = config.interaction_generation.seed;
  const turn = options.turn ?? 1;
  return {
    distractor,
    noise: async (text, index) => {
      const noised = await distractor.noise({
        text,
        persona_features: persona,
        interaction_id: `line:${index + 1}`,
        turn,
        is_initial: turn === 1,
        seed,
      });
      return noised.fallback ? { ...noised.result, fallback: noised.fallback } : noised.result;
    },
    close: () => distractor.close(),
  };
}
