// DIR/usage.ndjson: one usage summary line per result, appended BEFORE the result's own file
// or failure record is written. It is a spending ledger: tokens spent on a conversation that
// a crash cut off before its file landed still appear (they were paid for), and a resumed run
// that redoes that conversation adds a second line (paid for twice). Totals across runs are a
// sum over this file, with no need to open 100k interaction files. Calls that belong to no
// saved result get lines of their own: query generation, and conversations a stop signal ended.
import type { ConversationResult, UsageRecord } from "../schema/interaction.js";

export interface UsageTotals {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_usd: number;
}

export interface UsageLedgerLine extends UsageTotals {
  interaction_id: string;
  persona_id: string;
  /**
   * "query_generation": calls that belong to no conversation (new queries for a persona).
   * "interrupted": a conversation the stop signal ended, not saved (a rerun redoes it, replaying
   * these calls from the response cache), whose calls were paid for all the same.
   */
  status: "completed" | "failed" | "query_generation" | "interrupted";
  /** Only on "interrupted" lines. */
  interrupted?: true;
  /** Only on "interrupted" lines: turns it had finished when the signal came. */
  completed_turns?: number;
  recorded_at: string;
  /** Keyed "provider/model", the reference's grouping. */
  by_model: Record<string, UsageTotals>;
}

export function emptyTotals(): UsageTotals {
  return { calls: 0, prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, cost_usd: 0 };
}

/** Adds a call's usage; a reply replayed from the response cache was no call and spent nothing. */
export function addUsage(totals: UsageTotals, record: UsageRecord): void {
  if (record.replayed) return;
  totals.calls += 1;
  totals.prompt_tokens += record.prompt_tokens;
  totals.completion_tokens += record.completion_tokens;
  totals.cached_tokens += record.cached_tokens ?? 0;
  totals.cost_usd += record.cost_usd;
}

export function usageLedgerLine(result: ConversationResult, now: Date = new Date()): UsageLedgerLine {
  const base =
    result.kind === "interaction"
      ? {
          interaction_id: result.interaction.interaction_id,
          persona_id: result.interaction.persona_id,
          status: "completed" as const,
          usage: result.interaction.metadata?.usage ?? [],
        }
      : {
          interaction_id: result.failure.interaction_id,
          persona_id: result.failure.persona_id,
          status: "failed" as const,
          usage: result.failure.usage ?? [],
        };
  const totals = emptyTotals();
  const byModel: Record<string, UsageTotals> = {};
  for (const record of base.usage) {
    addUsage(totals, record);
    const key = `${record.provider}/${record.model}`;
    byModel[key] ??= emptyTotals();
    addUsage(byModel[key], record);
  }
  return {
    interaction_id: base.interaction_id,
    persona_id: base.persona_id,
    status: base.status,
    recorded_at: now.toISOString(),
    ...totals,
    by_model: byModel,
  };
}

/**
 * The ledger line of calls made for a persona but for no conversation (query generation): paid
 * all the same, so budgets across runs count them. `id` names the line (persona and round).
 */
export function helperLedgerLine(
  id: string,
  personaId: string,
  records: readonly UsageRecord[],
  now: Date = new Date(),
): UsageLedgerLine {
  return {
    interaction_id: id,
    persona_id: personaId,
    status: "query_generation",
    recorded_at: now.toISOString(),
    ...summed(records),
  };
}

/** The ledger line of a conversation the stop signal ended: not saved, but paid for. */
export function interruptedLedgerLine(
  conversation: {
    interaction_id: string;
    persona_id: string;
    completed_turns: number;
    usage: readonly UsageRecord[];
  },
  now: Date = new Date(),
): UsageLedgerLine {
  return {
    interaction_id: conversation.interaction_id,
    persona_id: conversation.persona_id,
    status: "interrupted",
    interrupted: true,
    completed_turns: conversation.completed_turns,
    recorded_at: now.toISOString(),
    ...summed(conversation.usage),
  };
}

function summed(records: readonly UsageRecord[]): UsageTotals & { by_model: Record<string, UsageTotals> } {
  const totals = emptyTotals();
  const byModel: Record<string, UsageTotals> = {};
  for (const record of records) {
    addUsage(totals, record);
    const key = `${record.provider}/${record.model}`;
    byModel[key] ??= emptyTotals();
    addUsage(byModel[key], record);
  }
  return { ...totals, by_model: byModel };
}
