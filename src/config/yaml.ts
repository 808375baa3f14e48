// YAML with positions: parse errors become InputError with line and column, and any key
// path can be mapped back to the line where the user wrote it, so validation errors point
// at the line too. Shared by the config loader and the YAML persona reader.
// Hostile documents are bad input, never a crash: an alias bomb ("billion laughs") stops at
// MAX_YAML_ALIASES, and nesting deeper than MAX_NESTING_DEPTH is refused before it can
// overflow a recursive walk further on.
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { valueNestedDeeperThan } from "../shared/nesting.js";
import { InputError } from "./errors.js";
import { substituteEnvironment } from "./substitute-env.js";

type PathKey = PropertyKey;

export interface ParsedYaml {
  /** Plain JavaScript value; null for an empty document. */
  value: unknown;
  /** 1-based line of the node at `path` (or of its deepest existing ancestor). */
  lineOf(path: readonly PathKey[]): number | undefined;
}

/** Deepest nesting of mappings and lists (and JSON objects and arrays) accepted in any input. */
export const MAX_NESTING_DEPTH = 64;
/** Aliases resolved in one document; a real config or persona file needs a handful. */
export const MAX_YAML_ALIASES = 100;

/** First line of a parser message, without the code frame the yaml package appends. */
function shortMessage(message: string): string {
  const first = message.split("\n")[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, "").trim();
}

export interface ParseYamlOptions {
  /** Replace `${VAR}` / `${VAR:-default}` in string values from this environment (configs only). */
  readonly substituteFrom?: NodeJS.ProcessEnv;
}

export function parseYaml(
  text: string,
  file: string | undefined,
  options: ParseYamlOptions = {},
): ParsedYaml {
  const at = (line: number | undefined) => ({
    ...(file !== undefined && { file }),
    ...(line !== undefined && { line }),
  });
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    // uniqueKeys (the default) makes a repeated key an error rather than last-one-wins.
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    if (error instanceof RangeError) throw tooDeep(at(undefined));
    throw error;
  }
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    // The parser reports its own stack overflow as a syntax error of the innermost node.
    if (/call stack/i.test(error.message)) throw tooDeep(at(pos.line));
    throw new InputError({
      ...at(pos.line),
      column: pos.col,
      message: `invalid YAML (${shortMessage(error.message)})`,
      ...(error.code === "TAB_AS_INDENT" && { hint: "YAML indentation must use spaces, not tabs" }),
    });
  }
  const lineOf = (path: readonly PathKey[]) => lineOfPath(doc, lineCounter, path);
  const deepPath = pathDeeperThan(doc.contents, MAX_NESTING_DEPTH);
  if (deepPath) throw tooDeep(at(lineOf(deepPath)));
  // On the nodes, before aliases are expanded: an anchored value is substituted once.
  if (options.substituteFrom) {
    substituteEnvironment(doc.contents, {
      env: options.substituteFrom,
      ...(file !== undefined && { file }),
      lineOf: (path) => lineOf(path),
    });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown;
  } catch (error) {
    // The yaml package throws a ReferenceError for "Excessive alias count".
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new InputError({
        ...at(undefined),
        message: `too many YAML aliases (more than ${MAX_YAML_ALIASES} expansions, e.g. an alias bomb)`,
        hint: "write the values out instead of repeating *aliases",
      });
    }
    if (error instanceof RangeError) throw tooDeep(at(undefined));
    throw error;
  }
  // Aliases can stack nesting the node walk above did not see.
  if (valueNestedDeeperThan(value, MAX_NESTING_DEPTH)) throw tooDeep(at(undefined));
  return { value, lineOf };
}

function tooDeep(where: { file?: string; line?: number }): InputError {
  return new InputError({
    ...where,
    message: `nested more than ${MAX_NESTING_DEPTH} levels deep`,
    hint: "flatten the data; no config or persona needs this much nesting",
  });
}

/** The key path of the first node nested deeper than `max` levels, walked without recursion. */
function pathDeeperThan(root: unknown, max: number): PathKey[] | undefined {
  const stack: Array<{ node: unknown; path: PathKey[] }> = [{ node: root, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (isMap(node)) {
      if (path.length >= max) return path;
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? (pair.key.value as PathKey) : String(pair.key);
        stack.push({ node: pair.value, path: [...path, key] });
      }
    } else if (isSeq(node)) {
      if (path.length >= max) return path;
      for (const [index, item] of node.items.entries()) stack.push({ node: item, path: [...path, index] });
    }
  }
  return undefined;
}

function lineOfPath(doc: Document, counter: LineCounter, path: readonly PathKey[]): number | undefined {
  const lineOfNode = (node: { range?: unknown } | null | undefined): number | undefined => {
    const range = node?.range as [number, number, number] | undefined;
    return range ? counter.linePos(range[0]).line : undefined;
  };
  let node: unknown = doc.contents;
  let line = lineOfNode(doc.contents as Node | null);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === key);
      if (!pair) break;
      // The key's own line: for a nested mapping, its value starts on the next line.
      line = lineOfNode(pair.key as Node) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === "number") {
      const item = node.items[key];
      if (item === undefined) break;
      line = lineOfNode(item as Node) ?? line;
      node = item;
    } else {
      break;
    }
  }
  return line;
}
