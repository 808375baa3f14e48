// The response cache on disk: one small file per entry, sharded by the key's first two hex
// digits (`<dir>/ab/ab12….json`, 256 shards: about 4,000 files a directory at a million
// entries). Why files and not a segment log or SQLite:
// - memory stays flat whatever the cache size: nothing is indexed or loaded at start;
// - processes share the directory with no locks: an entry is written to a temp file and
//   renamed into place, rename is atomic, so a reader sees a whole entry or none, and two
//   writers of one key leave one whole entry (the last rename wins; both were valid);
// - kill -9 mid-write leaves at worst a dot-named .tmp file no reader ever opens, and each
//   entry carries a checksum (entry.ts), so even damage after the fact is a miss, not a reply;
// - a get is one readFileSync (≈10–15 µs of CPU here; fs.promises.readFile costs ≈50–190 µs
//   over four thread-pool hops), a put is off the hot path. Clearing the cache is deleting the folder.
//
// Imports only node:* and ./entry.js, ./types.js (see entry.ts for why).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { mkdir, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ChatResult } from "../providers/types.js";
import { decodeEntry, encodeEntry } from "./entry.js";
import {
  type CachedResult,
  type CacheStats,
  emptyStats,
  type ResponseCache,
  toCachedResult,
} from "./types.js";

export interface FileResponseCacheOptions {
  /** Entries written at once. Bounded so that a burst of results never opens thousands of files. */
  writeConcurrency?: number;
  /** fsync each entry and its directory: survives power loss, costs a disk flush per entry. */
  fsync?: boolean;
  /**
   * Read entries synchronously (default): cheapest on a local disk. Turn off on a slow network
   * file system, where a blocking read would stall the event loop.
   */
  syncReads?: boolean;
  /** Told about failed writes and unreadable (not merely absent) entries. Messages hold paths, no texts. */
  onError?: (error: unknown) => void;
}

// The write path uses the callback fs API: fs/promises' FileHandle costs about twice the CPU per
// entry (measured here: ≈43 µs of user time against ≈20 µs), and puts run once per model call.
const openFile = promisify(fs.open);
const writeFd = promisify(fs.writeFile) as (fd: number, data: string) => Promise<void>;
const datasync = promisify(fs.fdatasync);
const closeFd = promisify(fs.close);

/** Makes a rename in `dir` durable; platforms that refuse fsync on a directory gain nothing more. */
async function syncDirectory(dir: string): Promise<void> {
  const fd = await openFile(dir, "r");
  try {
    await promisify(fs.fsync)(fd);
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms and file systems
  } finally {
    await closeFd(fd);
  }
}

const KEY = /^[0-9a-f]{64}$/;
const TEMP = /^\.([0-9a-f]{64})\.json\.(\d+)\.[0-9a-f]+\.tmp$/;
const SHARD = /^[0-9a-f]{2}$/;

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class FileResponseCache implements ResponseCache {
  readonly dir: string;
  readonly #concurrency: number;
  readonly #fsync: boolean;
  readonly #syncReads: boolean;
  readonly #onError: (error: unknown) => void;
  readonly #stats = emptyStats();
  // Results waiting for or being written, by key: gets answer from here, so a result is
  // visible to this process from the moment it is put.
  readonly #pending = new Map<string, CachedResult>();
  #queue: string[] = [];
  #head = 0;
  #active = 0;
  #idle: Array<() => void> = [];
  #closed = false;
  // Temp names: pid, a random tag per instance and a counter — unique without a random draw per write.
  readonly #tempTag = randomBytes(4).toString("hex");
  #tempCount = 0;

  constructor(dir: string, options: FileResponseCacheOptions = {}) {
    this.dir = dir;
    this.#concurrency = Math.max(1, options.writeConcurrency ?? 8);
    this.#fsync = options.fsync ?? false;
    this.#syncReads = options.syncReads ?? true;
    const onError = options.onError;
    // A throwing callback must not break the write queue (or surface as an unhandled rejection).
    this.#onError = (error) => {
      try {
        onError?.(error);
      } catch {
        // ignored on purpose
      }
    };
  }

  /** Where the entry of `key` lives. */
  pathOf(key: string): string {
    if (!KEY.test(key)) throw new TypeError(`not a response cache key: ${JSON.stringify(key)}`);
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  get(key: string): CachedResult | undefined | Promise<CachedResult | undefined> {
    const path = this.pathOf(key);
    const pending = this.#pending.get(key);
    if (pending) {
      this.#stats.hits++;
      return pending;
    }
    if (!this.#syncReads)
      return readFile(path, "utf8").then(
        (text) => this.#decode(key, path, text),
        (error: unknown) => this.#unreadable(error),
      );
    let text: string;
    try {
      text = fs.readFileSync(path, "utf8");
    } catch (error) {
      return this.#unreadable(error);
    }
    return this.#decode(key, path, text);
  }

  #unreadable(error: unknown): undefined {
    if (!isMissing(error)) this.#onError(error);
    this.#stats.misses++;
    return undefined;
  }

  #decode(key: string, path: string, text: string): CachedResult | undefined {
    const result = decodeEntry(key, text);
    if (result) {
      this.#stats.hits++;
      return result;
    }
    // Damaged: a miss. Deleting it lets the fresh result be stored; if another process renamed
    // a good entry in meanwhile, the worst case is one more miss later.
    this.#stats.corrupt++;
    this.#stats.misses++;
    unlink(path).catch(() => undefined);
    return undefined;
  }

  put(key: string, result: ChatResult): void {
    this.pathOf(key); // validates the key now, in the caller's stack
    if (this.#closed) {
      this.#stats.writeErrors++;
      this.#onError(new Error("response cache: put after close; the result was not stored"));
      return;
    }
    if (this.#pending.has(key)) return; // the same call is already being stored
    this.#pending.set(key, toCachedResult(result));
    this.#queue.push(key);
    this.#pump();
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#head < this.#queue.length) {
      const key = this.#queue[this.#head++]!;
      this.#active++;
      this.#write(key, this.#pending.get(key)!).finally(() => {
        this.#pending.delete(key);
        this.#active--;
        this.#pump();
      });
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#active === 0 && this.#head === this.#queue.length) {
      const waiting = this.#idle;
      this.#idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  async #write(key: string, result: CachedResult): Promise<void> {
    const target = this.pathOf(key);
    const shard = join(this.dir, key.slice(0, 2));
    const temp = join(
      shard,
      `.${key}.json.${process.pid}.${this.#tempTag}${(this.#tempCount++).toString(16)}.tmp`,
    );
    try {
      let fd: number;
      try {
        fd = await openFile(temp, "wx");
      } catch (error) {
        if (!isMissing(error)) throw error;
        await mkdir(shard, { recursive: true }); // first entry of this shard (or of the cache)
        fd = await openFile(temp, "wx");
      }
      try {
        await writeFd(fd, encodeEntry(key, result));
        if (this.#fsync) await datasync(fd);
      } finally {
        await closeFd(fd);
      }
      await rename(temp, target);
      if (this.#fsync) await syncDirectory(shard);
      this.#stats.writes++;
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      this.#stats.writeErrors++;
      this.#onError(error);
    }
  }

  flush(): Promise<void> {
    if (this.#active === 0 && this.#head === this.#queue.length) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  stats(): CacheStats {
    return { ...this.#stats };
  }

  /**
   * Deletes temp files left by writers that died mid-write (kill -9). They are never read, so
   * this only reclaims space; it lists every shard, so it belongs in maintenance, not a run.
   */
  async removeStaleTemps(): Promise<number> {
    let removed = 0;
    let shards: string[];
    try {
      shards = (await readdir(this.dir)).filter((name) => SHARD.test(name));
    } catch (error) {
      if (isMissing(error)) return 0;
      throw error;
    }
    for (const shard of shards) {
      const names = await readdir(join(this.dir, shard)).catch(() => [] as string[]);
      for (const name of names) {
        const match = TEMP.exec(name);
        if (!match || isProcessAlive(Number(match[2]))) continue;
        await unlink(join(this.dir, shard, name)).then(
          () => removed++,
          () => undefined,
        );
      }
    }
    return removed;
  }
}
