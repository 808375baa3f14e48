// The files of the segment cache: their names, the writer that appends to this instance's own
// segment (creating, rotating and syncing it), and a small pool of read fds.
//
// Imports only node:* (see entry.ts for why).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

// The callback fs API: fs/promises' FileHandle costs about twice the CPU per operation.
const openFile = promisify(fs.open);
const writeFd = promisify(fs.write);
const datasync = promisify(fs.fdatasync);
const fsyncFd = promisify(fs.fsync);
const closeFd = promisify(fs.close);

const SEGMENT_NAME = /^[0-9a-f]+-\d+-[0-9a-f]+\.log$/;

/** `<µs since epoch, 14 hex digits>-<pid>-<random>.log`: sorts by creation time, unique. */
export function segmentName(): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return `${micros.toString(16).padStart(14, "0")}-${process.pid}-${randomBytes(4).toString("hex")}.log`;
}

/** The segment files of a folder, oldest first. Throws as readdir does (ENOENT: no cache yet). */
export function listSegments(segmentsDir: string): string[] {
  return fs
    .readdirSync(segmentsDir)
    .filter((name) => SEGMENT_NAME.test(name))
    .sort();
}

/** Makes a new name in `dir` durable; platforms that refuse fsync on a directory gain nothing more. */
async function syncDirectory(dir: string): Promise<void> {
  const fd = await openFile(dir, "r");
  try {
    await fsyncFd(fd);
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms and file systems
  } finally {
    await closeFd(fd);
  }
}

export interface SegmentWriterOptions {
  fsync: boolean;
  maxBytes: number;
}

/** Appends to segments of its own, one at a time; not safe for overlapping appends (the cache never overlaps them). */
export class SegmentWriter {
  readonly #dir: string;
  readonly #segmentsDir: string;
  readonly #options: SegmentWriterOptions;
  #current: { fd: number; path: string; size: number } | undefined;

  constructor(dir: string, options: SegmentWriterOptions) {
    this.#dir = dir;
    this.#segmentsDir = join(dir, "segments");
    this.#options = options;
  }

  /**
   * Writes `data` at the end of the current segment (a new one when there is none, or when the
   * data would take it past maxBytes) and says where it went. With fsync, it is on disk when this
   * resolves. When the write fails, the segment is ended first: the part of `data` that may have
   * landed stays at the end of a segment, where every reader expects torn bytes.
   */
  async append(data: Buffer): Promise<{ path: string; offset: number }> {
    const current = this.#current;
    if (current && current.size > 0 && current.size + data.length > this.#options.maxBytes) await this.end();
    const segment = this.#current ?? (await this.#create());
    try {
      for (let at = 0; at < data.length; )
        at += (await writeFd(segment.fd, data, at, data.length - at, null)).bytesWritten;
      if (this.#options.fsync) await datasync(segment.fd);
    } catch (error) {
      await this.end();
      throw error;
    }
    const offset = segment.size;
    segment.size += data.length;
    return { path: segment.path, offset };
  }

  /** Closes the current segment; the next append starts a new one. */
  async end(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    if (current) await closeFd(current.fd).catch(() => undefined);
  }

  async #create(): Promise<{ fd: number; path: string; size: number }> {
    const created = await mkdir(this.#segmentsDir, { recursive: true });
    const path = join(this.#segmentsDir, segmentName());
    // "ax": append-only (every write lands at the end), and never an existing file.
    const fd = await openFile(path, "ax");
    this.#current = { fd, path, size: 0 };
    if (this.#options.fsync) {
      await syncDirectory(this.#segmentsDir);
      if (created !== undefined) await syncDirectory(this.#dir);
    }
    return this.#current;
  }
}

/** Read fds of segments, at most `max` open (the least recently used is closed). */
export class SegmentReaders {
  readonly #max: number;
  readonly #open = new Map<string, number>();
  #closed = false;

  constructor(max = 32) {
    this.#max = max;
  }

  /** Takes over an fd already open on `path` (the scan's). */
  adopt(path: string, fd: number): void {
    if (this.#closed) {
      fs.closeSync(fd);
      return;
    }
    this.#open.set(path, fd);
    if (this.#open.size > this.#max) {
      const [oldest, oldestFd] = this.#open.entries().next().value as [string, number];
      this.#open.delete(oldest);
      fs.closeSync(oldestFd);
    }
  }

  /** `length` bytes at `offset` as text (fewer if the file is shorter). Throws as open/read do. */
  read(path: string, offset: number, length: number): string {
    let fd = this.#open.get(path);
    if (fd === undefined) fd = fs.openSync(path, "r");
    else this.#open.delete(path); // re-inserted below: most recently used
    const bytes = Buffer.allocUnsafe(length);
    let read: number;
    try {
      read = fs.readSync(fd, bytes, 0, length, offset);
    } finally {
      this.adopt(path, fd);
    }
    return bytes.toString("utf8", 0, read);
  }

  /** Closes every fd; later reads open and close their own. */
  close(): void {
    this.#closed = true;
    for (const fd of this.#open.values()) fs.closeSync(fd);
    this.#open.clear();
  }
}
