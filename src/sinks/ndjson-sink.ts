// NDJSON output: one result per line, appended (re-running a command adds to the file), each
// line written before the result moves on downstream.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { OperatorFunction } from "rxjs";
import type { ConversationResult, FailureRecord, Interaction } from "../schema/interaction.js";
import { terminalJson } from "../shared/terminal-text.js";
import { FileAppender, StreamAppender } from "./append.js";
import { type PersistOptions, persistEach } from "./persist.js";

export interface NdjsonSinkOptions extends PersistOptions {
  /** File targets: datasync after each write (survives power loss; slower). Default false. */
  fsync?: boolean;
  /** Stream targets: end the stream when the sink completes. Default false (stdout stays open). */
  end?: boolean;
}

/** The line written for a result: the Interaction as-is, or the FailureRecord (status "failed"). */
export function resultRecord(result: ConversationResult): Interaction | FailureRecord {
  return result.kind === "interaction" ? result.interaction : result.failure;
}

/** Serialises one record as a line. JSON.stringify escapes newlines, so a record is one line. */
export function ndjsonLine(record: unknown): string {
  return `${JSON.stringify(record)}\n`;
}

/**
 * Appends every result to `target` as one JSON line and re-emits it once the line is written:
 * for a file path, handed to the OS (or datasync'ed with `fsync`); for a stream, accepted by the
 * stream's callback, waiting for 'drain' whenever the stream pushes back.
 */
export function ndjsonSink(
  target: string | NodeJS.WritableStream,
  options: NdjsonSinkOptions = {},
): OperatorFunction<ConversationResult, ConversationResult> {
  return persistEach<ConversationResult>(() => {
    if (typeof target === "string") {
      const file = new FileAppender(target, { fsync: options.fsync ?? false });
      return {
        write: (result) => file.append(ndjsonLine(resultRecord(result))),
        close: () => file.close(),
      };
    }
    const stream = new StreamAppender(target);
    return {
      // A stream is usually stdout, maybe a terminal: model output's C1 controls and bidi
      // overrides leave as \u escapes (the same record once parsed). Files keep JSON.stringify's bytes.
      write: (result) => stream.append(terminalJson(ndjsonLine(resultRecord(result)))),
      close: () => stream.close(options.end ?? false),
    };
  }, options);
}

/** One line of an NDJSON file: its parsed value, or why it could not be parsed. */
export type NdjsonLine =
  | { line: number; ok: true; value: unknown }
  | { line: number; ok: false; error: string; text: string };

/**
 * Reads an NDJSON file line by line (bounded memory). Blank lines are skipped; a line that is
 * not JSON — e.g. the partial last line of a run that was killed mid-write — is yielded as an
 * error with its line number instead of stopping the read. A missing file yields nothing.
 */
export async function* readNdjson(path: string): AsyncGenerator<NdjsonLine> {
  const input = createReadStream(path, { encoding: "utf8" });
  const opened = new Promise<boolean>((resolve, reject) => {
    input.once("open", () => resolve(true));
    input.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "ENOENT" ? resolve(false) : reject(error),
    );
  });
  if (!(await opened)) return;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  try {
    for await (const text of lines) {
      number += 1;
      if (text.trim() === "") continue;
      try {
        yield { line: number, ok: true, value: JSON.parse(text) as unknown };
      } catch (error) {
        yield { line: number, ok: false, error: (error as Error).message, text: text.slice(0, 200) };
      }
    }
  } finally {
    lines.close();
    input.destroy();
  }
}
