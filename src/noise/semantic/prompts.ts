// The semantic layers' prompt templates: prompts/noise-rewrite.md and prompts/noise-verify.md
// at the package root, or text passed in. noise/ may not import conversation/templates.ts, so
// this is a small reader of its own (same {{placeholder}} syntax).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface SemanticPrompts {
  rewrite: string;
  verify: string;
}

let root: string | undefined;

// Walks up from this file (src/noise/semantic or dist/src/noise/semantic) to the package root.
function promptsDir(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "prompts"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("convosim: cannot find the package's prompts/ folder");
    dir = parent;
  }
  root = join(dir, "prompts");
  return root;
}

let defaults: SemanticPrompts | undefined;

/** The built-in templates, read once on first use (never at import time). */
export function defaultSemanticPrompts(): SemanticPrompts {
  defaults ??= {
    rewrite: readFileSync(join(promptsDir(), "noise-rewrite.md"), "utf8"),
    verify: readFileSync(join(promptsDir(), "noise-verify.md"), "utf8"),
  };
  return defaults;
}

/** Replaces {{name}} with values[name] (unknown ones become empty) and collapses blank runs. */
export function render(template: string, values: Readonly<Record<string, string>>): string {
  return template
    .replace(/\{\{\s*([a-z_]+)\s*\}\}/gi, (_match, name: string) => values[name] ?? "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** "role: engineer; communication_style: casual": enough for the rewrite to keep the voice. */
export function personaLine(features: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(features)) {
    if (value === null || value === undefined || value === "") continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    parts.push(`${key}: ${text}`);
  }
  return parts.length > 0 ? parts.join("; ") : "(no details given)";
}
