// Where exported rows go: JSON lines to a file or a stream (Parquet files: parquet.ts, same
// shape). Each sink takes one record at a time and holds at most a small buffer (a row group
// for Parquet), so an export's memory does not grow with the number of conversations.
import { once } from "node:events";
import { type FileHandle, open } from "node:fs/promises";
import type { Transform } from "node:stream";
import ndjson from "ndjson";

export interface RowSink<T> {
  /** The file written, or "-" for a stream. */
  readonly path: string;
  add(record: T): Promise<void>;
  /** Flushes and closes; the sink writes nothing afterwards. */
  close(): Promise<void>;
}

/** Bytes gathered before a write to the file: few syscalls, small memory. */
const CHUNK = 1 << 16;

/** One JSON document per line, to a file (created or truncated). */
export class JsonLinesFile implements RowSink<unknown> {
  readonly path: string;
  #file: FileHandle | undefined;
  #pending: string[] = [];
  #pendingBytes = 0;

  constructor(path: string) {
    this.path = path;
  }

  async add(record: unknown): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= CHUNK) await this.#flush();
  }

  async close(): Promise<void> {
    try {
      await this.#flush();
    } finally {
      await this.#file?.close();
      this.#file = undefined;
    }
  }

  async #flush(): Promise<void> {
    // Opened on first flush (at the latest on close), so an empty export still leaves a file.
    this.#file ??= await open(this.path, "w");
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("");
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#file.write(text);
  }
}

/**
 * One JSON document per line to a stream (stdout), through ndjson's serializer: its transform
 * writes each record as a line, and the pipe honours the stream's backpressure. Never ends the
 * target stream (stdout stays usable for the summary's caller).
 */
export class JsonLinesStream implements RowSink<unknown> {
  readonly path = "-";
  readonly #serializer: Transform;
  readonly #piped: Promise<void>;

  constructor(stream: NodeJS.WritableStream) {
    this.#serializer = ndjson.stringify() as Transform;
    this.#serializer.pipe(stream, { end: false });
    // Resolves once every line has left the serializer (it ends after close()).
    this.#piped = once(this.#serializer, "end").then(() => undefined);
  }

  async add(record: unknown): Promise<void> {
    if (!this.#serializer.write(record)) await once(this.#serializer, "drain");
  }

  async close(): Promise<void> {
    this.#serializer.end();
    await this.#piped;
  }
}
