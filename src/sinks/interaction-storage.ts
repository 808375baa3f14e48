// The reference's InteractionStorage in TypeScript: one file per interaction, written
// atomically, with an index kept in memory and written out every few seconds (not per save:
// the reference's O(n²) flaw) and at close. filesSink is this class behind an operator.
import { opendir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FailureRecord, Interaction } from "../schema/interaction.js";
import { makeFolder } from "../shared/writable-folder.js";
import { FileAppender } from "./append.js";
import { atomicWriteFile, cleanTempFiles } from "./atomic-file.js";
import { type IndexEntry, indexEntryFor, readIndex, renderIndex } from "./index-file.js";
import {
  CorruptFileError,
  forEachSliced,
  isErrno,
  type OutputPaths,
  outputPaths,
  readInteractionFile,
  readInteractionFileSync,
} from "./layout.js";
import { ndjsonLine, readNdjson } from "./ndjson-sink.js";
import { interactionFileName } from "./safe-file-name.js";
import type { TrainingCollector } from "./training.js";
import { usageLedgerLine } from "./usage-ledger.js";
import { FileWriterThread } from "./writer-thread.js";

export interface InteractionStorageOptions {
  /** Receives every saved interaction (after its file is written); closed with the storage. */
  collector?: TrainingCollector;
  /** Most often the index is rewritten while saving. Default 5000 ms. */
  indexIntervalMs?: number;
  /** datasync files and directories (survive power loss, not only a crash). Default false. */
  fsync?: boolean;
}

export class InteractionStorage {
  readonly paths: OutputPaths;
  readonly #collector: TrainingCollector | undefined;
  readonly #intervalMs: number;
  readonly #fsync: boolean;
  readonly #failures: FileAppender;
  readonly #usage: FileAppender;
  /** Interaction files are written on a thread of their own (see writer-thread.ts). */
  readonly #writer = new FileWriterThread();
  /** interaction_id → that entry's JSON (serialised once, at save: refreshes are a join). */
  readonly #entries = new Map<string, string>();
  /** Ids with a record in failures.ndjson; a success for one of them supersedes it. */
  readonly #failedIds = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #opening: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #indexWrite: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #saved = 0;
  #indexWrites = 0;
  /** Interaction files found unreadable while opening (they are redone, then overwritten). */
  readonly corrupt: CorruptFileError[] = [];

  constructor(outputDir: string, options: InteractionStorageOptions = {}) {
    this.paths = outputPaths(outputDir);
    this.#collector = options.collector;
    this.#intervalMs = options.indexIntervalMs ?? 5000;
    this.#fsync = options.fsync ?? false;
    this.#failures = new FileAppender(this.paths.failures, { fsync: this.#fsync });
    this.#usage = new FileAppender(this.paths.usage, { fsync: this.#fsync });
  }

  /** Saved by this instance, and index.json rewrites so far (for progress and tests). */
  get stats(): { saved: number; indexWrites: number; indexed: number } {
    return { saved: this.#saved, indexWrites: this.#indexWrites, indexed: this.#entries.size };
  }

  /** The path an interaction with this id is (or would be) saved at. */
  pathFor(interactionId: string): string {
    return join(this.paths.interactions, interactionFileName(interactionId));
  }

  /** Saves atomically; resolves with the file path once the file (and its usage line) is written. */
  save(interaction: Interaction): Promise<string> {
    return this.#track(async () => {
      const filepath = this.pathFor(interaction.interaction_id);
      await this.#usage.append(ndjsonLine(usageLedgerLine({ kind: "interaction", interaction })));
      await this.#writer.write(filepath, `${JSON.stringify(interaction, null, 2)}\n`, { fsync: this.#fsync });
      this.#entries.set(interaction.interaction_id, JSON.stringify(indexEntryFor(interaction, filepath)));
      this.#saved += 1;
      this.#scheduleIndex();
      if (this.#collector) await this.#collector.add(interaction);
      return filepath;
    });
  }

  /** Appends a failure to failures.ndjson (with its usage); resolves once written. */
  saveFailure(failure: FailureRecord): Promise<void> {
    return this.#track(async () => {
      await this.#usage.append(ndjsonLine(usageLedgerLine({ kind: "failure", failure })));
      await this.#failures.append(ndjsonLine(failure));
      this.#failedIds.add(failure.interaction_id);
    });
  }

  async load(interactionId: string): Promise<Interaction | undefined> {
    try {
      return await readInteractionFile(this.pathFor(interactionId));
    } catch (error) {
      if (isErrno(error, "ENOENT")) return undefined;
      throw error;
    }
  }

  /**
   * Streams saved interactions one at a time (bounded memory), in directory order. A corrupt
   * file throws unless `onCorrupt` is given, in which case it is reported and skipped.
   */
  async *iterate(
    options: { onCorrupt?: (error: CorruptFileError) => void } = {},
  ): AsyncGenerator<Interaction> {
    let dir: Awaited<ReturnType<typeof opendir>>;
    try {
      dir = await opendir(this.paths.interactions);
    } catch (error) {
      if (isErrno(error, "ENOENT")) return;
      throw error;
    }
    for await (const entry of dir) {
      if (!entry.isFile() || !entry.name.endsWith(".json") || entry.name.startsWith(".")) continue;
      try {
        yield await readInteractionFile(join(this.paths.interactions, entry.name));
      } catch (error) {
        if (isErrno(error, "ENOENT")) continue;
        if (error instanceof CorruptFileError && options.onCorrupt) options.onCorrupt(error);
        else throw error;
      }
    }
  }

  async loadAll(): Promise<Interaction[]> {
    const all: Interaction[] = [];
    for await (const interaction of this.iterate()) all.push(interaction);
    return all;
  }

  /** Writes index.json now (after writes already in flight). */
  async flush(): Promise<void> {
    await this.#open();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    this.#clearTimer();
    await this.#writeIndex();
  }

  /**
   * Waits for saves in flight, writes the index, drops failures superseded by a success from
   * failures.ndjson, closes files and the collector. Idempotent; saving afterwards fails.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      this.#clearTimer();
      try {
        if (this.#opening) {
          await this.#opening;
          await this.#writeIndex();
          await this.#failures.close();
          await this.#compactFailures();
        }
      } finally {
        await Promise.allSettled([this.#failures.close(), this.#usage.close(), this.#writer.close()]);
        await this.#collector?.close?.();
      }
    })();
    return this.#closing;
  }

  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new Error(`storage for ${this.paths.dir} is closed`));
    const promise = this.#open().then(work);
    this.#inFlight.add(promise);
    const forget = (): void => {
      this.#inFlight.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  #open(): Promise<void> {
    this.#opening ??= this.#load();
    return this.#opening;
  }

  /**
   * Resume-aware start: the index continues where the last run left it. index.json is only
   * trusted for files that still exist; files it does not list (saved after its last refresh
   * before a crash) are read and added. Leftover temp files are deleted.
   */
  async #load(): Promise<void> {
    await makeFolder(this.paths.interactions);
    const names = await readdir(this.paths.interactions);
    await cleanTempFiles(this.paths.interactions, names);
    await cleanTempFiles(this.paths.dir);
    const files = new Set(names.filter((name) => name.endsWith(".json") && !name.startsWith(".")));
    const byName = new Map<string, IndexEntry>();
    for (const entry of (await readIndex(this.paths.index)) ?? []) {
      const name = interactionFileName(entry.interaction_id);
      if (files.has(name)) byName.set(name, { ...entry, filepath: join(this.paths.interactions, name) });
    }
    const unindexed = [...files].filter((name) => !byName.has(name));
    await forEachSliced(unindexed, (name) => {
      const filepath = join(this.paths.interactions, name);
      try {
        byName.set(name, indexEntryFor(readInteractionFileSync(filepath), filepath));
      } catch (error) {
        if (error instanceof CorruptFileError) this.corrupt.push(error);
        else if (!isErrno(error, "ENOENT")) throw error;
      }
    });
    for (const entry of byName.values()) this.#entries.set(entry.interaction_id, JSON.stringify(entry));
    for await (const line of readNdjson(this.paths.failures)) {
      const id = line.ok ? (line.value as { interaction_id?: unknown } | null)?.interaction_id : undefined;
      if (typeof id === "string") this.#failedIds.add(id);
    }
  }

  #scheduleIndex(): void {
    if (this.#timer || this.#closing) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A failed background refresh is not fatal: the files are the truth, and the next
      // refresh or close() writes the index again (close() reports its error).
      this.#writeIndex().catch(() => undefined);
    }, this.#intervalMs);
    // Never keep the process alive just to refresh a cache.
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Serialised: a refresh never overlaps another. Snapshot taken when its turn comes. */
  #writeIndex(): Promise<void> {
    const run = async (): Promise<void> => {
      const text = renderIndex([...this.#entries.values()], new Date().toISOString());
      await atomicWriteFile(this.paths.index, text, { fsync: this.#fsync });
      this.#indexWrites += 1;
    };
    this.#indexWrite = this.#indexWrite.then(run, run);
    return this.#indexWrite;
  }

  /** Rewrites failures.ndjson without the failures a success now supersedes (atomic). */
  async #compactFailures(): Promise<void> {
    const superseded = [...this.#failedIds].filter((id) => this.#entries.has(id));
    if (superseded.length === 0) return;
    let text: string;
    try {
      text = await readFile(this.paths.failures, "utf8");
    } catch (error) {
      if (isErrno(error, "ENOENT")) return;
      throw error;
    }
    const drop = new Set(superseded);
    const kept = text.split("\n").filter((line) => {
      if (line.trim() === "") return false;
      try {
        const id = (JSON.parse(line) as { interaction_id?: unknown }).interaction_id;
        return !(typeof id === "string" && drop.has(id));
      } catch {
        return true; // keep what we cannot read: this is a log, not ours to judge
      }
    });
    await atomicWriteFile(this.paths.failures, kept.map((line) => `${line}\n`).join(""), {
      fsync: this.#fsync,
    });
  }
}
