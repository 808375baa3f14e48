// Opens whatever personas come from — a file path, "-" for stdin, a Node stream, an async
// iterable of strings — as one ChunkSource, and guesses the format from the file extension.
// Opening is lazy (called on subscribe), so creating a reader does no work at all.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname } from "node:path";
import { InputError } from "../config/errors.js";
import type { ChunkSource } from "./lines.js";

export type PersonaFormat = "jsonl" | "json" | "yaml";
export const PERSONA_FORMATS: readonly PersonaFormat[] = ["jsonl", "json", "yaml"];

export type PersonaInputSource = string | NodeJS.ReadableStream | AsyncIterable<string>;

const EXTENSIONS: Record<string, PersonaFormat> = {
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".jsonlines": "jsonl",
  ".json": "json",
  ".yaml": "yaml",
  ".yml": "yaml",
};

/** The format a file name implies, or undefined (then the content decides). */
export function formatFromPath(path: string): PersonaFormat | undefined {
  return EXTENSIONS[extname(path).toLowerCase()];
}

export interface OpenedInput extends ChunkSource {
  formatHint: PersonaFormat | undefined;
}

function isNodeStream(input: unknown): input is NodeJS.ReadableStream & { destroy?: () => void } {
  return typeof (input as NodeJS.ReadableStream).pipe === "function";
}

function fromIterable(
  name: string,
  iterable: AsyncIterable<unknown>,
  destroy: (() => void) | undefined,
): ChunkSource {
  const chunks = iterable[Symbol.asyncIterator]();
  let closed = false;
  return {
    name,
    chunks,
    close() {
      if (closed) return;
      closed = true;
      // Destroying a stream ends a read that is waiting for data; return() alone would
      // wait behind it (an async generator queues return() after a pending next()).
      destroy?.();
      chunks.return?.().catch(() => undefined);
    },
  };
}

async function openFile(path: string, name: string): Promise<OpenedInput> {
  try {
    const info = await stat(path);
    if (info.isDirectory())
      throw new InputError({ file: name, message: "is a directory, not a persona file" });
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError({
      file: name,
      message:
        code === "ENOENT"
          ? "file not found"
          : code === "EACCES"
            ? "permission denied"
            : `cannot open (${code})`,
    });
  }
  const stream = createReadStream(path);
  return { ...fromIterable(name, stream, () => stream.destroy()), formatHint: formatFromPath(path) };
}

/** Opens `input` for reading; throws InputError for a missing or unreadable file. */
export async function openInput(input: PersonaInputSource, name?: string): Promise<OpenedInput> {
  if (typeof input === "string") {
    if (input === "-") return openInput(process.stdin, name ?? "stdin");
    return openFile(input, name ?? input);
  }
  if (isNodeStream(input)) {
    const label = name ?? (input === process.stdin ? "stdin" : "input stream");
    const destroy = typeof input.destroy === "function" ? () => input.destroy?.() : undefined;
    return { ...fromIterable(label, input as AsyncIterable<unknown>, destroy), formatHint: undefined };
  }
  return { ...fromIterable(name ?? "input", input, undefined), formatHint: undefined };
}
