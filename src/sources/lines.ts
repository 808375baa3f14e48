// Bytes (or strings) → numbered text lines, pulling one chunk at a time.
//
// Why not node:readline? Its async iterator reads ahead up to 1024 lines before it pauses the
// input, so with a small high-water mark the source would still race ahead of the pipeline.
// Here a chunk is pulled only when the consumer asks for the next line, so an idle consumer
// stops the reading (the stream's own buffer — 64 KiB for files — is the only read-ahead).
import { InputError } from "../config/errors.js";
import { invalidUtf8Offset, truncatedTail } from "../shared/utf8.js";

/** How much of the start of an input is checked for "is this text at all?". */
const SNIFF_BYTES = 1024;
/** A longer line is almost certainly not a persona; refuse rather than buffer without bound. */
export const MAX_LINE_CHARS = 16 * 1024 * 1024;

export interface TextLine {
  text: string;
  /** 1-based. */
  number: number;
}

/** Where lines come from: an iterator of chunks, and how to stop it early. */
export interface ChunkSource {
  /** For messages: the path as given, "stdin", … */
  name: string;
  chunks: AsyncIterator<unknown>;
  /** Stops the reading and releases the stream (idempotent). */
  close(): void;
}

function notText(name: string, bytes?: Uint8Array): InputError {
  const utf16 =
    bytes &&
    bytes.length >= 2 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
  return new InputError({
    file: name,
    message: "does not look like a text file",
    hint: utf16
      ? "it looks like UTF-16; convert it to UTF-8"
      : "personas are read as UTF-8 JSONL, JSON or YAML",
  });
}

/** Node's own read errors (EIO, EACCES, …) become InputError; anything else passes through. */
function readFailure(name: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) {
    return new InputError({ file: name, message: `cannot read (${code})` }, { cause: error });
  }
  return error;
}

/**
 * The 1-based line of the first invalid byte in `chunk`, given the lines already counted and
 * `carry`, the start of a character the previous chunk cut off. Newline bytes never occur inside
 * a multi-byte character, so counting them up to the bad byte is exact.
 */
function invalidLine(chunk: Uint8Array, carry: Uint8Array, linesBefore: number): number {
  const joined = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
  const offset = invalidUtf8Offset(joined, true);
  const end = offset === -1 ? 0 : Math.max(0, offset - carry.length);
  let newlines = 0;
  for (let i = 0; i < end; i++) if (chunk[i] === 0x0a) newlines += 1;
  return linesBefore + 1 + newlines;
}

/** The bytes at the end of `chunk` (after `carry`) that begin a character not yet complete. */
function nextCarry(chunk: Uint8Array, carry: Uint8Array): Uint8Array {
  // A chunk shorter than a character can continue one begun two chunks back.
  const joined = chunk.length < 4 && carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
  return joined.subarray(joined.length - truncatedTail(joined));
}

export async function* readLines(source: ChunkSource): AsyncGenerator<TextLine, void, undefined> {
  const { name } = source;
  // fatal: invalid UTF-8 is an error, not silently replaced; the BOM is dropped.
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending = "";
  let lineNumber = 0;
  let seen = 0; // bytes (or chars) consumed so far, for the first-KiB check
  let carry: Uint8Array = new Uint8Array(0); // a character cut off by the end of the last chunk
  try {
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await source.chunks.next();
      } catch (error) {
        throw readFailure(name, error);
      }
      if (next.done) break;
      const chunk = next.value;
      let text: string;
      if (typeof chunk === "string") {
        if (seen < SNIFF_BYTES && chunk.slice(0, SNIFF_BYTES - seen).includes("\0")) throw notText(name);
        text = chunk;
        seen += chunk.length;
      } else if (chunk instanceof Uint8Array) {
        if (seen < SNIFF_BYTES && chunk.subarray(0, SNIFF_BYTES - seen).includes(0))
          throw notText(name, chunk);
        try {
          text = decoder.decode(chunk, { stream: true });
        } catch {
          if (seen < SNIFF_BYTES && !validUtf8Prefix(chunk.subarray(0, SNIFF_BYTES - seen))) {
            throw notText(name, chunk);
          }
          throw new InputError({
            file: name,
            line: invalidLine(chunk, carry, lineNumber),
            message: "invalid UTF-8 text",
            hint: "save the file as UTF-8",
          });
        }
        carry = nextCarry(chunk, carry);
        seen += chunk.length;
      } else {
        throw new TypeError(`${name}: expected text or bytes from the input, got ${typeof chunk}`);
      }
      // Only the new text can hold a newline: the old remainder had none.
      const searchFrom = pending.length;
      pending += text;
      let start = 0;
      for (
        let newline = pending.indexOf("\n", searchFrom);
        newline !== -1;
        newline = pending.indexOf("\n", start)
      ) {
        lineNumber += 1;
        const line = pending.slice(start, newline);
        start = newline + 1;
        yield { text: line.endsWith("\r") ? line.slice(0, -1) : line, number: lineNumber };
      }
      pending = pending.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        throw new InputError({ file: name, line: lineNumber + 1, message: "line is longer than 16 MiB" });
      }
    }
    try {
      pending += decoder.decode();
    } catch {
      throw new InputError({
        file: name,
        line: lineNumber + 1,
        message: "invalid UTF-8 text (truncated character at the end)",
      });
    }
    if (pending.length > 0) {
      lineNumber += 1;
      yield { text: pending.endsWith("\r") ? pending.slice(0, -1) : pending, number: lineNumber };
    }
  } finally {
    source.close();
  }
}

/** True when `bytes` is valid UTF-8, allowing a character cut off at the end. */
function validUtf8Prefix(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}
