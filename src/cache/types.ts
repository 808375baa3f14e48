// The response cache contract: results of model calls by key (see key.ts), so that a second run
// with the same config, personas and seed replays them instead of calling the models again.
import type { ChatResult } from "../providers/types.js";
import type { Usage } from "../schema/usage.js";

/** What is stored of a ChatResult: enough to reproduce texts and usage; no rate-limit headers. */
export type CachedResult = Pick<ChatResult, "text" | "usage" | "finishReason" | "provider" | "model">;

export interface CacheStats {
  /** Gets that found a valid entry. */
  hits: number;
  /** Gets that found nothing (corrupt entries included). */
  misses: number;
  /** Entries found unreadable (partial, bad checksum, wrong shape) and treated as misses. */
  corrupt: number;
  /** Entries written. */
  writes: number;
  /** Writes that failed (disk full, permissions): the call's result was still used. */
  writeErrors: number;
}

export interface ResponseCache {
  /**
   * The stored result, or undefined. May answer synchronously (an in-memory hit), so a hit in a
   * virtual-time test or on the hot path costs no microtask. Never rejects: an unreadable
   * entry is a miss.
   */
  get(key: string): CachedResult | undefined | Promise<CachedResult | undefined>;
  /** Stores in the background and returns at once; flush() waits until it is written. */
  put(key: string, result: ChatResult): void;
  /** Resolves when every put made so far is written (or has failed and been counted). */
  flush(): Promise<void>;
  /** flush(), then refuse further puts. */
  close(): Promise<void>;
  stats(): CacheStats;
}

export function emptyStats(): CacheStats {
  return { hits: 0, misses: 0, corrupt: 0, writes: 0, writeErrors: 0 };
}

/**
 * The stored part of a result. Usage keeps its numeric fields (today's and any added later);
 * everything else — rate-limit headers, the cached flag, fields a provider tacked on — is left out.
 */
export function toCachedResult(result: ChatResult): CachedResult {
  const usage: Record<string, number> = {};
  const source = result.usage as unknown as Record<string, unknown>;
  for (const name of Object.keys(source)) {
    const value = source[name];
    if (typeof value === "number" && Number.isFinite(value)) usage[name] = value;
  }
  return {
    text: result.text,
    usage: usage as unknown as Usage,
    finishReason: result.finishReason,
    provider: result.provider,
    model: result.model,
  };
}

/** Shape check of an entry read back from storage: anything else is corrupt. */
export function isCachedResult(value: unknown): value is CachedResult {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  const usage = record.usage as Record<string, unknown> | null | undefined;
  return (
    typeof record.text === "string" &&
    typeof record.finishReason === "string" &&
    typeof record.provider === "string" &&
    typeof record.model === "string" &&
    typeof usage === "object" &&
    usage !== null &&
    typeof usage.prompt_tokens === "number" &&
    typeof usage.completion_tokens === "number" &&
    Object.values(usage).every((n) => typeof n === "number")
  );
}

/** A result as replayed: a fresh object marked cached, so callers can tell no call was made. */
export function replayed(result: CachedResult): ChatResult {
  return { ...result, usage: { ...result.usage }, cached: true };
}
