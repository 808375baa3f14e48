// The optional helper models of a run estimate: which of them the config turns on (style
// transfer, query generation, scenario generation, stop judge, turn verifier, the distractor's
// semantic rewrites) and the model each one calls, and what a scenario, the stop judge and the
// turn verifier add to every call besides the history. Kept apart from estimate.ts, which walks
// the tasks and builds the rows, so that each file stays short enough to read.
import type { ConvosimConfig } from "../schema/config.js";
import type { ScenarioRecord } from "../schema/interaction.js";
import {
  JUDGE_MAX_TOKENS,
  type PromptSizer,
  QUERY_GENERATION_MAX_TOKENS,
  SCENARIO_MAX_TOKENS,
  STYLE_MAX_TOKENS,
  VERIFIER_MAX_TOKENS,
} from "./estimate-prompts.js";
import type { FixedPrompts, ModelRef, Range } from "./estimate-tally.js";

/**
 * The semantic layers' rewrite/verdict templates with their instructions, in tokens
 * (≈ prompts/noise-*.md / 4, plus the persona and strategy lines).
 */
const SEMANTIC_TEMPLATE_TOKENS = 300;
/** The semantic calls' cap when the model sets none (rewrite.ts sizes it near 200). */
const SEMANTIC_MAX_TOKENS = 256;

/** Where a conversation's scenario comes from, as far as its prompts are concerned. */
export type ScenarioSource = ScenarioRecord | "generated" | undefined;

/** The distractor's semantic rewrites of user messages. */
export interface SemanticRewrites {
  ref: ModelRef;
  /** Chance that a user message gets one: the gate opens and a semantic layer is drawn. */
  share: number;
  /** Tokens of the rewrite/verdict template. */
  template: number;
  attempts: number;
}

/** The shares of max_completion_tokens the helpers' replies are expected to use (COMPLETION_RATIOS). */
export type HelperRatios = Readonly<Record<"scenario" | "judge" | "verifier", number>>;

/** The helper models a run calls; each is undefined when the config leaves it off. */
export class HelperModels {
  readonly style: ModelRef | undefined;
  readonly queries: ModelRef | undefined;
  readonly scenario: ModelRef | undefined;
  readonly judge: ModelRef | undefined;
  readonly verifier: ModelRef | undefined;
  readonly semantic: SemanticRewrites | undefined;

  constructor(
    config: ConvosimConfig,
    private readonly prompts: PromptSizer,
    private readonly ratios: HelperRatios,
  ) {
    const ig = config.interaction_generation;
    if (ig.style_transfer.enabled) {
      const m = ig.style_transfer.model ?? ig.user_model;
      this.style = { provider: m.provider, model: m.model, maxTokens: STYLE_MAX_TOKENS };
    }
    if (ig.query_generation.enabled && ig.max_supplement_rounds > 0) {
      const m = ig.query_generation.model ?? ig.user_model;
      this.queries = { provider: m.provider, model: m.model, maxTokens: QUERY_GENERATION_MAX_TOKENS };
    }
    const helper = (
      h: { enabled: boolean; model?: { provider: string; model: string } | undefined },
      maxTokens: number,
    ) => {
      const m = h.model ?? ig.user_model;
      return h.enabled ? { provider: m.provider, model: m.model, maxTokens } : undefined;
    };
    this.scenario = helper(ig.scenario_generation, SCENARIO_MAX_TOKENS);
    this.judge = helper(ig.stop_judge, JUDGE_MAX_TOKENS);
    this.verifier = helper(ig.turn_verifier, VERIFIER_MAX_TOKENS);
    const noise = config.distractor;
    if (noise.enabled && noise.use_semantic && noise.max_semantic_events_per_turn > 0) {
      // A user message gets a semantic rewrite when the gate opens and a semantic layer is drawn.
      const w = noise.layer_weights;
      const total = w.surface_noise + w.incomplete_information + w.semantic_ambiguity;
      const layerShare = total > 0 ? (w.incomplete_information + w.semantic_ambiguity) / total : 0;
      const m = noise.model ?? ig.user_model;
      this.semantic = {
        ref: {
          provider: m.provider,
          model: m.model,
          maxTokens: m.max_completion_tokens ?? SEMANTIC_MAX_TOKENS,
        },
        share: noise.activation_probability * layerShare,
        template: SEMANTIC_TEMPLATE_TOKENS,
        attempts: noise.verifier_attempts,
      };
    }
  }

  /** A scenario given with the query goes into the prompts as it is; without one the generator writes one. */
  scenarioSource(given: ScenarioRecord | undefined): ScenarioSource {
    return given ?? (this.scenario ? "generated" : undefined);
  }

  /** The judge's and verifier's one-line verdicts, in completion tokens. */
  verdicts(): { judge: Range; verifier: Range } {
    return {
      judge: { expected: this.ratios.judge * JUDGE_MAX_TOKENS, max: JUDGE_MAX_TOKENS },
      verifier: { expected: this.ratios.verifier * VERIFIER_MAX_TOKENS, max: VERIFIER_MAX_TOKENS },
    };
  }

  /**
   * What the simulated user, the stop judge and the turn verifier send besides the history.
   * `userFixed` already holds a scenario given with the query; a generated one is not written
   * yet: it is counted at the generator's expected and maximal reply, under its headings. The
   * judge is shown the fallback outcome (one sentence about the query), at most the whole reply.
   */
  fixedPrompts(
    who: { persona_features: Readonly<Record<string, unknown>> },
    query: string,
    scenario: ScenarioSource,
    opening: Range,
    userFixed: number,
  ): FixedPrompts {
    const given = scenario === "generated" ? undefined : scenario;
    const generated =
      scenario === "generated"
        ? {
            expected: this.prompts.scenarioHeadings + this.ratios.scenario * SCENARIO_MAX_TOKENS,
            max: this.prompts.scenarioHeadings + SCENARIO_MAX_TOKENS,
          }
        : { expected: 0, max: 0 };
    const fixed: FixedPrompts = {
      user: { expected: userFixed + generated.expected, max: userFixed + generated.max },
      judge: { expected: 0, max: 0 },
      verifier: { expected: 0, max: 0 },
    };
    if (this.judge) {
      // The transcript opens with the first user message, shortened like every message in it.
      const { message, label } = this.prompts.transcript;
      const base = this.prompts.judge(query, given);
      fixed.judge = {
        expected: base + Math.min(opening.expected, message) + label,
        max:
          base +
          Math.min(opening.max, message) +
          label +
          (scenario === "generated" ? SCENARIO_MAX_TOKENS : 0),
      };
    }
    if (this.verifier) {
      const base = this.prompts.verifier(who.persona_features, given);
      fixed.verifier = { expected: base + generated.expected, max: base + generated.max };
    }
    return fixed;
  }
}
