// What a budget reserves for a conversation, learned from the replies the run has seen. The
// dry run's "expected" assumes replies at a fixed share of max_completion_tokens, and its
// ceiling every reply at the cap; real replies are often a tenth of the cap, so reserving
// either stopped budgeted runs after a fraction of their money (issue 13). Here each role's
// completion sizes are kept as shares of the cap each call had; once a role has MIN_CALLS
// replies, a conversation is reserved at the observed p90 share for that role, and at the cap
// (the worst case) for any role not seen often enough yet. Memory is one small histogram per
// role, however long the run.
import type { PriceTable } from "../conversation/pricing.js";
import type { ConvosimConfig } from "../schema/config.js";
import type { UsageRecord } from "../schema/interaction.js";
import type { Task } from "../schema/persona.js";
import { type CompletionRatios, type ConversationCost, RunEstimator } from "./estimate.js";
import {
  JUDGE_MAX_TOKENS,
  QUERY_GENERATION_MAX_TOKENS,
  SCENARIO_MAX_TOKENS,
  STYLE_MAX_TOKENS,
  VERIFIER_MAX_TOKENS,
} from "./estimate-prompts.js";
import { poolEntries } from "./runtime.js";

/** Replies of a role seen before its sizes replace the worst case. */
export const MIN_CALLS = 5;
/** The share of replies a reservation covers: a longer one runs past its conversation's hold. */
export const QUANTILE = 0.9;
/** Histogram bins over [0, 1] of the cap; a learned share is rounded up to a bin's top. */
const BINS = 64;

type Role = keyof CompletionRatios;
const WORST_CASE: CompletionRatios = {
  assistant: 1,
  user: 1,
  style: 1,
  queries: 1,
  scenario: 1,
  judge: 1,
  verifier: 1,
};

/** Completion sizes per role as shares of their cap: the p90 once a role has MIN_CALLS replies. */
export class ObservedCompletions {
  readonly #bins = new Map<Role, number[]>();
  readonly #counts = new Map<Role, number>();

  constructor(private readonly capOf: (record: UsageRecord) => { role: Role; cap: number } | undefined) {}

  record(record: UsageRecord): void {
    if (record.failed) return; // a call that failed returned no reply to learn from
    const where = this.capOf(record);
    if (!where || !(where.cap > 0)) return;
    const share = Math.min(1, Math.max(0, record.completion_tokens / where.cap));
    let bins = this.#bins.get(where.role);
    if (!bins) {
      bins = new Array<number>(BINS).fill(0);
      this.#bins.set(where.role, bins);
    }
    bins[Math.min(BINS - 1, Math.floor(share * BINS))]! += 1;
    this.#counts.set(where.role, (this.#counts.get(where.role) ?? 0) + 1);
  }

  /** Replies seen of a role. */
  count(role: Role): number {
    return this.#counts.get(role) ?? 0;
  }

  /** Per role: the observed p90 share (rounded up to 1/64) once seen MIN_CALLS times, else 1. */
  ratios(): CompletionRatios {
    const ratios = { ...WORST_CASE };
    for (const [role, bins] of this.#bins) {
      const count = this.count(role);
      if (count < MIN_CALLS) continue;
      let below = 0;
      for (const [i, n] of bins.entries()) {
        below += n;
        if (below >= QUANTILE * count) {
          ratios[role] = (i + 1) / BINS;
          break;
        }
      }
    }
    return ratios;
  }
}

/**
 * A budget's estimator (withinBudget's `estimateOne`): `expected` is what a conversation is
 * reserved at (learned sizes, the cap where none are learned yet), `max` its ceiling.
 */
export class ReservationEstimator {
  readonly observed: ObservedCompletions;
  #estimator: RunEstimator | undefined;
  #key = "";

  constructor(
    private readonly config: ConvosimConfig,
    private readonly prices: PriceTable,
  ) {
    const ig = config.interaction_generation;
    const assistantCaps = new Map<string, number>();
    for (const e of poolEntries(config)) {
      const key = `${e.provider}/${e.model}`;
      const cap = e.max_completion_tokens ?? ig.assistant_model.max_completion_tokens;
      assistantCaps.set(key, Math.max(assistantCaps.get(key) ?? 0, cap));
    }
    const helperCaps: Partial<Record<string, { role: Role; cap: number }>> = {
      user_feedback: { role: "user", cap: ig.user_model.max_completion_tokens },
      style_transfer: { role: "style", cap: STYLE_MAX_TOKENS },
      query_generation: { role: "queries", cap: QUERY_GENERATION_MAX_TOKENS },
      scenario_generation: { role: "scenario", cap: SCENARIO_MAX_TOKENS },
      stop_judge: { role: "judge", cap: JUDGE_MAX_TOKENS },
      turn_verifier: { role: "verifier", cap: VERIFIER_MAX_TOKENS },
    };
    this.observed = new ObservedCompletions((record) => {
      if (record.operation !== "assistant_response") return helperCaps[record.operation];
      const cap = assistantCaps.get(`${record.provider}/${record.model}`);
      return cap === undefined ? undefined : { role: "assistant", cap };
    });
  }

  /** Every call that returned (the run's onCall). */
  observe(record: UsageRecord): void {
    this.observed.record(record);
  }

  /** What this task's conversation is reserved at now (`expected`), and its ceiling (`max`). */
  conversation(task: Task): ConversationCost {
    const ratios = this.observed.ratios();
    // The estimator renders prompts when built: rebuilt only when a learned share moves a bin.
    const key = JSON.stringify(ratios);
    if (!this.#estimator || key !== this.#key) {
      this.#estimator = new RunEstimator(this.config, this.prices, { completionRatios: ratios });
      this.#key = key;
    }
    return this.#estimator.conversation(task);
  }
}
