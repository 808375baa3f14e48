// A response cache in this process's memory: answers synchronously, so virtual-time tests see
// a hit emit at once, and a library user can dedupe calls within one process without a disk.
// Bounded: past maxEntries the least recently used entry is dropped.
import type { ChatResult } from "../providers/types.js";
import {
  type CachedResult,
  type CacheStats,
  emptyStats,
  type ResponseCache,
  toCachedResult,
} from "./types.js";

export interface MemoryResponseCacheOptions {
  /** Entries kept (default 10,000); the least recently used go first. */
  maxEntries?: number;
}

export class MemoryResponseCache implements ResponseCache {
  readonly #entries = new Map<string, CachedResult>();
  readonly #max: number;
  readonly #stats = emptyStats();
  #closed = false;

  constructor(options: MemoryResponseCacheOptions = {}) {
    this.#max = Math.max(1, options.maxEntries ?? 10_000);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): CachedResult | undefined {
    const found = this.#entries.get(key);
    if (!found) {
      this.#stats.misses++;
      return undefined;
    }
    // Map order is insertion order: re-inserting marks the entry most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, found);
    this.#stats.hits++;
    return found;
  }

  put(key: string, result: ChatResult): void {
    if (this.#closed) {
      this.#stats.writeErrors++;
      return;
    }
    this.#entries.delete(key);
    this.#entries.set(key, toCachedResult(result));
    this.#stats.writes++;
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  stats(): CacheStats {
    return { ...this.#stats };
  }
}
