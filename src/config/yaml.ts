// YAML with positions: parse errors become InputError with line and column, and any key
// path can be mapped back to the line where the user wrote it, so validation errors point
// at the line too. Shared by the config loader and the YAML persona reader.
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { InputError } from "./errors.js";

type PathKey = PropertyKey;

export interface ParsedYaml {
  /** Plain JavaScript value; null for an empty document. */
  value: unknown;
  /** 1-based line of the node at `path` (or of its deepest existing ancestor). */
  lineOf(path: readonly PathKey[]): number | undefined;
}

/** First line of a parser message, without the code frame the yaml package appends. */
function shortMessage(message: string): string {
  const first = message.split("\n")[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, "").trim();
}

export function parseYaml(text: string, file: string | undefined): ParsedYaml {
  const lineCounter = new LineCounter();
  // uniqueKeys (the default) makes a repeated key an error rather than last-one-wins.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    throw new InputError({
      ...(file !== undefined && { file }),
      line: pos.line,
      column: pos.col,
      message: `invalid YAML (${shortMessage(error.message)})`,
      ...(error.code === "TAB_AS_INDENT" && { hint: "YAML indentation must use spaces, not tabs" }),
    });
  }
  // maxAliasCount (default 100) stops "billion laughs" alias bombs.
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  return { value, lineOf: (path) => lineOfPath(doc, lineCounter, path) };
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
