// What a run will cost before anything is spent (`--dry-run`), and what one conversation may
// cost (the budget's admission check). No model call, no network: prompts are rendered through
// the real templates and measured at about four characters per token (providers/estimate.ts).
//
// A conversation of t turns makes t assistant calls and t-1 simulated-user calls, and the whole
// history is resent on every call, so its prompt tokens grow with t². The turn target of a task
// is drawn from its seed (turn-rules.ts), so for real tasks it is known exactly; for a bare
// summary ({count, averageQueryChars}) targets are spread evenly over [min_turns, max_turns].
//
// The optional helpers: style transfer and scenario generation make one call before a
// conversation (scenario generation only for a query that brings no scenario); the stop judge
// one after each assistant reply from min_turns on, except the reply that ends the conversation;
// the turn verifier one per simulated-user message. A generated scenario is also shown on every
// simulated-user and verifier call (and its outcome on every judge call).
//
// What is a bound and what is a guess:
// - `max` is a ceiling per conversation: every reply at its max_completion_tokens (a helper's
//   at the cap its request sets), the task's turn target (max_turns for a summary), one
//   style-transfer and one scenario call, max_supplement_rounds query-generation calls.
//   Re-asks of the simulated user (and their verifier calls) and retried calls are not in it,
//   and prompt sizes are chars/4, not a tokenizer: a real run can pass it by those.
// - `expected` assumes replies at a fixed share of max_completion_tokens (COMPLETION_RATIOS)
//   and no early stop by the user (which only lowers the real figure).
import { isObservable, lastValueFrom, type Observable, takeWhile, tap } from "rxjs";
import { AssistantPool } from "../conversation/assistant-pool.js";
import type { PriceTable } from "../conversation/pricing.js";
import { drawTargetTurns } from "../conversation/turn-rules.js";
import { estimateTokens } from "../providers/estimate.js";
import type { ConvosimConfig } from "../schema/config.js";
import type { ScenarioRecord } from "../schema/interaction.js";
import type { Persona, Task } from "../schema/persona.js";
import { personaTasks } from "../sources/tasks.js";
import { type FormatContext, formatEstimate } from "./estimate-format.js";
import {
  JUDGE_MAX_TOKENS,
  MESSAGE_OVERHEAD,
  NO_CALLS,
  PromptSizer,
  QUERY_GENERATION_MAX_TOKENS,
  SCENARIO_MAX_TOKENS,
  STYLE_MAX_TOKENS,
  VERIFIER_MAX_TOKENS,
} from "./estimate-prompts.js";
import {
  addPart,
  type CallRange,
  type EstimateRow,
  emptyRow,
  type FixedPrompts,
  type ModelRef,
  type Range,
  rowKey,
  Tally,
  totals,
} from "./estimate-tally.js";
import { poolEntries } from "./runtime.js";

export type { FormatContext } from "./estimate-format.js";
export type { CallRange, EstimateRow, Range } from "./estimate-tally.js";

/** Money and tokens (prompt + completion, cached prompt tokens included). */
export interface Cost {
  usd: number;
  tokens: number;
}

/** One conversation's cost: what to expect, and the ceiling (see the file comment). */
export interface ConversationCost {
  expected: Cost;
  max: Cost;
}

/**
 * The semantic layers' rewrite/verdict templates with their instructions, in tokens
 * (≈ prompts/noise-*.md / 4, plus the persona and strategy lines).
 */
const SEMANTIC_TEMPLATE_TOKENS = 300;
/** The semantic calls' cap when the model sets none (rewrite.ts sizes it near 200). */
const SEMANTIC_MAX_TOKENS = 256;

/** Share of max_completion_tokens a reply is expected to use: an assumption, not a measurement. */
export const COMPLETION_RATIOS = {
  assistant: 0.5,
  user: 0.25,
  style: 0.25,
  queries: 0.5,
  /** A scenario: goal, outcome, a few facts and constraints as JSON (≈ 200 of 400 tokens). */
  scenario: 0.5,
  /** The judge's and verifier's one line of JSON (≈ 32 of 128 tokens). */
  judge: 0.25,
  verifier: 0.25,
} as const;
export type CompletionRatios = { -readonly [K in keyof typeof COMPLETION_RATIOS]: number };

/** A run described by counts instead of tasks. */
export interface TaskSummary {
  /** Conversations to run. */
  count: number;
  /** Average opening query length in characters. */
  averageQueryChars: number;
  /** Average simulated-user system prompt length; default: rendered for a persona with no features. */
  averageUserPromptChars?: number;
  /** Average style-transfer prompt length; default: rendered for a persona with no features. */
  averageStylePromptChars?: number;
}

export interface EstimateOptions {
  /** Tasks already done (resume: `await loadCompleted(out)`): skipped, as generate() skips them. */
  skip?: { has(interactionId: string): boolean };
  /** At most this many tasks, counted before skipping, as generate()'s `limit`. */
  limit?: number;
  completionRatios?: Partial<CompletionRatios>;
}

export interface RunEstimate {
  /** Conversations that will run: tasks not yet done, plus supplement-round conversations. */
  conversations: number;
  /** Tasks skipped because an earlier run finished them. */
  skipped: number;
  /** Of `conversations`, those expected from supplement rounds (query generation). */
  supplementConversations: number;
  calls: CallRange;
  promptTokens: Range;
  completionTokens: Range;
  costUsd: Range;
  /** Per role and model; assistant rows carry their share of conversations. */
  rows: EstimateRow[];
  /** "provider/model" of paid providers without a price: counted as $0. */
  unpriced: string[];
  turns: { min: number; max: number };
  ratios: CompletionRatios;
  /** True when every turn target came from a task's seed (not spread over the range). */
  exactTurns: boolean;
  /** The dry-run text for a terminal. */
  format(context?: FormatContext): string;
}

type Opening = Range;

/** Where a conversation's scenario comes from, as far as its prompts are concerned. */
type ScenarioSource = ScenarioRecord | "generated" | undefined;

const ROLE_ORDER: readonly EstimateRow["role"][] = [
  "assistant",
  "user",
  "style_transfer",
  "query_generation",
  "scenario_generation",
  "stop_judge",
  "turn_verifier",
  "distractor",
];

/** Counts tasks in one pass with bounded memory, prices them, and prices one conversation on demand. */
export class RunEstimator {
  readonly ratios: CompletionRatios;
  private readonly ig: ConvosimConfig["interaction_generation"];
  private readonly pool: AssistantPool;
  private readonly members: ModelRef[];
  private readonly prompts: PromptSizer;
  private readonly userRef: ModelRef;
  private readonly styleRef: ModelRef | undefined;
  private readonly queryRef: ModelRef | undefined;
  private readonly scenarioRef: ModelRef | undefined;
  private readonly judgeRef: ModelRef | undefined;
  private readonly verifierRef: ModelRef | undefined;
  private readonly semantic: { ref: ModelRef; share: number; template: number; attempts: number } | undefined;
  private readonly tally: Tally;
  private seen = 0;
  private skipped = 0;

  constructor(
    config: ConvosimConfig,
    private readonly prices: PriceTable,
    private readonly options: EstimateOptions = {},
  ) {
    const ig = config.interaction_generation;
    this.ig = ig;
    this.ratios = { ...COMPLETION_RATIOS, ...options.completionRatios };
    const entries = poolEntries(config);
    this.members = entries.map((e) => ({
      provider: e.provider,
      model: e.model,
      maxTokens: e.max_completion_tokens ?? ig.assistant_model.max_completion_tokens,
    }));
    // The run's own pool, so that each task's model is the one its seed will choose.
    this.pool = new AssistantPool(
      this.members.map((m, i) => ({
        model: NO_CALLS,
        weight: entries[i]!.weight,
        temperature: 0,
        maxTokens: m.maxTokens,
      })),
    );
    this.prompts = new PromptSizer(ig);
    this.userRef = {
      provider: ig.user_model.provider,
      model: ig.user_model.model,
      maxTokens: ig.user_model.max_completion_tokens,
    };
    if (ig.style_transfer.enabled) {
      const m = ig.style_transfer.model ?? ig.user_model;
      this.styleRef = { provider: m.provider, model: m.model, maxTokens: STYLE_MAX_TOKENS };
    }
    if (ig.query_generation.enabled && ig.max_supplement_rounds > 0) {
      const m = ig.query_generation.model ?? ig.user_model;
      this.queryRef = { provider: m.provider, model: m.model, maxTokens: QUERY_GENERATION_MAX_TOKENS };
    }
    const helper = (
      h: { enabled: boolean; model?: { provider: string; model: string } | undefined },
      maxTokens: number,
    ) => {
      const m = h.model ?? ig.user_model;
      return h.enabled ? { provider: m.provider, model: m.model, maxTokens } : undefined;
    };
    this.scenarioRef = helper(ig.scenario_generation, SCENARIO_MAX_TOKENS);
    this.judgeRef = helper(ig.stop_judge, JUDGE_MAX_TOKENS);
    this.verifierRef = helper(ig.turn_verifier, VERIFIER_MAX_TOKENS);
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
    this.tally = new Tally({
      members: this.members,
      probabilities: this.pool.probabilities,
      limits: { minTurns: ig.min_turns, maxTurns: ig.max_turns },
      assistantSystem: this.prompts.assistantSystem,
      overhead: MESSAGE_OVERHEAD,
      transcript: this.prompts.transcript,
      verifierReply: this.prompts.verifierReply,
    });
  }

  /** True once `limit` tasks were seen: a caller reading a stream may stop there. */
  get full(): boolean {
    return this.options.limit !== undefined && this.seen >= this.options.limit;
  }

  /** A persona: its tasks (ids and seeds exactly as generate() makes them) and any supplement owed. */
  addPersona(persona: Persona): void {
    const ig = this.ig;
    const tasks = personaTasks(persona, {
      seed: ig.seed,
      samplesPerQuery: ig.samples_per_query,
      ...(ig.queries_per_persona !== undefined ? { queriesPerPersona: ig.queries_per_persona } : {}),
    });
    let taken = 0;
    for (const task of tasks) if (this.addTask(task)) taken++;
    if (!this.queryRef || taken < tasks.length) return; // cut by the limit: no supplement round either
    // generate()'s quota: interactions wanted (queries_per_persona, else the queries given) × samples.
    const wanted = Math.max(1, ig.queries_per_persona ?? persona.queries.length) * ig.samples_per_query;
    const needed = wanted - tasks.length;
    if (needed <= 0) return;
    const existing = persona.queries.map((q) => q.original_query);
    this.tally.queryGeneration(this.prompts.queryGeneration(persona.persona_features, needed, existing));
    const opening = this.styleRef ? this.styledOpening() : this.averageOpening();
    // Generated queries bring no scenario: the generator writes one when it is on.
    const scenario = this.scenarioRef ? "generated" : undefined;
    const userFixed = this.prompts.userFixed(persona, "");
    this.tally.supplement(needed, opening, this.fixedPrompts(persona, "", scenario, opening, userFixed));
    if (this.styleRef) this.tally.style(this.prompts.style(persona.persona_features, ""), needed);
    if (this.scenarioRef) {
      const prompt = this.prompts.scenarioGeneration(persona.persona_features, "");
      this.tally.scenario(prompt + this.tally.averageOpening, needed);
    }
  }

  /** A task or a persona, whichever it is. */
  add(item: Task | Persona): void {
    if ("interaction_id" in item) this.addTask(item);
    else this.addPersona(item);
  }

  /** One task; false when the limit cut it off. A task already done counts as skipped. */
  addTask(task: Task): boolean {
    if (this.full) return false;
    this.seen++;
    if (this.options.skip?.has(task.interaction_id)) {
      this.skipped++;
      return true;
    }
    this.addConversation(this.tally, task);
    return true;
  }

  addSummary(summary: TaskSummary): void {
    const query = "x".repeat(Math.max(0, Math.round(summary.averageQueryChars)));
    const q = estimateTokens(query);
    const opening = this.styleRef ? this.styledOpening() : { expected: q, max: q };
    const noPersona = { persona_features: {} };
    const userFixed =
      summary.averageUserPromptChars === undefined
        ? this.prompts.userFixed(noPersona, query)
        : Math.ceil(summary.averageUserPromptChars / 4) + this.prompts.userFixed(noPersona, query, false);
    const scenario = this.scenarioRef ? "generated" : undefined;
    this.tally.spread(
      summary.count,
      opening,
      this.fixedPrompts(noPersona, query, scenario, opening, userFixed),
    );
    if (this.scenarioRef) this.tally.scenario(this.prompts.scenarioGeneration({}, query), summary.count);
    if (this.semantic) {
      const { min_turns: min, max_turns: max } = this.ig;
      const share = this.semantic.share;
      this.tally.semantic(
        (summary.count * (min + max)) / 2,
        summary.count * max,
        share,
        this.semantic.template + opening.max,
      );
    }
    if (this.styleRef) {
      const style =
        summary.averageStylePromptChars === undefined
          ? this.prompts.style({}, query)
          : Math.ceil(summary.averageStylePromptChars / 4) + MESSAGE_OVERHEAD;
      this.tally.style(style, summary.count);
    }
  }

  /** What one conversation for this task may cost: admission checks `max`, reservations hold `expected`. */
  conversation(task: Task): ConversationCost {
    const one = new Tally(this.tally.shape);
    this.addConversation(one, task);
    const sums = totals(this.rows(one));
    const sum = (pick: "expected" | "max"): Cost => ({
      usd: sums.costUsd[pick],
      tokens: sums.promptTokens[pick] + sums.completionTokens[pick],
    });
    return { expected: sum("expected"), max: sum("max") };
  }

  result(): RunEstimate {
    const rows = this.rows(this.tally);
    const estimate: RunEstimate = {
      conversations: this.tally.conversations,
      skipped: this.skipped,
      supplementConversations: this.tally.supplementConversations,
      ...totals(rows),
      rows,
      unpriced: [...new Set(rows.filter((r) => !r.priced).map((r) => `${r.provider}/${r.model}`))],
      turns: { min: this.ig.min_turns, max: this.ig.max_turns },
      ratios: this.ratios,
      exactTurns: this.tally.exactTurns,
      format: (context) => formatEstimate(estimate, context),
    };
    return estimate;
  }

  private addConversation(tally: Tally, task: Task): void {
    const member = this.pool.members.indexOf(this.pool.choose(task.seed));
    const turns = drawTargetTurns(task.seed, tally.limits, task.target_turns);
    const opening = this.styleRef ? this.styledOpening() : this.queryOpening(task.initial_query);
    // A task's own scenario goes into the prompts as it is; without one the generator writes one.
    const scenario = task.scenario ?? (this.scenarioRef ? "generated" : undefined);
    const userFixed = this.prompts.userFixed(task, task.original_query);
    tally.task(
      member,
      turns,
      opening,
      this.fixedPrompts(task, task.original_query, scenario, opening, userFixed),
    );
    if (this.scenarioRef && !task.scenario)
      tally.scenario(this.prompts.scenarioGeneration(task.persona_features, task.original_query));
    // One user message per turn, each as long as the opening at most (follow-ups are shorter).
    if (this.semantic)
      tally.semantic(turns, turns, this.semantic.share, this.semantic.template + opening.max);
    if (this.styleRef) tally.style(this.prompts.style(task.persona_features, task.original_query));
  }

  /**
   * What the simulated user, the stop judge and the turn verifier send besides the history.
   * `userFixed` already holds a scenario given with the query; a generated one is not written
   * yet: it is counted at the generator's expected and maximal reply, under its headings. The
   * judge is shown the fallback outcome (one sentence about the query), at most the whole reply.
   */
  private fixedPrompts(
    who: { persona_features: Readonly<Record<string, unknown>> },
    query: string,
    scenario: ScenarioSource,
    opening: Opening,
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
    if (this.judgeRef) {
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
    if (this.verifierRef) {
      const base = this.prompts.verifier(who.persona_features, given);
      fixed.verifier = { expected: base + generated.expected, max: base + generated.max };
    }
    return fixed;
  }

  private queryOpening(query: string): Opening {
    const q = estimateTokens(query);
    return { expected: q, max: q };
  }

  /** With style transfer the opening message is the rewrite, at most the rewrite's max tokens. */
  private styledOpening(): Opening {
    return { expected: this.ratios.style * STYLE_MAX_TOKENS, max: STYLE_MAX_TOKENS };
  }

  /** Supplement queries do not exist yet: they are taken to be as long as the queries seen so far. */
  private averageOpening(): Opening {
    const q = this.tally.averageOpening;
    return { expected: q, max: q };
  }

  private rows(tally: Tally): EstimateRow[] {
    const rows = new Map<string, EstimateRow>();
    const row = (role: EstimateRow["role"], ref: ModelRef): EstimateRow => {
      const key = rowKey(role, ref);
      let found = rows.get(key);
      if (!found) {
        found = emptyRow(role, ref, this.isPriced(ref));
        rows.set(key, found);
      }
      return found;
    };
    const verdicts = {
      judge: { expected: this.ratios.judge * JUDGE_MAX_TOKENS, max: JUDGE_MAX_TOKENS },
      verifier: { expected: this.ratios.verifier * VERIFIER_MAX_TOKENS, max: VERIFIER_MAX_TOKENS },
    };
    for (const [index, member] of this.members.entries()) {
      const parts = tally.conversationParts(index, this.ratios, this.userRef.maxTokens, verdicts);
      if (parts.conversations === 0) continue;
      const assistant = row("assistant", member);
      assistant.share = (assistant.share ?? 0) + parts.conversations / tally.conversations;
      addPart(assistant, parts.assistant, this.prices);
      addPart(row("user", this.userRef), parts.user, this.prices);
      // A conversation ended at min_turns is never judged: no row for calls that cannot happen.
      if (this.judgeRef && parts.judge.calls.max > 0)
        addPart(row("stop_judge", this.judgeRef), parts.judge, this.prices);
      if (this.verifierRef && parts.verifier.calls.max > 0)
        addPart(row("turn_verifier", this.verifierRef), parts.verifier, this.prices);
    }
    if (this.styleRef && tally.styleCalls > 0) {
      const part = tally.helperUsage("style", this.ratios.style * STYLE_MAX_TOKENS, STYLE_MAX_TOKENS, 1);
      addPart(row("style_transfer", this.styleRef), part, this.prices);
    }
    if (this.queryRef && tally.queryCalls > 0) {
      const expected = this.ratios.queries * QUERY_GENERATION_MAX_TOKENS;
      const rounds = this.ig.max_supplement_rounds;
      const part = tally.helperUsage("queries", expected, QUERY_GENERATION_MAX_TOKENS, rounds);
      addPart(row("query_generation", this.queryRef), part, this.prices);
    }
    if (this.scenarioRef && tally.scenarioCalls > 0) {
      const expected = this.ratios.scenario * SCENARIO_MAX_TOKENS;
      const part = tally.helperUsage("scenario", expected, SCENARIO_MAX_TOKENS, 1);
      addPart(row("scenario_generation", this.scenarioRef), part, this.prices);
    }
    if (this.semantic && tally.semanticMessages > 0) {
      const { ref, attempts } = this.semantic;
      const part = tally.semanticUsage(this.ratios.user * ref.maxTokens, ref.maxTokens, attempts);
      addPart(row("distractor", ref), part, this.prices);
    }
    // Assistants first (in pool order), then the simulated user, then the helpers.
    return [...rows.values()].sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
  }

  private isPriced(ref: ModelRef): boolean {
    if (ref.provider === "local" || ref.provider === "fake") return true; // free: PriceTable.cost says 0
    return this.prices.price(ref.provider, ref.model) !== undefined;
  }
}

/** The estimate for a summary, or for tasks or personas in memory. */
export function estimateRun(
  config: ConvosimConfig,
  tasks: TaskSummary | Iterable<Task | Persona>,
  prices: PriceTable,
  options: EstimateOptions = {},
): RunEstimate {
  const estimator = new RunEstimator(config, prices, options);
  if (Symbol.iterator in tasks) {
    for (const item of tasks) {
      if (estimator.full) break;
      estimator.add(item);
    }
  } else estimator.addSummary(tasks);
  return estimator.result();
}

/** The same over a stream (e.g. readPersonas(file)): one pass, nothing kept but counters. */
export async function estimateRunFrom(
  config: ConvosimConfig,
  tasks: Observable<Task | Persona> | AsyncIterable<Task | Persona>,
  prices: PriceTable,
  options: EstimateOptions = {},
): Promise<RunEstimate> {
  const estimator = new RunEstimator(config, prices, options);
  if (isObservable(tasks)) {
    await lastValueFrom(
      tasks.pipe(
        takeWhile(() => !estimator.full),
        tap((item) => estimator.add(item)),
      ),
      { defaultValue: undefined },
    );
  } else {
    for await (const item of tasks) {
      if (estimator.full) break;
      estimator.add(item);
    }
  }
  return estimator.result();
}
