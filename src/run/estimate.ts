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
import type { Persona, Task } from "../schema/persona.js";
import { personaTasks } from "../sources/tasks.js";
import { type FormatContext, formatEstimate } from "./estimate-format.js";
import { HelperModels } from "./estimate-helpers.js";
import {
  MESSAGE_OVERHEAD,
  NO_CALLS,
  PromptSizer,
  QUERY_GENERATION_MAX_TOKENS,
  SCENARIO_MAX_TOKENS,
  STYLE_MAX_TOKENS,
} from "./estimate-prompts.js";
import {
  addPart,
  type CallRange,
  type EstimateRow,
  emptyRow,
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
  private readonly helpers: HelperModels;
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
    this.helpers = new HelperModels(config, this.prompts, this.ratios);
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
    if (!this.helpers.queries || taken < tasks.length) return; // cut by the limit: no supplement round either
    // generate()'s quota: interactions wanted (queries_per_persona, else the queries given) × samples.
    const wanted = Math.max(1, ig.queries_per_persona ?? persona.queries.length) * ig.samples_per_query;
    const needed = wanted - tasks.length;
    if (needed <= 0) return;
    const existing = persona.queries.map((q) => q.original_query);
    this.tally.queryGeneration(this.prompts.queryGeneration(persona.persona_features, needed, existing));
    const opening = this.helpers.style ? this.styledOpening() : this.averageOpening();
    // Generated queries bring no scenario: the generator writes one when it is on.
    const scenario = this.helpers.scenarioSource(undefined);
    const userFixed = this.prompts.userFixed(persona, "");
    this.tally.supplement(
      needed,
      opening,
      this.helpers.fixedPrompts(persona, "", scenario, opening, userFixed),
    );
    if (this.helpers.style) this.tally.style(this.prompts.style(persona.persona_features, ""), needed);
    if (this.helpers.scenario) {
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
    const opening = this.helpers.style ? this.styledOpening() : { expected: q, max: q };
    const noPersona = { persona_features: {} };
    const userFixed =
      summary.averageUserPromptChars === undefined
        ? this.prompts.userFixed(noPersona, query)
        : Math.ceil(summary.averageUserPromptChars / 4) + this.prompts.userFixed(noPersona, query, false);
    const scenario = this.helpers.scenarioSource(undefined);
    this.tally.spread(
      summary.count,
      opening,
      this.helpers.fixedPrompts(noPersona, query, scenario, opening, userFixed),
    );
    if (this.helpers.scenario) this.tally.scenario(this.prompts.scenarioGeneration({}, query), summary.count);
    if (this.helpers.semantic) {
      const { min_turns: min, max_turns: max } = this.ig;
      const { share, template } = this.helpers.semantic;
      this.tally.semantic(
        (summary.count * (min + max)) / 2,
        summary.count * max,
        share,
        template + opening.max,
      );
    }
    if (this.helpers.style) {
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
    const opening = this.helpers.style ? this.styledOpening() : this.queryOpening(task.initial_query);
    const scenario = this.helpers.scenarioSource(task.scenario);
    const userFixed = this.prompts.userFixed(task, task.original_query);
    tally.task(
      member,
      turns,
      opening,
      this.helpers.fixedPrompts(task, task.original_query, scenario, opening, userFixed),
    );
    if (this.helpers.scenario && !task.scenario)
      tally.scenario(this.prompts.scenarioGeneration(task.persona_features, task.original_query));
    // One user message per turn, each as long as the opening at most (follow-ups are shorter).
    const semantic = this.helpers.semantic;
    if (semantic) tally.semantic(turns, turns, semantic.share, semantic.template + opening.max);
    if (this.helpers.style) tally.style(this.prompts.style(task.persona_features, task.original_query));
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
    const verdicts = this.helpers.verdicts();
    for (const [index, member] of this.members.entries()) {
      const parts = tally.conversationParts(index, this.ratios, this.userRef.maxTokens, verdicts);
      if (parts.conversations === 0) continue;
      const assistant = row("assistant", member);
      assistant.share = (assistant.share ?? 0) + parts.conversations / tally.conversations;
      addPart(assistant, parts.assistant, this.prices);
      addPart(row("user", this.userRef), parts.user, this.prices);
      // A conversation ended at min_turns is never judged: no row for calls that cannot happen.
      if (this.helpers.judge && parts.judge.calls.max > 0)
        addPart(row("stop_judge", this.helpers.judge), parts.judge, this.prices);
      if (this.helpers.verifier && parts.verifier.calls.max > 0)
        addPart(row("turn_verifier", this.helpers.verifier), parts.verifier, this.prices);
    }
    if (this.helpers.style && tally.styleCalls > 0) {
      const part = tally.helperUsage("style", this.ratios.style * STYLE_MAX_TOKENS, STYLE_MAX_TOKENS, 1);
      addPart(row("style_transfer", this.helpers.style), part, this.prices);
    }
    if (this.helpers.queries && tally.queryCalls > 0) {
      const expected = this.ratios.queries * QUERY_GENERATION_MAX_TOKENS;
      const rounds = this.ig.max_supplement_rounds;
      const part = tally.helperUsage("queries", expected, QUERY_GENERATION_MAX_TOKENS, rounds);
      addPart(row("query_generation", this.helpers.queries), part, this.prices);
    }
    if (this.helpers.scenario && tally.scenarioCalls > 0) {
      const expected = this.ratios.scenario * SCENARIO_MAX_TOKENS;
      const part = tally.helperUsage("scenario", expected, SCENARIO_MAX_TOKENS, 1);
      addPart(row("scenario_generation", this.helpers.scenario), part, this.prices);
    }
    if (this.helpers.semantic && tally.semanticMessages > 0) {
      const { ref, attempts } = this.helpers.semantic;
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
