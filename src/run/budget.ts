// Spending limits (`--budget-usd`, `--budget-tokens`). A budget never stops a model call: it
// decides whether the next conversation may start. A conversation is admitted only while
//
//     spent + reserved for conversations in flight + the next conversation's ceiling ≤ limit
//
// where `spent` counts every call that returned (this run, plus what the output folder's
// usage.ndjson says earlier runs spent), and each conversation in flight holds its expected
// cost until it finishes. The first conversation that does not fit closes the budget: the task
// stream completes, conversations in flight finish and are saved, and the run reports
// `exhausted` (the CLI exits 4). A conversation in flight can outrun its reservation, so a run
// can pass its limit by at most Σ (ceiling − expected) over the conversations in flight at the
// last admission: one wave of in-flight conversations (docs/budgets.md).
import { type MonoTypeOperatorFunction, takeWhile } from "rxjs";
import type { ConversationResult, UsageRecord } from "../schema/interaction.js";
import type { Task } from "../schema/persona.js";
import { outputPaths } from "../sinks/layout.js";
import { readNdjson } from "../sinks/ndjson-sink.js";
import type { ConversationCost, Cost } from "./estimate.js";

export interface BudgetLimits {
  /** USD, priced as the run prices calls (config `pricing`, else the built-in table). */
  usd?: number | undefined;
  /** Prompt + completion tokens (cached prompt tokens included) as providers report them. */
  tokens?: number | undefined;
}

export interface BudgetOptions {
  /**
   * What a conversation in flight holds: "expected" (default) keeps more conversations running
   * and may pass the limit by one wave; "max" holds each conversation's ceiling, so the limit is
   * passed only where the ceiling itself is wrong (re-asks, retries, chars/4), at the price of
   * stopping earlier.
   */
  reserve?: "expected" | "max";
}

const zero = (): Cost => ({ usd: 0, tokens: 0 });

function usageCost(records: readonly UsageRecord[]): Cost {
  const cost = zero();
  for (const r of records) {
    if (r.replayed) continue; // replayed from the response cache: nothing was spent
    cost.usd += r.cost_usd;
    cost.tokens += r.prompt_tokens + r.completion_tokens;
  }
  return cost;
}

function ceilingOf(next: Cost | ConversationCost): Cost {
  return "max" in next ? next.max : next;
}

export class Budget {
  readonly limits: Readonly<BudgetLimits>;
  readonly alreadySpent: Readonly<Cost>;
  readonly #reserveMax: boolean;
  /** Every call that returned in this run. */
  readonly #spent = zero();
  /** Of #spent: calls of conversations that finished, and calls that belong to no conversation. */
  readonly #settled = zero();
  /** Held for conversations in flight: their expected (or ceiling) cost, whole. */
  readonly #reserved = zero();
  readonly #holds = new Map<string, Cost[]>();
  #inFlight = 0;
  #refused = 0;

  constructor(limits: BudgetLimits = {}, alreadySpent: Cost = zero(), options: BudgetOptions = {}) {
    for (const [name, value] of Object.entries(limits)) {
      if (value !== undefined && !(Number.isFinite(value) && value >= 0))
        throw new RangeError(`budget ${name} must be a number ≥ 0 (got ${value})`);
    }
    this.limits = { ...limits };
    this.alreadySpent = { usd: alreadySpent.usd, tokens: alreadySpent.tokens }; // e.g. an OutputSpend
    this.#reserveMax = options.reserve === "max";
  }

  /** True when there is a limit to enforce. */
  get limited(): boolean {
    return this.limits.usd !== undefined || this.limits.tokens !== undefined;
  }

  /** Everything spent on this output: earlier runs plus this one. */
  get spent(): Cost {
    return {
      usd: this.alreadySpent.usd + this.#spent.usd,
      tokens: this.alreadySpent.tokens + this.#spent.tokens,
    };
  }

  get spentThisRun(): Cost {
    return { ...this.#spent };
  }

  /**
   * What conversations in flight still hold: their reservations less what they have spent so
   * far (counted as a whole, never below 0).
   */
  get outstanding(): Cost {
    const inFlightSpent = (k: keyof Cost) => this.#spent[k] - this.#settled[k];
    return {
      usd: Math.max(0, this.#reserved.usd - inFlightSpent("usd")),
      tokens: Math.max(0, this.#reserved.tokens - inFlightSpent("tokens")),
    };
  }

  /** Conversations admitted and not yet settled. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** True once a conversation was refused: work is left that this budget will not pay for. */
  get exhausted(): boolean {
    return this.#refused > 0;
  }

  /** Every call that returned (the conversation events' onCall, style transfer, query generation). */
  record(record: UsageRecord): void {
    const cost = usageCost([record]);
    this.#spent.usd += cost.usd;
    this.#spent.tokens += cost.tokens;
    // Query generation belongs to no conversation: no reservation will ever absorb it.
    if (record.operation === "query_generation") {
      this.#settled.usd += cost.usd;
      this.#settled.tokens += cost.tokens;
    }
  }

  /** Would one more conversation with this cost fit? Closed for good once one was refused. */
  admits(next: Cost | ConversationCost): boolean {
    if (this.#refused > 0) return false;
    const ceiling = ceilingOf(next);
    const spent = this.spent;
    const outstanding = this.outstanding;
    const fits = (k: keyof Cost) => {
      const limit = this.limits[k];
      return limit === undefined || spent[k] + outstanding[k] + ceiling[k] <= limit;
    };
    return fits("usd") && fits("tokens");
  }

  /** Admits and reserves, or refuses (and closes the budget). */
  admit(interactionId: string, next: Cost | ConversationCost): boolean {
    if (!this.admits(next)) {
      this.#refused++;
      return false;
    }
    const hold = { ...("max" in next ? (this.#reserveMax ? next.max : next.expected) : next) };
    this.#reserved.usd += hold.usd;
    this.#reserved.tokens += hold.tokens;
    const holds = this.#holds.get(interactionId);
    if (holds) holds.push(hold);
    else this.#holds.set(interactionId, [hold]);
    this.#inFlight++;
    return true;
  }

  /** A conversation finished (interaction or failure): its reservation gives way to what it spent. */
  settle(result: ConversationResult): void {
    const [id, usage] =
      result.kind === "interaction"
        ? [result.interaction.interaction_id, result.interaction.metadata.usage ?? []]
        : [result.failure.interaction_id, result.failure.usage ?? []];
    const cost = usageCost(usage);
    this.#settled.usd += cost.usd;
    this.#settled.tokens += cost.tokens;
    const holds = this.#holds.get(id);
    const hold = holds?.shift();
    if (!hold) return; // not admitted through this budget: its calls are settled all the same
    if (holds?.length === 0) this.#holds.delete(id);
    this.#reserved.usd -= hold.usd;
    this.#reserved.tokens -= hold.tokens;
    this.#inFlight--;
  }

  /** One line for the end of a run. */
  describe(): string {
    if (!this.limited) return "no budget";
    const parts: string[] = [];
    const spent = this.spent;
    if (this.limits.usd !== undefined)
      parts.push(`$${spent.usd.toFixed(spent.usd < 0.01 ? 4 : 2)} of $${this.limits.usd.toFixed(2)}`);
    if (this.limits.tokens !== undefined)
      parts.push(
        `${Math.round(spent.tokens).toLocaleString("en-US")} of ${this.limits.tokens.toLocaleString("en-US")} tokens`,
      );
    const state = this.exhausted ? "budget reached" : "budget";
    return `${state}: ${parts.join(", ")} spent`;
  }
}

/**
 * Passes tasks while the budget admits them; at the first it refuses, completes the task stream
 * (so the source stops reading and conversations already admitted finish). No buffering: each
 * task is decided as it arrives, from the budget's live spend (fed by `budget.record` and
 * `budget.settle`). `onExhausted` gets the refused task, e.g. to return its backpressure slot.
 */
export function withinBudget(
  budget: Budget,
  estimateOne: (task: Task) => Cost | ConversationCost,
  onExhausted?: (task: Task) => void,
): MonoTypeOperatorFunction<Task> {
  if (!budget.limited) return (tasks) => tasks;
  return takeWhile((task: Task) => {
    if (budget.admit(task.interaction_id, estimateOne(task))) return true;
    onExhausted?.(task);
    return false;
  });
}

export interface OutputSpend extends Cost {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  /** Ledger lines: one per saved result (a redone conversation appears twice: paid twice). */
  conversations: number;
  completed: number;
  failed: number;
  /** Lines that were not a usage record, e.g. the last line of a run killed mid-write. */
  malformed: number;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/**
 * What earlier runs spent on an output folder: the sum of DIR/usage.ndjson (a missing file is
 * nothing spent). Reads line by line, so a ledger of a million conversations costs no memory.
 */
export async function spentInOutput(dir: string): Promise<OutputSpend> {
  const spend: OutputSpend = {
    usd: 0,
    tokens: 0,
    calls: 0,
    promptTokens: 0,
    completionTokens: 0,
    conversations: 0,
    completed: 0,
    failed: 0,
    malformed: 0,
  };
  for await (const line of readNdjson(outputPaths(dir).usage)) {
    const v = line.ok && typeof line.value === "object" && line.value !== null ? line.value : undefined;
    const record = v as Record<string, unknown> | undefined;
    const prompt = num(record?.prompt_tokens);
    const completion = num(record?.completion_tokens);
    const usd = num(record?.cost_usd);
    if (prompt === undefined || completion === undefined || usd === undefined) {
      spend.malformed++;
      continue;
    }
    spend.usd += usd;
    spend.promptTokens += prompt;
    spend.completionTokens += completion;
    spend.tokens += prompt + completion;
    spend.calls += num(record?.calls) ?? 0;
    // Spent, but for no saved conversation: query generation, and conversations a stop ended.
    if (record?.status === "query_generation" || record?.status === "interrupted") continue;
    spend.conversations++;
    if (record?.status === "failed") spend.failed++;
    else spend.completed++;
  }
  return spend;
}
