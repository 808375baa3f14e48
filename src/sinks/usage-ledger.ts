// DIR/usage.ndjson: one usage summary line per result, appended BEFORE the result's own file
// or failure record is written. It is a spending ledger: tokens spent on a conversation that
// a crash cut off before its file landed still appear (they were paid for), and a resumed run
// that redoes that conversation adds a second line (paid for twice). Totals across runs are a
// sum over this file, with no need to open 100k interaction files.
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
  status: "completed" | "failed";
  recorded_at: string;
  /** Keyed "provider/model", the reference's grouping. */
  by_model: Record<string, UsageTotals>;
}

export function emptyTotals(): UsageTotals {
  return { calls: 0, prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, cost_usd: 0 };
}

export function addUsage(totals: UsageTotals, record: UsageRecord): void {
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
