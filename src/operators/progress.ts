// The progress side stream: counters fed by the pipeline's events, read as snapshots on an
// interval. Nothing here feeds back into the pipeline.
import { asyncScheduler, interval, map, type Observable, type SchedulerLike, scan } from "rxjs";
import type { BudgetSnapshot } from "../limits/endpoint-budget.js";
import type { EndpointDown } from "../limits/endpoint-health.js";
import { ProviderError } from "../providers/errors.js";
import type { ConversationResult, FailureRecord, UsageRecord } from "../schema/interaction.js";
import { scrubSecrets } from "../shared/redact-secrets.js";
import { terminalLine } from "../shared/terminal-text.js";
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
  /** Retries by what went wrong (a ProviderError's kind: rate_limit, server, timeout…; "other"). */
  retryKinds?: Record<string, number>;
  /** Model calls per second over the last interval (or since the start for snapshot()). */
  callsPerSecond: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costUsd: number;
  elapsedMs: number;
  /** Conversations refused before any call because their endpoint was given up on: not saved. */
  notStarted: number;
  /** The longest wait for time right now (Retry-After, pacing, backoff), when over PAUSE_SHOWN_MS. */
  pause?: RunPause;
  /** Endpoints given up on in this run (down, key refused). */
  endpointsDown?: EndpointDown[];
}

/** Why calls wait, how much longer, and how many wait. */
export interface RunPause {
  reason: string;
  remainingMs: number;
  waiting: number;
}

/** Shorter waits are the normal rhythm of a run; longer ones are shown with their reason. */
export const PAUSE_SHOWN_MS = 3000;

const ERROR_WORDS: Record<string, string> = {
  rate_limit: "rate limited",
  server: "server error",
  timeout: "no answer in time",
  connection: "connection failed",
  malformed: "malformed reply",
};

/** "rate limited, HTTP 429 (Retry-After)", "server error, HTTP 503 (backoff)". */
export function retryReason(error: unknown, delayMs: number): string {
  if (!(error instanceof ProviderError)) return "retrying (backoff)";
  const what = ERROR_WORDS[error.kind] ?? error.kind;
  const detail = error.status !== undefined ? `, HTTP ${error.status}` : error.code ? ` (${error.code})` : "";
  const told = error.retryAfterMs !== undefined && error.retryAfterMs >= delayMs;
  return `${what}${detail} (${told ? "Retry-After" : "backoff"})`;
}

/**
 * A conversation that never got to make a call because its endpoint was given up on: not a
 * failure to save (a rerun does it), but one of the run's "not started". `endpointDown`: an
 * endpoint of the run is given up on, so a conversation that made no call at all — whatever its
 * own error (the connection failure that tipped the endpoint over) — is one of them too.
 */
export function neverStarted(failure: FailureRecord, endpointDown = false): boolean {
  if (failure.usage.length > 0) return false;
  return endpointDown || failure.error_kind === "endpoint_down" || failure.error_kind === "auth";
}

export class ProgressTracker implements RunEvents {
  private done = 0;
  private failed = 0;
  private skippedCount = 0;
  private inFlight = 0;
  private calls = 0;
  private replayed = 0;
  private callRetries = 0;
  private readonly retryKinds: Record<string, number> = {};
  private promptTokens = 0;
  private completionTokens = 0;
  private cachedTokens = 0;
  private costUsd = 0;
  private notStarted = 0;
  /** Calls waiting out a retry delay: when each wait ends, and why. */
  private backoffs: Array<{ until: number; reason: string }> = [];
  private endpoints: (() => BudgetSnapshot[]) | undefined;
  private endpointDown: () => boolean = () => false;
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
    else if (result.failure !== undefined && neverStarted(result.failure, this.endpointDown()))
      this.notStarted++;
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

  /** A conversation the stop signal ended: no longer in flight, neither done nor failed. */
  onInterrupted(conversation: { started: boolean }): void {
    if (conversation.started) this.inFlight--;
  }

  onCallRetry(error?: unknown, delayMs?: number): void {
    this.callRetries++;
    const kind = error instanceof ProviderError ? error.kind : "other";
    this.retryKinds[kind] = (this.retryKinds[kind] ?? 0) + 1;
    if (delayMs === undefined || delayMs < PAUSE_SHOWN_MS) return;
    const now = this.scheduler.now();
    this.backoffs = this.backoffs.filter((b) => b.until > now);
    this.backoffs.push({ until: now + delayMs, reason: retryReason(error, delayMs) });
  }

  /** Tasks refused before they started because an endpoint was given up on. */
  refusedBeforeStart(count = 1): void {
    this.notStarted += count;
  }

  /** Where endpoint pauses and health come from (the run's budgets). */
  watchEndpoints(source: () => BudgetSnapshot[], anyDown?: () => boolean): void {
    this.endpoints = source;
    if (anyDown) this.endpointDown = anyDown;
  }

  /** The longest current wait over PAUSE_SHOWN_MS: endpoint pauses and calls' own retry delays. */
  private currentPause(now: number): RunPause | undefined {
    let longest: RunPause | undefined;
    const consider = (pause: RunPause) => {
      if (pause.remainingMs >= PAUSE_SHOWN_MS && (!longest || pause.remainingMs > longest.remainingMs))
        longest = pause;
    };
    this.backoffs = this.backoffs.filter((b) => b.until > now);
    const byReason = new Map<string, RunPause>();
    for (const backoff of this.backoffs) {
      const seen = byReason.get(backoff.reason);
      const remainingMs = backoff.until - now;
      if (!seen) byReason.set(backoff.reason, { reason: backoff.reason, remainingMs, waiting: 1 });
      else {
        seen.waiting++;
        seen.remainingMs = Math.max(seen.remainingMs, remainingMs);
      }
    }
    for (const pause of byReason.values()) consider(pause);
    return longest;
  }

  /** Tasks skipped because a previous run already finished them. */
  skipped(count = 1): void {
    this.skippedCount += count;
  }

  snapshot(): ProgressSnapshot {
    const now = this.scheduler.now();
    const elapsedMs = now - this.startedAt;
    const budgets = this.endpoints?.() ?? [];
    // An endpoint's pause names its host and holds every call to it: shown before any call's own
    // backoff (a retry told to wait by the same 429 waits behind it anyway).
    let pause: RunPause | undefined;
    for (const budget of budgets) {
      if (budget.pause && budget.pause.remainingMs >= PAUSE_SHOWN_MS)
        if (!pause || budget.pause.remainingMs > pause.remainingMs) pause = budget.pause;
    }
    pause ??= this.currentPause(now);
    const endpointsDown = budgets.flatMap((budget) => (budget.down ? [budget.down] : []));
    return {
      notStarted: this.notStarted,
      ...(pause ? { pause: { ...pause, remainingMs: Math.ceil(pause.remainingMs) } } : {}),
      ...(endpointsDown.length > 0 ? { endpointsDown } : {}),
      done: this.done,
      failed: this.failed,
      skipped: this.skippedCount,
      inFlight: this.inFlight,
      calls: this.calls,
      replayed: this.replayed,
      callRetries: this.callRetries,
      ...(this.callRetries > 0 ? { retryKinds: { ...this.retryKinds } } : {}),
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

/** How many of `total` are behind us: saved, failed, done by an earlier run, or not started. */
export function finished(s: ProgressSnapshot): number {
  return s.done + s.failed + s.skipped + s.notStarted;
}

/** Conversations ended per second since the start (those an earlier run did are not counted). */
export function conversationsPerSecond(s: ProgressSnapshot): number {
  return s.elapsedMs > 0 ? ((s.done + s.failed) * 1000) / s.elapsedMs : 0;
}

/** Time left at the rate so far; undefined until a conversation has ended or without a total. */
export function etaMs(s: ProgressSnapshot, total?: number): number | undefined {
  if (total === undefined) return undefined;
  const left = Math.max(0, total - finished(s));
  if (left === 0) return 0;
  const rate = conversationsPerSecond(s);
  return rate > 0 ? (left / rate) * 1000 : undefined;
}

/** "42s", "3m05s", "2h07m". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

const RETRY_WORDS: Record<string, [one: string, many: string]> = {
  rate_limit: ["rate-limited", "rate-limited"],
  server: ["server error", "server errors"],
  timeout: ["timeout", "timeouts"],
  connection: ["connection failure", "connection failures"],
  malformed: ["malformed reply", "malformed replies"],
};

/** "7 retries (5 rate-limited, 2 server errors)": most frequent reason first. */
export function describeRetries(s: ProgressSnapshot): string | undefined {
  if (s.callRetries === 0) return undefined;
  const reasons = Object.entries(s.retryKinds ?? {})
    .sort(([, a], [, b]) => b - a)
    .map(([kind, n]) => `${n} ${(RETRY_WORDS[kind] ?? [kind, kind])[n === 1 ? 0 : 1]}`);
  const why = reasons.length > 0 ? ` (${reasons.join(", ")})` : "";
  return `${s.callRetries} ${s.callRetries === 1 ? "retry" : "retries"}${why}`;
}

/** "52k tokens" past 10 000, the exact count below. */
export function formatTokens(s: ProgressSnapshot): string {
  const tokens = s.promptTokens + s.completionTokens;
  return `${tokens >= 10_000 ? `${(tokens / 1000).toFixed(0)}k` : String(tokens)} tokens`;
}

/**
 * The progress as named groups of short parts, each group one idea (how far, how fast, what
 * went wrong, what it cost, what waits). Joined into one line by formatProgress; packed into
 * lines of the terminal's width by the CLI's live display. Every part is terminal-safe.
 */
export function progressGroups(s: ProgressSnapshot, total?: number): string[][] {
  const eta = etaMs(s, total);
  const percent = total ? Math.floor((Math.min(finished(s), total) * 100) / total) : undefined;
  const groups = [
    [
      `${s.done}${total !== undefined ? `/${total}` : ""} done`,
      `${s.failed} failed`,
      `${s.inFlight} in flight`,
      ...(s.skipped > 0 ? [`${s.skipped} already done`] : []),
      ...(s.notStarted > 0 ? [`${s.notStarted} not started`] : []),
    ],
    [
      ...(percent !== undefined ? [`${percent}%`] : []),
      `${formatDuration(s.elapsedMs)} elapsed`,
      ...(eta !== undefined ? [`ETA ${formatDuration(eta)}`] : []),
    ],
    [`${conversationsPerSecond(s).toFixed(2)} conv/s`, `${s.callsPerSecond.toFixed(1)} calls/s`],
    [formatTokens(s), `$${s.costUsd.toFixed(4)}`, ...(s.replayed > 0 ? [`${s.replayed} replayed`] : [])],
    [describeRetries(s) ?? ""],
    [s.pause ? describePause(s.pause) : ""],
    ...(s.endpointsDown ?? []).map((down) => [describeDown(down)]),
  ];
  // Reasons and endpoints come from servers and the config: one line, no escape, no secret.
  return groups
    .map((group) => group.filter((part) => part !== "").map((part) => terminalLine(scrubSecrets(part))))
    .filter((group) => group.length > 0);
}

/** One line: "12/40 done · 1 failed · 3 in flight · 32% · 1m05s elapsed · ETA 2m10s · 0.20 conv/s · …". */
export function formatProgress(s: ProgressSnapshot, total?: number): string {
  return progressGroups(s, total)
    .map((group) => group.join(" · "))
    .join(" · ");
}

/** "paused 42s: rate limited by api.example.com (Retry-After)" (and how many calls wait, if several). */
export function describePause(pause: RunPause): string {
  const calls = pause.waiting > 1 ? ` (${pause.waiting} calls)` : "";
  return `paused ${Math.ceil(pause.remainingMs / 1000)}s: ${pause.reason}${calls}`;
}

/** "endpoint http://127.0.0.1:9/v1 down: connection refused (ECONNREFUSED) after 5 attempts". */
export function describeDown(down: EndpointDown): string {
  return `endpoint ${down.endpoint} ${down.kind === "auth" ? "refused the key" : "down"}: ${down.reason}`;
}
