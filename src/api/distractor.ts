// The reference's DistractorModel in TypeScript form: createDistractor(config) builds the noise
// for user messages from a config's `distractor` block, with its own model for the semantic
// layers. Pass it to InteractionGenerator, or call applyNoise(text, personaFeatures) yourself.
import { asyncScheduler, lastValueFrom } from "rxjs";
import { assertModelBlocks } from "../config/model-blocks.js";
import { buildDistractor, type Distractor } from "../noise/distractor.js";
import type { SemanticCall } from "../noise/semantic/rewrite.js";
import { callModel } from "../operators/call-model.js";
import { checkModelConfig, createChatModel } from "../providers/registry.js";
import type { ChatModel } from "../providers/types.js";
import { checkDistractorConfig, type RuntimeOptions, samplingOf } from "../run/runtime.js";
import { ConvosimConfig, type ConvosimConfigInput, ModelConfig } from "../schema/config.js";

export interface CreateDistractorOptions extends RuntimeOptions {
  /** The semantic layers' model; default: built from distractor.model, else the user model. */
  model?: ChatModel;
}

/** A distractor with the model it created (closed by close()). */
export interface OwnedDistractor extends Distractor {
  close(): Promise<void>;
}

/**
 * The reference's DistractorModel: noise for user messages from a config's `distractor` block
 * (enabled or not: creating one says you want it). Pass it to InteractionGenerator, or call
 * `applyNoise(text, personaFeatures)` yourself. A bad strategy file throws an InputError.
 */
export async function createDistractor(
  config: ConvosimConfigInput | ConvosimConfig,
  options: CreateDistractorOptions = {},
): Promise<OwnedDistractor> {
  const parsed = ConvosimConfig.parse(config);
  assertModelBlocks(config, parsed);
  const forced = { ...parsed, distractor: { ...parsed.distractor, enabled: true } };
  checkDistractorConfig(forced);
  let owned: ChatModel | undefined;
  let model = options.model;
  if (!model && forced.distractor.use_semantic) {
    const source = forced.distractor.model ?? forced.interaction_generation.user_model;
    const config = ModelConfig.parse(pickModelKeys(source));
    checkModelConfig(config, options.env);
    owned = await createChatModel(config, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    model = owned;
  }
  // Semantic calls retry transient failures with the config's call_retries, as in a run.
  const retries = forced.interaction_generation.call_retries;
  const semanticModel = model;
  const call: SemanticCall | undefined = semanticModel
    ? (request) =>
        lastValueFrom(
          callModel(semanticModel, request, {
            retry: {
              count: retries.count,
              baseDelayMs: retries.base_delay * 1000,
              maxDelayMs: retries.max_delay * 1000,
            },
            scheduler: asyncScheduler,
            jitterSeed: request.seed ?? 0,
          }),
        )
    : undefined;
  const distractor = buildDistractor(forced.distractor, {
    seed: forced.interaction_generation.seed,
    ...(semanticModel && call ? { model: semanticModel, call } : {}),
    ...samplingOf(forced.distractor.model),
  });
  return Object.assign(distractor, { close: async () => owned?.close?.() });
}

// The keys of a ModelConfig out of a role config (drops feedback settings, templates, …).
function pickModelKeys(source: Record<string, unknown>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(ModelConfig.shape)) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}
