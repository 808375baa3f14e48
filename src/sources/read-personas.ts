// readPersonas: personas from a file, stdin, a stream or an async iterable, as a cold RxJS
// Observable. Each subscription opens the input, validates each record with the PersonaInput
// schema (errors name the source, the line and the field), and — given a Backpressure —
// reads the next persona only when the pipeline has room. Unsubscribing stops the reading and
// closes the stream.
import { Observable } from "rxjs";
import { InputError } from "../config/errors.js";
import { describeIssues, problemsToInputError } from "../config/issues.js";
import { type Persona, PersonaInput } from "../schema/persona.js";
import type { Backpressure } from "./backpressure.js";
import { readLines } from "./lines.js";
import { openInput, type PersonaFormat, type PersonaInputSource } from "./open.js";
import { type RawRecord, rawRecords } from "./records.js";
import { duplicateQueryId } from "./tasks.js";

export interface ReadPersonasOptions {
  /** Overrides the format implied by the file extension (or sniffed from the content). */
  format?: PersonaFormat;
  /** Name used in error messages, e.g. "stdin". Defaults to the path, or "stdin". */
  name?: string;
  /** When given, the reader waits for room before reading each next persona. */
  backpressure?: Backpressure;
  /**
   * An input without a single persona (empty, `[]`, only comments) is an InputError ("no
   * personas in FILE") instead of an empty stream: a run given nothing to do says so.
   */
  requireAny?: boolean;
}

function describeRecord(record: RawRecord): string {
  return record.line !== undefined ? `line ${record.line}` : `item ${record.index + 1}`;
}

/** Validates one record; throws InputError naming the source, line and field. */
export function toPersona(record: RawRecord, name: string): Persona {
  const result = PersonaInput.safeParse(record.value);
  if (!result.success) {
    const problems = describeIssues(result.error.issues, {
      schema: PersonaInput,
      raw: record.value,
      vocabulary: "json",
    });
    const firstPath = problems[0]?.path ?? [];
    const line = record.line ?? record.lineOf?.(firstPath);
    // Without a line, the field says which item: `[3].queries[0].original_query`.
    throw problemsToInputError(problems, {
      file: name,
      ...(line !== undefined && { line }),
      ...(line === undefined && { fieldPrefix: [record.index] }),
    });
  }
  const persona = result.data;
  const duplicate = duplicateQueryId(persona.queries);
  if (duplicate) {
    const path = ["queries", duplicate.index, "query_id"];
    const line = record.line ?? record.lineOf?.(path);
    throw new InputError({
      file: name,
      ...(line !== undefined && { line }),
      field: `queries[${duplicate.index}].query_id`,
      message: `duplicate query_id "${duplicate.id}" (also queries[${duplicate.firstIndex}])`,
    });
  }
  return persona;
}

/** Validated personas; a persona_id seen twice is an error naming both places. */
async function* personas(
  input: PersonaInputSource,
  options: ReadPersonasOptions,
  onOpen: (close: () => void) => void,
): AsyncGenerator<Persona, void, undefined> {
  const source = await openInput(input, options.name);
  onOpen(() => source.close());
  const format = options.format ?? source.formatHint;
  // Ids only (not personas) are kept: interaction ids derive from persona_id, so a repeated
  // id would silently merge two personas' conversations.
  const firstSeen = new Map<string, string>();
  for await (const record of rawRecords(readLines(source), source.name, format)) {
    const persona = toPersona(record, source.name);
    const where = describeRecord(record);
    const first = firstSeen.get(persona.persona_id);
    if (first !== undefined) {
      const line = record.line ?? record.lineOf?.(["persona_id"]);
      throw new InputError({
        file: source.name,
        ...(line !== undefined && { line }),
        field: "persona_id",
        message: `duplicate persona_id "${persona.persona_id}" (first at ${first}, again at ${where})`,
        hint: "every persona needs its own persona_id: interaction ids are derived from it",
      });
    }
    firstSeen.set(persona.persona_id, where);
    yield persona;
  }
  if (options.requireAny && firstSeen.size === 0) {
    throw new InputError({
      message: `no personas in ${source.name}`,
      hint: "give one persona per line (JSONL), or a JSON or YAML list of personas (docs/personas.md)",
    });
  }
}

/**
 * Personas from `input`: a file path ("-" for stdin), a Node readable stream, or an async
 * iterable of text chunks. JSONL is streamed; JSON arrays and YAML lists are read whole.
 */
export function readPersonas(
  input: PersonaInputSource,
  options: ReadPersonasOptions = {},
): Observable<Persona> {
  return new Observable<Persona>((subscriber) => {
    let stopped = false;
    let closeSource: (() => void) | undefined;
    const iterator = personas(input, options, (close) => {
      closeSource = close;
      if (stopped) close();
    });
    const pump = async (): Promise<void> => {
      const { backpressure } = options;
      for (;;) {
        if (backpressure) await backpressure.waitForRoom();
        if (stopped) return;
        const next = await iterator.next();
        if (stopped) return;
        if (next.done) {
          subscriber.complete();
          return;
        }
        subscriber.next(next.value);
      }
    };
    pump().catch((error: unknown) => {
      if (!stopped) subscriber.error(error);
    });
    return () => {
      stopped = true;
      closeSource?.();
      iterator.return(undefined).catch(() => undefined);
    };
  });
}
