// Whole-file atomic writes (atomic-file.ts's protocol: a temp file in the same folder, then a
// rename) made on a thread of their own, with synchronous calls there.
//
// Why a thread: through libuv's pool, one file is four hops (open, write, close, rename), each a
// hand-over to a pool thread and a wake-up of the event loop. The same four calls made
// synchronously cost ≈25 µs of CPU per file on tmpfs; on the event loop they would stall every
// conversation while a slow disk creates a file, on this thread they stall nothing. Files handed
// over in the same turn of the event loop travel in one message, so with 16 files in flight a
// file cost ≈40 µs of CPU this way against 64–93 µs through the pool (one file at a time, both
// pay a wake-up per file: 130–170 against 180–220 µs; `node dist/bench/files-micro.js`).
//
// The temp name is drawn here (tempPathFor), so cleanTempFiles knows a live writer's files
// from a dead one's exactly as before. The thread holds the process open only while writes are
// in flight.
import { Worker } from "node:worker_threads";
import { tempPathFor } from "./atomic-file.js";

interface WriteJob {
  id: number;
  target: string;
  temp: string;
  data: string;
  fsync: boolean;
}

interface WriteOutcome {
  id: number;
  error?: { message: string; code?: string };
}

// An ES module loaded from a data: URL: no file to locate next to the compiled module (the tests
// run the TypeScript sources), nothing to import but node:*, and the same meaning whatever flags
// the process runs with (eval'd code would be CommonJS or not depending on --input-type).
const WORKER_SOURCE = `
import { parentPort } from "node:worker_threads";
import * as fs from "node:fs";
import * as path from "node:path";

function syncDirectory(dir) {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    if (!["EISDIR", "EINVAL", "EPERM", "EBADF"].includes(error.code)) throw error;
  } finally {
    fs.closeSync(fd);
  }
}

function write(job) {
  const fd = fs.openSync(job.temp, "wx");
  try {
    try {
      fs.writeFileSync(fd, job.data);
      if (job.fsync) fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(job.temp, job.target);
  } catch (error) {
    try { fs.unlinkSync(job.temp); } catch {}
    throw error;
  }
  if (job.fsync) syncDirectory(path.dirname(job.target));
}

parentPort.on("message", (jobs) => {
  const outcomes = [];
  for (const job of jobs) {
    try {
      write(job);
      outcomes.push({ id: job.id });
    } catch (error) {
      outcomes.push({ id: job.id, error: { message: String(error && error.message), code: error && error.code } });
    }
  }
  parentPort.postMessage(outcomes);
});
`;

export interface ThreadWriteOptions {
  /** datasync the file and fsync its folder (survives power loss, not only a crash). */
  fsync?: boolean;
}

export class FileWriterThread {
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #queued: WriteJob[] = [];
  #idle: Array<() => void> = [];
  #closed = false;

  /** Writes `data` to `target` atomically; resolves once the file has its final name. */
  write(target: string, data: string, options: ThreadWriteOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`cannot write ${target}: the writer thread is closed`));
    const worker = this.#start();
    return new Promise<void>((resolve, reject) => {
      const id = ++this.#nextId;
      if (this.#waiting.size === 0) worker.ref(); // writes in flight keep the process alive
      this.#waiting.set(id, { resolve, reject });
      this.#queued.push({ id, target, temp: tempPathFor(target), data, fsync: options.fsync ?? false });
      // Everything handed over in this turn goes in one message.
      if (this.#queued.length === 1) queueMicrotask(() => this.#send());
    });
  }

  /** Waits for writes in flight, then stops the thread. Idempotent; later writes are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#waiting.size > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`));
    worker.unref();
    worker.on("message", (outcomes: WriteOutcome[]) => this.#receive(outcomes));
    // The thread itself failed (not a write: those come back as outcomes): every write waiting
    // fails with it, and the next write starts a new thread.
    worker.on("error", (error) => this.#failAll(error));
    worker.on("exit", (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      if (this.#waiting.size > 0) this.#failAll(new Error(`the writer thread stopped (exit code ${code})`));
    });
    this.#worker = worker;
    return worker;
  }

  #send(): void {
    const jobs = this.#queued;
    this.#queued = [];
    if (jobs.length > 0) this.#start().postMessage(jobs);
  }

  #receive(outcomes: WriteOutcome[]): void {
    for (const outcome of outcomes) {
      const waiter = this.#waiting.get(outcome.id);
      if (!waiter) continue;
      this.#waiting.delete(outcome.id);
      if (outcome.error) waiter.reject(writeError(outcome.error));
      else waiter.resolve();
    }
    this.#whenIdle();
  }

  #failAll(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    this.#queued = [];
    for (const waiter of waiting) waiter.reject(failure);
    this.#whenIdle();
  }

  #whenIdle(): void {
    if (this.#waiting.size > 0) return;
    this.#worker?.unref();
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}

/** The thread's error as an Error with its errno code (ENOSPC, EACCES, …), as fs would throw it. */
function writeError(error: { message: string; code?: string }): Error {
  return Object.assign(new Error(error.message), error.code ? { code: error.code } : {});
}
