// The progress side stream: counters fed by the pipeline's events, read as snapshots on an
// interval. Nothing here feeds back into the pipeline.
import { asyncScheduler, interval, map, type Observable, type SchedulerLike, scan } from "rxjs";
import type { ConversationResult, UsageRecord } from "../schema/interaction.js";
import type { RunEvents } from "./converse-all.js";

export interface ProgressSnapshot {
  done: number;
  failed: number;
  skipped: number;
  inFlight: number;
  calls: number;
  /** Replies served from the response cache (no model call). */
  replayed: number;
  callRetries: number;
  /** Model calls per second over the last interval (or since the start for snapshot()). */
  callsPerSecond: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costUsd: number;
  elapsedMs: number;
}

export class ProgressTracker implements RunEvents {
  private done = 0;
  private failed = 0;
  private skippedCount = 0;
  private inFlight = 0;
  private calls = 0;
  private replayed = 0;
  private callRetries = 0;
  private promptTokens = 0;
  private completionTokens = 0;
  private cachedTokens = 0;
  private costUsd = 0;
  private readonly startedAt: number;

  constructor(private readonly scheduler: SchedulerLike = asyncScheduler) {
    this.startedAt = scheduler.now();
  }

  onStart(): void {
    this.inFlight++;
  }

  onFinish(result: ConversationResult): void {
    this.inFlight--;
    if (result.kind === "interaction") this.done++;
    else this.failed++;
  }

  onCall(record: UsageRecord): void {
    if (record.replayed) {
      this.replayed++;
      return;
    }
    this.calls++;
    this.promptTokens += record.prompt_tokens;
    this.completionTokens += record.completion_tokens;
    this.cachedTokens += record.cached_tokens ?? 0;
    this.costUsd += record.cost_usd;
  }

  onCallRetry(): void {
    this.callRetries++;
  }

  /** Tasks skipped because a previous run already finished them. */
  skipped(count = 1): void {
    this.skippedCount += count;
  }

  snapshot(): ProgressSnapshot {
    const elapsedMs = this.scheduler.now() - this.startedAt;
    return {
      done: this.done,
      failed: this.failed,
      skipped: this.skippedCount,
      inFlight: this.inFlight,
      calls: this.calls,
      replayed: this.replayed,
      callRetries: this.callRetries,
      callsPerSecond: elapsedMs > 0 ? (this.calls * 1000) / elapsedMs : 0,
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      cachedTokens: this.cachedTokens,
      costUsd: this.costUsd,
      elapsedMs,
    };
  }

  /** A snapshot every `periodMs`, with callsPerSecond measured over that period. */
  snapshots(periodMs: number, scheduler: SchedulerLike = this.scheduler): Observable<ProgressSnapshot> {
    return interval(periodMs, scheduler).pipe(
      map(() => this.snapshot()),
      scan((previous: ProgressSnapshot | undefined, current) => {
        const window = previous ? current.elapsedMs - previous.elapsedMs : current.elapsedMs;
        const calls = previous ? current.calls - previous.calls : current.calls;
        return { ...current, callsPerSecond: window > 0 ? (calls * 1000) / window : 0 };
      }, undefined),
      map((snapshot) => snapshot as ProgressSnapshot),
    );
  }
}

/** One line for a terminal: "12 done · 1 failed · 40 in flight · 8.1 calls/s · 52k tok · $0.0123". */
export function formatProgress(s: ProgressSnapshot, total?: number): string {
  const tokens = s.promptTokens + s.completionTokens;
  const tok = tokens >= 10_000 ? `${(tokens / 1000).toFixed(0)}k` : String(tokens);
  const of = total !== undefined ? `/${total}` : "";
  const parts = [
    `${s.done}${of} done`,
    `${s.failed} failed`,
    `${s.inFlight} in flight`,
    ...(s.skipped > 0 ? [`${s.skipped} already done`] : []),
    `${s.callsPerSecond.toFixed(1)} calls/s`,
    `${tok} tokens`,
    `$${s.costUsd.toFixed(4)}`,
    ...(s.callRetries > 0 ? [`${s.callRetries} retries`] : []),
    ...(s.replayed > 0 ? [`${s.replayed} replayed`] : []),
  ];
  return parts.join(" · ");
}
