// The response cache on disk: an append-only log of entries in segment files. Why not one file
// per entry (what convosim did first): creating a file costs ≈0.1–0.3 ms of mostly kernel CPU,
// more than the rest of convosim's work per model call; appending a record costs a few µs.
//
// Layout: `<dir>/segments/<µs since epoch, hex>-<pid>-<random>.log`. Each writing instance (a
// process, usually) appends only to segments of its own, so processes share the folder without
// locks. A record is an entry as entry.ts encodes it (a header line with key and sha256, then the
// result), so a torn or damaged record is detected and is a miss, never a reply.
//
// - put(): held in memory (visible to get at once) and written in the background within
//   GROUP_WINDOW_MS; puts made in that window or while a write is in flight are joined into one
//   write: one syscall for many records (group commit). flush() waits. With fsync, each group is
//   fdatasync'ed and the segments folder fsync'ed when a segment is created.
// - get(): an index (segment-index.ts) of every record, built on the first get by scanning all
//   segments (segment-scan.ts), then one positional read (readSync on a cached fd) + decodeEntry.
//   Records this instance writes are indexed as they land. Records other processes write after
//   the scan are not seen: a miss, one more model call and one more record, nothing worse.
// - kill -9 at any moment leaves at worst a torn last record in the dead process's segment,
//   which the scan skips. A write that fails ends its segment: the next group starts a new one,
//   so torn bytes are only ever at a segment's end.
// - Duplicate keys (two processes storing one call): any whole record will do; the scan keeps the
//   last in name order, so the newest segment wins and a re-stored entry shadows a damaged one.
//
// Imports only node:*, ./entry.js, ./segment-*.js and ./types.js (see entry.ts for why).
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import type { ChatResult } from "../providers/types.js";
import { decodeEntry, encodeEntry } from "./entry.js";
import { listSegments, SegmentReaders, SegmentWriter } from "./segment-files.js";
import { RecordIndex, wordOfKey } from "./segment-index.js";
import { scanSegment } from "./segment-scan.js";
import {
  type CachedResult,
  type CacheStats,
  emptyStats,
  type ResponseCache,
  toCachedResult,
} from "./types.js";

export interface SegmentResponseCacheOptions {
  /** fdatasync each group of records, fsync the folder when a segment is created. Default off. */
  fsync?: boolean;
  /** A segment past this size is closed and a new one started (default 256 MiB). */
  maxSegmentBytes?: number;
  /** Told about failed writes and unreadable (not merely absent) segments. Messages hold paths, no texts. */
  onError?: (error: unknown) => void;
}

const KEY = /^[0-9a-f]{64}$/;
const SCAN_BUFFER = 1 << 20;

function checkKey(key: string): void {
  if (!KEY.test(key)) throw new TypeError(`not a response cache key: ${JSON.stringify(key)}`);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** How long a put waits for others to join its write. */
const GROUP_WINDOW_MS = 10;

export class SegmentResponseCache implements ResponseCache {
  readonly dir: string;
  readonly #segmentsDir: string;
  readonly #onError: (error: unknown) => void;
  readonly #stats = emptyStats();
  // Results put and not yet written, by key: gets answer from here until they are indexed.
  readonly #pending = new Map<string, CachedResult>();
  #queue: string[] = [];
  #writing = false;
  #idle: Array<() => void> = [];
  #closed = false;
  #groups = 0;
  readonly #writer: SegmentWriter;
  readonly #readers = new SegmentReaders();
  readonly #index = new RecordIndex();
  #indexed = false;
  // Segment numbers (as the index stores them) ↔ paths.
  readonly #paths: string[] = [];
  readonly #numbers = new Map<string, number>();

  constructor(dir: string, options: SegmentResponseCacheOptions = {}) {
    this.dir = dir;
    this.#segmentsDir = join(dir, "segments");
    this.#writer = new SegmentWriter(dir, {
      fsync: options.fsync ?? false,
      maxBytes: Math.max(1, options.maxSegmentBytes ?? 256 * 2 ** 20),
    });
    const onError = options.onError;
    // A throwing callback must not break the write loop (or surface as an unhandled rejection).
    this.#onError = (error) => {
      try {
        onError?.(error);
      } catch {
        // ignored on purpose
      }
    };
  }

  /** Writes made: each holds every record put while the previous one was in flight. */
  get writeGroups(): number {
    return this.#groups;
  }

  get(key: string): CachedResult | undefined {
    checkKey(key);
    const pending = this.#pending.get(key);
    if (pending) {
      this.#stats.hits++;
      return pending;
    }
    if (!this.#indexed) this.#buildIndex();
    const index = this.#index;
    const slot = index.find(wordOfKey(key, 0), wordOfKey(key, 8));
    let result: CachedResult | undefined;
    if (slot >= 0) {
      try {
        const path = this.#paths[index.segmentAt(slot)]!;
        result = decodeEntry(key, this.#readers.read(path, index.offsetAt(slot), index.lengthAt(slot)));
        if (!result) {
          // Damaged (or, once in ~10¹⁹ pairs, another key sharing the index's 64 bits): a miss.
          this.#stats.corrupt++;
          index.forget(slot);
        }
      } catch (error) {
        if (!isMissing(error)) this.#onError(error); // a segment deleted since the scan: a plain miss
      }
    }
    if (result) this.#stats.hits++;
    else this.#stats.misses++;
    return result;
  }

  put(key: string, result: ChatResult): void {
    checkKey(key); // now, in the caller's stack
    if (this.#closed) {
      this.#stats.writeErrors++;
      this.#onError(new Error("response cache: put after close; the result was not stored"));
      return;
    }
    if (this.#pending.has(key)) return; // the same call is already being stored
    this.#pending.set(key, toCachedResult(result));
    this.#queue.push(key);
    if (!this.#writing) {
      this.#writing = true;
      // Not at once: puts made within the next few milliseconds join the first write too. During
      // a run, results arrive one per turn of the event loop, so writing at the next microtask
      // made one write (and one thread-pool hop) per model call; a short window makes one per
      // window. A crash loses at most that window's entries: calls to make again, no data.
      setTimeout(() => void this.#drain(), GROUP_WINDOW_MS);
    }
  }

  flush(): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** flush(), then refuse further puts. Gets keep working (each opens and closes its file). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    await this.#writer.end();
    this.#readers.close();
  }

  stats(): CacheStats {
    return { ...this.#stats };
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const keys = this.#queue;
      this.#queue = [];
      await this.#writeGroup(keys);
      // Only now: until here a get of these keys is answered from #pending.
      for (const key of keys) this.#pending.delete(key);
    }
    this.#writing = false;
    const waiting = this.#idle;
    this.#idle = [];
    for (const resolve of waiting) resolve();
  }

  /** One write of every record queued (group commit), then indexed where it landed. */
  async #writeGroup(keys: string[]): Promise<void> {
    try {
      const records = keys.map((key) => encodeEntry(key, this.#pending.get(key)!));
      const lengths = records.map((record) => Buffer.byteLength(record));
      const data = Buffer.allocUnsafe(lengths.reduce((sum, n) => sum + n, 0));
      let at = 0;
      for (const record of records) at += data.write(record, at);
      const { path, offset } = await this.#writer.append(data);
      this.#groups++;
      this.#stats.writes += keys.length;
      // Before the first get there is no index yet: the scan will find these records.
      if (!this.#indexed) return;
      const segment = this.#segmentOf(path);
      let recordAt = offset;
      for (const [i, key] of keys.entries()) {
        this.#index.set(wordOfKey(key, 0), wordOfKey(key, 8), segment, recordAt, lengths[i]!);
        recordAt += lengths[i]!;
      }
    } catch (error) {
      this.#stats.writeErrors += keys.length;
      this.#onError(error);
    }
  }

  #segmentOf(path: string): number {
    let segment = this.#numbers.get(path);
    if (segment === undefined) {
      segment = this.#paths.push(path) - 1;
      this.#numbers.set(path, segment);
    }
    return segment;
  }

  /** Scans every segment, oldest name first, so later records of a key replace earlier ones. */
  #buildIndex(): void {
    this.#indexed = true;
    let names: string[];
    try {
      names = listSegments(this.#segmentsDir);
    } catch (error) {
      if (!isMissing(error)) this.#onError(error);
      return;
    }
    const buffer = Buffer.allocUnsafe(SCAN_BUFFER);
    for (const name of names) {
      const path = join(this.#segmentsDir, name);
      const segment = this.#segmentOf(path);
      let fd: number | undefined;
      try {
        fd = openSync(path, "r");
        scanSegment(fd, buffer, (high, low, offset, length) =>
          this.#index.set(high, low, segment, offset, length),
        );
        this.#readers.adopt(path, fd); // the first gets of this segment need no open
      } catch (error) {
        if (fd !== undefined) closeSync(fd);
        if (!isMissing(error)) this.#onError(error);
      }
    }
  }
}
