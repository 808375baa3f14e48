// Where exported rows go: JSON lines to a file or a stream (Parquet files: parquet.ts, same
// shape). Each sink takes one record at a time and holds at most a small buffer (a row group
// for Parquet), so an export's memory does not grow with the number of conversations.
import { type FileHandle, open } from "node:fs/promises";
import { terminalJson } from "../shared/terminal-text.js";
import { StreamAppender } from "../sinks/append.js";

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
 * One JSON document per line to a stream (stdout), in chunks like the file sink, honouring the
 * stream's backpressure. A reader that goes away (`| head`: EPIPE) fails the next add() or
 * close() with that error instead of crashing the process or waiting for a 'drain' that never
 * comes. Never ends the target stream (stdout stays usable for the summary's caller).
 */
export class JsonLinesStream implements RowSink<unknown> {
  readonly path = "-";
  readonly #stream: StreamAppender;
  #pending: string[] = [];
  #pendingBytes = 0;

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = new StreamAppender(stream);
  }

  async add(record: unknown): Promise<void> {
    // stdout may be a terminal: C1 controls and bidi overrides in conversation text leave as \u
    // escapes (the same row once parsed), so a terminal shows them instead of acting on them.
    const line = `${terminalJson(JSON.stringify(record))}\n`;
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= CHUNK) await this.#flush();
  }

  async close(): Promise<void> {
    try {
      await this.#flush();
    } finally {
      await this.#stream.close();
    }
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("");
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#stream.append(text);
  }
}
