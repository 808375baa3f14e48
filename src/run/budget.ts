// Spending limits (`--budget-usd`, `--budget-tokens`). A budget never stops a model call: it
// decides whether the next conversation may start. A conversation is admitted while
//
//     spent + reserved for conversations in flight + the next conversation's reservation ≤ limit
//
// where `spent` counts every call that returned (this run, plus what the output folder's
// usage.ndjson says earlier runs spent), and each conversation in flight holds its reservation
// until it finishes (generate() reserves from the completion sizes the run has observed,
// estimate-observed.ts). A conversation that does not fit *waits* while others are in flight:
// they settle at what they really spent, which frees room. Only when nothing is in flight and
// it still does not fit is it refused, which closes the budget: the task stream completes and
// the run reports `exhausted` (the CLI exits 4). One exception, so that a budget smaller than
// one conversation's worst case still learns something: when nothing at all has been spent and
// nothing is in flight, one conversation is admitted whatever its reservation. A conversation
// in flight can outrun its reservation, so a run can pass its limit by at most one wave of
// in-flight conversations (docs/budgets.md).
import { type MonoTypeOperatorFunction, Observable } from "rxjs";
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
   * What a conversation is checked and held at: "expected" (default) spends the budget and may
   * pass the limit by one wave; "max" holds each conversation's ceiling and never admits one
   * that does not fit (no first-conversation exception), so the limit is passed only where the
   * ceiling itself is wrong (re-asks, retries, chars/4), at the price of stopping earlier.
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

/** What `offer` decided: started, not yet (offer it again after the next settle), or never. */
export type Offer = "admitted" | "wait" | "refused";

/** Cents for dollar budgets; four decimals below $1 (or below a cent), where cents would round $0.0485 up to the limit. */
const usdOf =
  (limit: number) =>
  (v: number): string =>
    v.toFixed(limit >= 1 && v >= 0.01 ? 2 : 4);
const tokens = (v: number): string => Math.round(v).toLocaleString("en-US");

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
  /** What the refused conversation would have held: why the rest of the limit stays unspent. */
  #refusedAt: Cost | undefined;
  readonly #listeners = new Set<() => void>();

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

  /** What a conversation is checked and held at: its reservation, or its ceiling in strict mode. */
  holdOf(next: Cost | ConversationCost): Cost {
    return "max" in next ? { ...(this.#reserveMax ? next.max : next.expected) } : { ...next };
  }

  /** Would one more conversation with this cost fit now? Never once the budget closed. */
  admits(next: Cost | ConversationCost): boolean {
    if (this.#refused > 0) return false;
    const hold = this.holdOf(next);
    const spent = this.spent;
    const outstanding = this.outstanding;
    const fits = (k: keyof Cost) => {
      const limit = this.limits[k];
      return limit === undefined || spent[k] + outstanding[k] + hold[k] <= limit;
    };
    return fits("usd") && fits("tokens");
  }

  /**
   * Admits and reserves; or "wait" while it does not fit but conversations in flight will settle
   * (and may free room); or refuses, which closes the budget. With nothing spent and nothing in
   * flight one conversation is admitted even when it does not fit (not with reserve: "max").
   */
  offer(interactionId: string, next: Cost | ConversationCost): Offer {
    if (this.#refused > 0) return "refused";
    const nothingSpent = this.spent.usd === 0 && this.spent.tokens === 0;
    const first = this.#inFlight === 0 && nothingSpent && !this.#reserveMax;
    if (!this.admits(next) && !first) {
      if (this.#inFlight > 0) return "wait";
      this.#refused++;
      this.#refusedAt = this.holdOf(next);
      return "refused";
    }
    const hold = this.holdOf(next);
    this.#reserved.usd += hold.usd;
    this.#reserved.tokens += hold.tokens;
    const holds = this.#holds.get(interactionId);
    if (holds) holds.push(hold);
    else this.#holds.set(interactionId, [hold]);
    this.#inFlight++;
    return "admitted";
  }

  /** offer() without waiting: true when admitted (a "wait" is false but does not close the budget). */
  admit(interactionId: string, next: Cost | ConversationCost): boolean {
    return this.offer(interactionId, next) === "admitted";
  }

  /** Calls `listener` whenever a conversation settles or is released; returns the unsubscribe. */
  onSettled(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
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
    // A conversation's spend is settled once: a later release of the same id finds no hold.
    this.#release(id, holds, hold);
  }

  /**
   * A conversation that ended without a result (a stop signal ended it: its calls were recorded
   * as they returned and stay spent) gives its reservation back.
   */
  release(interactionId: string): void {
    const holds = this.#holds.get(interactionId);
    const hold = holds?.shift();
    if (hold) this.#release(interactionId, holds, hold);
  }

  #release(id: string, holds: Cost[] | undefined, hold: Cost): void {
    if (holds?.length === 0) this.#holds.delete(id);
    this.#reserved.usd -= hold.usd;
    this.#reserved.tokens -= hold.tokens;
    this.#inFlight--;
    for (const listener of [...this.#listeners]) listener();
  }

  /** One line for the end of a run. */
  describe(): string {
    if (!this.limited) return "no budget";
    const parts: string[] = [];
    const spent = this.spent;
    if (this.limits.usd !== undefined) {
      const usd = usdOf(this.limits.usd);
      parts.push(`$${usd(spent.usd)} of $${usd(this.limits.usd)}`);
    }
    if (this.limits.tokens !== undefined)
      parts.push(`${tokens(spent.tokens)} of ${tokens(this.limits.tokens)} tokens`);
    const state = this.exhausted ? "budget reached" : "budget";
    return `${state}: ${parts.join(", ")} spent${this.#unspent()}`;
  }

  /**
   * What the limit left unspent when the budget closed, and why: the next conversation's
   * reservation did not fit. Reserved but never spent, so nothing was paid for it.
   */
  #unspent(): string {
    const at = this.#refusedAt;
    if (!at) return "";
    const spent = this.spent;
    const parts: string[] = [];
    if (this.limits.usd !== undefined) {
      const usd = usdOf(this.limits.usd);
      const left = Math.max(0, this.limits.usd - spent.usd);
      parts.push(`$${usd(left)} left unspent (the next conversation would reserve $${usd(at.usd)})`);
    }
    if (this.limits.tokens !== undefined) {
      const left = Math.max(0, this.limits.tokens - spent.tokens);
      parts.push(
        `${tokens(left)} tokens left unspent (the next conversation would reserve ${tokens(at.tokens)})`,
      );
    }
    return `; ${parts.join(", ")}`;
  }
}

/**
 * Passes tasks while the budget admits them. A task that does not fit yet waits (and the tasks
 * behind it with it) until a conversation in flight settles; at the first the budget refuses,
 * the task stream completes (so the source stops reading and conversations already admitted
 * finish). `onDropped` gets every task taken in and not passed on (the refused one, those queued
 * behind it, those queued when the stop signal fires), e.g. to return its backpressure slot, so
 * put this after the backpressure count: tasks waiting here hold slots and the reader stays
 * bounded. After the stop signal nothing more is passed on.
 */
export function withinBudget(
  budget: Budget,
  estimateOne: (task: Task) => Cost | ConversationCost,
  onDropped?: (task: Task) => void,
  stopSignal?: AbortSignal,
): MonoTypeOperatorFunction<Task> {
  if (!budget.limited) return (tasks) => tasks;
  return (tasks) =>
    new Observable<Task>((subscriber) => {
      const queue: Task[] = [];
      let sourceDone = false;
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        for (const task of queue.splice(0)) onDropped?.(task);
        subscriber.complete();
      };
      const pump = (): void => {
        if (stopSignal?.aborted) {
          close();
          return;
        }
        while (!closed && queue.length > 0) {
          const offer = budget.offer(queue[0]!.interaction_id, estimateOne(queue[0]!));
          if (offer === "wait") return;
          const task = queue.shift()!;
          if (offer === "refused") {
            onDropped?.(task);
            close();
            return;
          }
          subscriber.next(task);
        }
        if (sourceDone) close();
      };
      const stopListening = budget.onSettled(pump);
      stopSignal?.addEventListener("abort", pump, { once: true });
      const source = tasks.subscribe({
        next: (task) => {
          if (closed) {
            onDropped?.(task);
            return;
          }
          queue.push(task);
          pump();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });
      return () => {
        stopListening();
        stopSignal?.removeEventListener("abort", pump);
        source.unsubscribe();
      };
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
