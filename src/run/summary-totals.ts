// The counts a run's summary takes from its progress tracker, for a local run (generate.ts) and a
// queued one (queue/coordinator.ts) alike.
import type { ProgressSnapshot } from "../operators/progress.js";

export function summaryTotals(s: ProgressSnapshot) {
  return {
    done: s.done,
    failed: s.failed,
    skipped: s.skipped,
    calls: s.calls,
    promptTokens: s.promptTokens,
    completionTokens: s.completionTokens,
    cachedTokens: s.cachedTokens,
    costUsd: s.costUsd,
    elapsedMs: s.elapsedMs,
    replayed: s.replayed,
    notStarted: s.notStarted,
  };
}
