// Append-only writers for NDJSON files and streams: writes to one target are serialised (never
// two writes in flight on one file), each caller's promise resolves only once its bytes were
// handed to the OS (or datasync'ed), and records that arrive while a write is in flight are
// grouped into the next write ("group commit"), so thousands of records per second cost a
// handful of syscalls instead of thousands.
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { makeFolder } from "../shared/writable-folder.js";
import { fsyncDirectory } from "./atomic-file.js";

type ChunkWriter = (data: string) => Promise<void>;

interface Pending {
  data: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Runs one write at a time over a queue; a failed write fails the writer for good. */
export class SerialWriter {
  readonly #writeChunk: ChunkWriter;
  readonly #maxBatchChars: number;
  #queue: Pending[] = [];
  #running = false;
  #failed = false;
  #failure: unknown;
  #idleWaiters: Array<() => void> = [];

  constructor(writeChunk: ChunkWriter, maxBatchChars = 1 << 20) {
    this.#writeChunk = writeChunk;
    this.#maxBatchChars = maxBatchChars;
  }

  write(data: string): Promise<void> {
    // Sticky failure: after a failed append the file may end in a partial line; writing more
    // after it would bury the problem, so every later write fails loudly too.
    if (this.#failed) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ data, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        // Start on the next microtask so writes issued in the same tick share one syscall.
        queueMicrotask(() => void this.#pump());
      }
    });
  }

  /** Resolves once every write issued so far has settled. */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      let size = 0;
      let count = 0;
      while (count < this.#queue.length && (count === 0 || size < this.#maxBatchChars)) {
        size += this.#queue[count]!.data.length;
        count += 1;
      }
      const batch = this.#queue.splice(0, count);
      try {
        await this.#writeChunk(batch.length === 1 ? batch[0]!.data : batch.map((p) => p.data).join(""));
        for (const pending of batch) pending.resolve();
      } catch (error) {
        this.#failed = true;
        this.#failure = error;
        for (const pending of [...batch, ...this.#queue]) pending.reject(error);
        this.#queue = [];
      }
    }
    this.#running = false;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

export interface FileAppenderOptions {
  /** datasync after every write (group), so records survive power loss, not only a crash. */
  fsync?: boolean;
}

/** Appends to a file through one FileHandle, opened on first use ("a+": created if missing). */
export class FileAppender {
  readonly path: string;
  readonly #fsync: boolean;
  readonly #writer = new SerialWriter((data) => this.#append(data));
  #handle: FileHandle | undefined;
  #needsNewline = false;
  #closed = false;

  constructor(path: string, options: FileAppenderOptions = {}) {
    this.path = path;
    this.#fsync = options.fsync ?? false;
  }

  /** Appends `data` (the caller supplies the trailing newline); resolves once written. */
  append(data: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.path} is closed`));
    return this.#writer.write(data);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#writer.idle();
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  async #append(data: string): Promise<void> {
    const handle = this.#handle ?? (await this.#open());
    // A previous run killed mid-append may have left a partial last line: start on a fresh
    // line so only that one line is lost to readers, not the first record of this run too.
    const text = this.#needsNewline ? `\n${data}` : data;
    this.#needsNewline = false;
    await handle.appendFile(text, "utf8");
    if (this.#fsync) await handle.datasync();
  }

  async #open(): Promise<FileHandle> {
    await makeFolder(dirname(this.path));
    const handle = await open(this.path, "a+");
    try {
      const { size } = await handle.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        this.#needsNewline = last[0] !== 0x0a;
      }
      if (this.#fsync) await fsyncDirectory(dirname(this.path));
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.#handle = handle;
    return handle;
  }
}

/**
 * Appends to a writable stream (process.stdout, a socket, a PassThrough) honouring
 * backpressure: when write() returns false the next write waits for 'drain'. A write counts
 * as done when the stream's callback fires (the bytes left this process's buffers).
 */
export class StreamAppender {
  readonly #stream: NodeJS.WritableStream;
  readonly #writer = new SerialWriter((data) => this.#writeChunk(data));
  #error: { error: unknown } | undefined;
  #closed = false;
  // Held for the appender's lifetime so an 'error' (EPIPE when `| head` exits) never goes
  // unhandled and crashes the process; the next write reports it instead.
  readonly #onError = (error: unknown): void => {
    this.#error ??= { error };
  };

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
    stream.on("error", this.#onError);
  }

  append(data: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the output stream sink is closed"));
    return this.#writer.write(data);
  }

  /** Waits for pending writes; `end` also ends the stream (never do that to process.stdout). */
  async close(end = false): Promise<void> {
    this.#closed = true;
    await this.#writer.idle();
    if (end && !this.#error) {
      await new Promise<void>((resolve) => this.#stream.end(() => resolve()));
    }
    // After an error the stream is dead but may still emit (a second EPIPE): keep swallowing
    // those rather than crash the process; otherwise leave the stream as we found it.
    if (!this.#error) this.#stream.off("error", this.#onError);
  }

  #writeChunk(data: string): Promise<void> {
    const stream = this.#stream;
    if (this.#error) return Promise.reject(this.#error.error);
    return new Promise<void>((resolve, reject) => {
      let written = false;
      let drained = true;
      const cleanup = (): void => {
        stream.off("drain", onDrain);
        stream.off("error", onError);
      };
      const settle = (): void => {
        if (written && drained) {
          cleanup();
          resolve();
        }
      };
      const onDrain = (): void => {
        drained = true;
        settle();
      };
      const onError = (error: unknown): void => {
        cleanup();
        reject(error);
      };
      stream.on("error", onError);
      // Node emits 'drain' before it calls the write callback, so listen before either fires.
      const ok = stream.write(data, (error?: Error | null) => {
        if (error) return onError(error);
        written = true;
        settle();
      });
      if (!ok) {
        drained = false;
        stream.on("drain", onDrain);
      }
    });
  }
}
