// The distractor: noise on simulated user messages during generation, built from the config's
// `distractor` block. Per message: the activation gate (activation_probability), then one
// reference layer by layer_weights — surface noise by the rule-based layers, or a semantic
// layer by a verified model rewrite (use_semantic), falling back to surface noise (recorded)
// when semantic noise is off, has nothing enabled, or every rewrite was rejected. Every random
// choice draws from its own stream keyed by (seed, interaction, turn), so a retried turn gets
// the same noise. The returned object is a NoiseHook for converse(), with counters (stats()).
import { isTransient } from "../providers/errors.js";
import type { ChatModel, ChatRequest, ChatResult } from "../providers/types.js";
import type { DistractorConfig } from "../schema/config.js";
import type {
  DistractorType,
  LayerWeights,
  NoiseCall,
  NoiseHook,
  NoiseInput,
  NoiseOutcome,
  NoiseResult,
  StrategySetting,
} from "../schema/noise.js";
import { unchangedResult } from "./apply.js";
import { buildSettings, type SurfaceNoise } from "./distractor-settings.js";
import { bump, type DistractorStats, emptyStats, snapshot } from "./distractor-stats.js";
import { REFERENCE_LAYERS, type ReferenceLayer } from "./distractor-strategies.js";
import { chance, stream, weightedIndex } from "./random.js";
import { chooseSemanticStrategies, semanticNoiseResult } from "./semantic/layer.js";
import type { SemanticPrompts } from "./semantic/prompts.js";
import { type SemanticCall, semanticRewrite } from "./semantic/rewrite.js";
import { isSemanticLayer, type SemanticStrategy } from "./semantic/strategies.js";

export interface DistractorOptions {
  /**
   * The run seed (interaction_generation.seed). Persona-level choices of the rule-based layers —
   * channel, sloppiness, recurring misspellings — draw from it, so they stay the same over all
   * of a persona's turns; per-message choices draw from (seed, interaction, turn). Default 0.
   */
  seed?: number;
  /** The model that writes and verifies semantic rewrites (required with use_semantic). */
  model?: ChatModel;
  /**
   * How a semantic call is made: with retries, cache and rate limits in a run (run/ wires
   * callModel). Default: `model.complete(request)`, one attempt.
   */
  call?: SemanticCall;
  /** Temperature of the rewrite calls (default 0.9; the verifier runs at 0). */
  temperature?: number;
  /** Completion-token cap of the semantic calls (default: sized to the message). */
  maxTokens?: number;
  /** Rewrite and verifier templates (default prompts/noise-*.md). */
  prompts?: SemanticPrompts;
  /** The rule-based layers (default: applyNoise of src/noise). For tests and custom layers. */
  surface?: SurfaceNoise;
  /** The config file distractor.strategies came from, for error messages. */
  configName?: string;
}

/** What one message went through: its result, the calls paid for it, any fallback. */
export interface DistractorNoise {
  result: NoiseResult;
  /** False when the activation gate kept the message clean. */
  activated: boolean;
  calls: NoiseCall[];
  /** Set when a semantic layer was chosen but surface noise was applied instead. */
  fallback?: { from: string; reason: string; strategies?: string[]; verdict?: unknown };
}

export interface Distractor extends NoiseHook {
  readonly distractorType: DistractorType;
  readonly config: DistractorConfig;
  /** Counters since creation (a copy). */
  stats(): DistractorStats;
  /** The reference's apply_noise: noise one text (gate included) and return the full record. */
  applyNoise(
    text: string,
    personaFeatures: Readonly<Record<string, unknown>>,
    options?: { seed?: number; interactionId?: string; turn?: number },
  ): Promise<DistractorNoise>;
  /** The same for one NoiseInput; synchronous when no model call is needed. */
  noise(input: NoiseInput): DistractorNoise | Promise<DistractorNoise>;
}

const clean = (text: string): NoiseResult => unchangedResult(text);

function toCall(result: ChatResult): NoiseCall {
  return {
    operation: "distractor",
    provider: result.provider,
    model: result.model,
    usage: result.usage,
    ...(result.cached ? { cached: true } : {}),
  };
}

/** Builds the distractor; throws DistractorConfigError for a bad strategy file or name. */
export function buildDistractor(config: DistractorConfig, options: DistractorOptions = {}): Distractor {
  const settings = buildSettings(config, options);
  const weights: LayerWeights = settings.layerWeights;
  const semanticOn = config.use_semantic && (options.model !== undefined || options.call !== undefined);
  if (config.use_semantic && !semanticOn)
    throw new Error("buildDistractor: use_semantic needs a model (options.model) or options.call");
  const baseCall: SemanticCall | undefined =
    options.call ??
    (options.model ? (request: ChatRequest) => (options.model as ChatModel).complete(request) : undefined);
  const runSeed = options.seed ?? 0;
  const stats = emptyStats();
  const distractorType: DistractorType = config.use_semantic ? "semantic" : "rule_based";

  const surface = (input: NoiseInput, surfaceSettings: Record<string, StrategySetting>): NoiseResult =>
    settings.surface(input.text, input.persona_features, {
      seed: runSeed, // not the per-message seed: the persona's channel and habits must not change per turn
      interactionId: input.interaction_id,
      turn: input.turn,
      probability: 1, // the gate was drawn here; the rule-based layers still decide what to change
      steering: config.steering,
      ...(config.channel ? { channel: config.channel } : {}),
      strategies: surfaceSettings,
    });

  const finish = (noised: DistractorNoise): DistractorNoise => {
    if (noised.result.changed) {
      stats.changed++;
      bump(stats.applied_layers, noised.result.layer ?? "unknown");
    }
    if (noised.fallback) bump(stats.fallbacks, noised.fallback.reason);
    return noised;
  };

  const fallBack = (
    input: NoiseInput,
    from: ReferenceLayer,
    reason: string,
    calls: NoiseCall[] = [],
    extra: Partial<NonNullable<DistractorNoise["fallback"]>> = {},
  ): DistractorNoise =>
    finish({
      result: surface(input, settings.surfaceSettings),
      activated: true,
      calls,
      fallback: { from, reason, ...extra },
    });

  const semantic = async (
    input: NoiseInput,
    layer: ReferenceLayer,
    strategies: SemanticStrategy[],
  ): Promise<DistractorNoise> => {
    const calls: ChatResult[] = [];
    const call: SemanticCall = async (request, purpose) => {
      const result = await (baseCall as SemanticCall)(request, purpose);
      calls.push(result);
      if (purpose === "rewrite") stats.semantic.rewrite_calls++;
      else stats.semantic.verifier_calls++;
      return result;
    };
    stats.semantic.attempted++;
    let outcome: Awaited<ReturnType<typeof semanticRewrite>>;
    try {
      outcome = await semanticRewrite(
        { text: input.text, persona_features: input.persona_features, strategies, seed: input.seed },
        {
          call,
          attempts: config.verifier_attempts,
          ...(options.prompts ? { prompts: options.prompts } : {}),
          ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
          ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
        },
      );
    } catch (error) {
      // A call that still fails after its retries costs this message its semantic noise, not the
      // conversation; a wrong key or a bad request is not hidden (it fails the conversation).
      if (!isTransient(error)) throw error;
      stats.semantic.errors++;
      return fallBack(input, layer, "model_error", calls.map(toCall));
    }
    for (const attempt of outcome.attempts) {
      if (attempt.passed) stats.semantic.verifier_passed++;
      else if (attempt.verified) stats.semantic.verifier_failed++;
      else stats.semantic.local_rejections++;
    }
    const names = strategies.map((s) => s.name);
    if (outcome.rewrite === undefined) {
      stats.semantic.dropped++;
      return fallBack(input, layer, "verifier_rejected", calls.map(toCall), {
        strategies: names,
        verdict: outcome.verdict,
      });
    }
    stats.semantic.accepted++;
    const result = semanticNoiseResult(input.text, strategies, { ...outcome, rewrite: outcome.rewrite });
    return finish({ result, activated: true, calls: calls.map(toCall) });
  };

  const noise = (input: NoiseInput): DistractorNoise | Promise<DistractorNoise> => {
    stats.messages++;
    const keys = [input.seed, input.interaction_id, input.turn] as const;
    if (!chance(stream(...keys, "distractor_gate"), config.activation_probability))
      return { result: clean(input.text), activated: false, calls: [] };
    stats.activated++;
    const index = weightedIndex(
      stream(...keys, "distractor_layer"),
      REFERENCE_LAYERS.map((layer) => weights[layer]),
    );
    const layer = REFERENCE_LAYERS[index];
    if (!layer) return { result: clean(input.text), activated: true, calls: [] }; // every weight 0
    bump(stats.chosen_layers, layer);
    if (!isSemanticLayer(layer))
      return finish({ result: surface(input, settings.surfaceSettings), activated: true, calls: [] });
    if (!semanticOn) return fallBack(input, layer, "use_semantic_off");
    const strategies = chooseSemanticStrategies({
      layer,
      settings: settings.semanticSettings,
      max: config.max_semantic_events_per_turn,
      keys,
      scale: settings.scale(input.persona_features, runSeed),
    });
    if (strategies.length === 0)
      return fallBack(
        input,
        layer,
        config.max_semantic_events_per_turn === 0 ? "max_semantic_events_zero" : "no_enabled_strategy",
      );
    return semantic(input, layer, strategies);
  };

  const outcomeOf = (noised: DistractorNoise): NoiseOutcome => ({
    text: noised.result.noisy_text,
    applied: noised.result.changed,
    ...(noised.result.changed
      ? {
          details: {
            ...noised.result,
            distractor_type: distractorType,
            ...(noised.fallback ? { fallback: noised.fallback } : {}),
          },
        }
      : {}),
    ...(noised.calls.length > 0 ? { calls: noised.calls } : {}),
  });

  const hook = (input: NoiseInput): NoiseOutcome | Promise<NoiseOutcome> => {
    const noised = noise(input);
    return noised instanceof Promise ? noised.then(outcomeOf) : outcomeOf(noised);
  };

  return Object.assign(hook, {
    distractorType,
    config,
    stats: () => snapshot(stats),
    noise,
    applyNoise: async (
      text: string,
      personaFeatures: Readonly<Record<string, unknown>>,
      opts: { seed?: number; interactionId?: string; turn?: number } = {},
    ) =>
      noise({
        text,
        persona_features: personaFeatures,
        interaction_id: opts.interactionId ?? "",
        turn: opts.turn ?? 1,
        is_initial: (opts.turn ?? 1) === 1,
        seed: opts.seed ?? 0,
      }),
  });
}
