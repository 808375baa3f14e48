// Fenced code blocks of the user-facing docs (README.md, docs/*.md), with the docs-test marker
// written right before a fence. A block that cannot run here (it needs the network, a GPU server,
// minutes of CPU, or it is a shape with … in it) says so in the doc itself, so a reader sees
// which examples are checked and the test can fail on any unmarked block it cannot run.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/dist-freshness.js";

export interface DocBlock {
  /** Path relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string (`bash`, `yaml`, …); "" for an untagged block (output, diagrams). */
  lang: string;
  text: string;
  /** `<!-- docs-test: skip (reason) -->` before the fence: the reason; undefined when unmarked. */
  skip?: string;
}

const MARKER = /^<!--\s*docs-test:\s*skip\s*\((.+)\)\s*-->$/;

/** README.md and every docs/*.md, in a stable order. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

export function readDoc(file: string): string {
  return readFileSync(join(ROOT, file), "utf8");
}

export function blocksOf(file: string, markdown = readDoc(file)): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  let open: { line: number; lang: string; indent: number; body: string[]; skip?: string } | undefined;
  lines.forEach((raw, index) => {
    const fence = /^(\s*)```\s*([\w-]*)\s*$/.exec(raw);
    if (!open) {
      if (!fence) return;
      const previous = lines
        .slice(0, index)
        .reverse()
        .find((l) => l.trim() !== "");
      const marker = previous ? MARKER.exec(previous.trim()) : null;
      open = { line: index + 1, lang: fence[2] ?? "", indent: fence[1]?.length ?? 0, body: [] };
      if (marker) open.skip = marker[1];
      return;
    }
    if (fence && fence[2] === "") {
      const block: DocBlock = { file, line: open.line, lang: open.lang, text: open.body.join("\n") };
      if (open.skip !== undefined) block.skip = open.skip;
      blocks.push(block);
      open = undefined;
      return;
    }
    // Blocks inside list items are indented; their content is not.
    open.body.push(raw.slice(Math.min(open.indent, raw.length - raw.trimStart().length)));
  });
  if (open) throw new Error(`${file}:${open.line}: a code fence is never closed`);
  return blocks;
}

export function allBlocks(): DocBlock[] {
  return docFiles().flatMap((file) => blocksOf(file));
}

export const where = (block: DocBlock) => `${block.file}:${block.line}`;

/** One shell command of a block: continuation lines joined, the trailing comment kept apart. */
export interface ShellCommand {
  command: string;
  comment: string;
  /** Lines a `$ `-prompted block shows after its command: what it prints on stdout. */
  expectedOutput?: string;
}

/**
 * Commands of a sh/bash block. A block written as a terminal session (`$ command` then its
 * output) yields the commands with their shown output; otherwise every non-comment line is a
 * command, `\` and a trailing `|` continue it on the next line.
 */
export function shellCommands(text: string): ShellCommand[] {
  const lines = text.split("\n");
  const session = lines.some((l) => l.startsWith("$ "));
  const commands: ShellCommand[] = [];
  let pending = "";
  let output: string[] | undefined;
  const finishOutput = () => {
    const last = commands.at(-1);
    if (last && output) last.expectedOutput = output.join("\n");
    output = undefined;
  };
  for (const raw of lines) {
    if (session && !pending && !raw.startsWith("$ ")) {
      output?.push(raw);
      continue;
    }
    const line = session && !pending ? raw.slice(2) : raw;
    if (!pending && (line.trim() === "" || line.trim().startsWith("#"))) continue;
    const joined = pending ? `${pending} ${line.trim()}` : line.trim();
    if (/\\$/.test(joined) || /\|$/.test(joined)) {
      pending = joined.replace(/\\$/, "").trimEnd();
      continue;
    }
    pending = "";
    if (session) finishOutput();
    const comment = / #\s.*$/.exec(joined);
    commands.push({
      command: comment ? joined.slice(0, comment.index).trim() : joined,
      comment: comment ? comment[0].replace(/^ #\s*/, "") : "",
    });
    if (session) output = [];
  }
  if (session) finishOutput();
  return commands;
}
