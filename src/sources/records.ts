// Lines → raw persona records, each with where it came from. JSONL is streamed record by
// record; a JSON array or a YAML list is read whole (those formats cannot be parsed in parts)
// and then handed out one by one. With no format given, the first significant line decides.
import { parseDocument } from "yaml";
import { InputError } from "../config/errors.js";
import { MAX_NESTING_DEPTH, parseYaml } from "../config/yaml.js";
import { jsonNestingOffset } from "../shared/nesting.js";
import type { TextLine } from "./lines.js";
import type { PersonaFormat } from "./open.js";

export interface RawRecord {
  value: unknown;
  /** 0-based position in the input. */
  index: number;
  /** JSONL: the record's line. */
  line?: number;
  /** JSON/YAML: the line of a key path inside this record, when it can be found. */
  lineOf?: (path: readonly PropertyKey[]) => number | undefined;
}

type Lines = AsyncGenerator<TextLine, void, undefined>;

/**
 * A JSON or YAML personas file is parsed whole, so its size is capped (docs/personas.md); JSONL
 * is streamed and has no total limit. YAML's document tree takes far more memory per byte.
 */
export const MAX_DOCUMENT_CHARS: Readonly<Record<"json" | "yaml", number>> = {
  json: 64 * 1024 * 1024,
  yaml: 16 * 1024 * 1024,
};

/** Refuses JSON nested deeper than MAX_NESTING_DEPTH before JSON.parse or a walk can overflow. */
function checkJsonNesting(text: string, name: string, firstLine: number): void {
  const offset = jsonNestingOffset(text, MAX_NESTING_DEPTH);
  if (offset === -1) return;
  const before = text.slice(0, offset);
  throw new InputError({
    file: name,
    line: firstLine + before.split("\n").length - 1,
    message: `nested more than ${MAX_NESTING_DEPTH} levels deep`,
    hint: "flatten the data; no persona needs this much nesting",
  });
}

/** Keeps a parser message short: V8 quotes the offending text, which can be long. */
function clip(message: string, max = 120): string {
  const first = message.split("\n")[0] ?? message;
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

/** Guesses the format from the first line that is neither blank nor a `#` comment. */
export function sniffFormat(firstLine: string, name: string, lineNumber: number): PersonaFormat {
  const text = firstLine.trim();
  if (text.startsWith("[")) return "json";
  // One complete object on the line is JSONL; a lone "{" opens a pretty-printed JSON object.
  if (text.startsWith("{")) return text.endsWith("}") ? "jsonl" : "json";
  if (text.startsWith("-") || /^["']?[\w-]+["']?\s*:/.test(text)) return "yaml";
  throw new InputError({
    file: name,
    line: lineNumber,
    message: "cannot tell whether this is JSONL, JSON or YAML",
    hint: "use a .jsonl, .json or .yaml file name, or give the format explicitly",
  });
}

async function* prepend(first: readonly TextLine[], rest: Lines): Lines {
  try {
    yield* first;
    yield* rest;
  } finally {
    await rest.return();
  }
}

/** One record per line; blank lines and lines starting with `#` are skipped. */
async function* jsonlRecords(lines: Lines, name: string): AsyncGenerator<RawRecord, void, undefined> {
  let index = 0;
  for await (const line of lines) {
    const text = line.text.trim();
    if (text === "" || text.startsWith("#")) continue;
    checkJsonNesting(text, name, line.number);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InputError({
        file: name,
        line: line.number,
        message: `invalid JSON (${clip(String((error as Error).message))})`,
      });
    }
    yield { value, index: index++, line: line.number };
  }
}

/** The line of a key path in a JSON text, found by reading it as YAML (JSON is YAML 1.2). */
function jsonLineLookup(text: string): (path: readonly PropertyKey[]) => number | undefined {
  let lookup: ((path: readonly PropertyKey[]) => number | undefined) | null | undefined;
  return (path) => {
    if (lookup === undefined) {
      try {
        lookup = parseYaml(text, undefined).lineOf;
      } catch {
        lookup = null;
      }
    }
    return lookup ? lookup(path) : undefined;
  };
}

/** Line and column of a JSON syntax error: from V8's "at position N", else from the YAML parser. */
function jsonErrorLine(text: string, message: string): { line?: number; column?: number } {
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position !== undefined) {
    const before = text.slice(0, Number(position));
    return { line: before.split("\n").length, column: Number(position) - before.lastIndexOf("\n") };
  }
  const doc = parseDocument(text, { prettyErrors: false });
  const pos = doc.errors[0]?.linePos?.[0];
  return pos ? { line: pos.line, column: pos.col } : {};
}

function toList(value: unknown, name: string, format: PersonaFormat): unknown[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value;
  // A single persona on its own is accepted as a list of one.
  if (typeof value === "object") return [value];
  const kind = format === "yaml" ? "a list of personas" : "an array of personas";
  throw new InputError({ file: name, line: 1, message: `expected ${kind} (got ${typeof value})` });
}

async function* wholeFileRecords(
  lines: Lines,
  name: string,
  format: "json" | "yaml",
): AsyncGenerator<RawRecord> {
  const parts: string[] = [];
  let size = 0;
  const limit = MAX_DOCUMENT_CHARS[format];
  for await (const line of lines) {
    size += line.text.length + 1;
    if (size > limit) {
      throw new InputError({
        file: name,
        message: `is larger than ${limit / (1024 * 1024)} MiB, the limit for a ${format === "json" ? "JSON" : "YAML"} personas file`,
        hint: "write the personas as JSONL (one per line), which is read as it streams",
      });
    }
    parts.push(line.text);
  }
  const text = parts.join("\n");
  let value: unknown;
  let lineOf: (path: readonly PropertyKey[]) => number | undefined;
  if (format === "json") {
    if (text.trim() === "") return;
    checkJsonNesting(text, name, 1);
    try {
      value = JSON.parse(text);
    } catch (error) {
      const message = String((error as Error).message);
      throw new InputError({
        file: name,
        ...jsonErrorLine(text, message),
        message: `invalid JSON (${clip(message)})`,
      });
    }
    lineOf = jsonLineLookup(text);
  } else {
    const parsed = parseYaml(text, name);
    value = parsed.value;
    lineOf = parsed.lineOf;
  }
  const items = toList(value, name, format);
  const nested = Array.isArray(value);
  for (const [index, item] of items.entries()) {
    yield { value: item, index, lineOf: (path) => lineOf(nested ? [index, ...path] : path) };
  }
}

/** Raw records from `lines` in the given format, or the one the content suggests. */
export async function* rawRecords(
  lines: Lines,
  name: string,
  format: PersonaFormat | undefined,
): AsyncGenerator<RawRecord, void, undefined> {
  let chosen = format;
  const seen: TextLine[] = [];
  try {
    while (chosen === undefined) {
      const next = await lines.next();
      if (next.done) return; // empty input: no personas
      seen.push(next.value);
      const text = next.value.text.trim();
      if (text !== "" && !text.startsWith("#")) chosen = sniffFormat(text, name, next.value.number);
    }
    const all = prepend(seen, lines);
    if (chosen === "jsonl") yield* jsonlRecords(all, name);
    else yield* wholeFileRecords(all, name, chosen);
  } finally {
    await lines.return();
  }
}
