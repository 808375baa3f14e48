// Prompt templates: plain text files with {{placeholders}}. The defaults live in prompts/
// at the package root; a config may point at its own files instead.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

let cachedRoot: string | undefined;

/** The package root (where package.json and prompts/ live), from src/ or from dist/src/. */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "prompts"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("convosim: cannot find the package root (prompts/ folder missing)");
    dir = parent;
  }
  cachedRoot = dir;
  return dir;
}

const templateCache = new Map<string, string>();

/** Reads a template by default name ("user_simulator") or by explicit file path. */
export function loadTemplate(nameOrPath: string): string {
  const path =
    nameOrPath.includes("/") || nameOrPath.includes(".")
      ? resolve(nameOrPath)
      : join(packageRoot(), "prompts", `${nameOrPath}.md`);
  let text = templateCache.get(path);
  if (text === undefined) {
    text = readFileSync(path, "utf8");
    templateCache.set(path, text);
  }
  return text;
}

/** Replaces {{name}} with values[name]; unknown placeholders become empty. Collapses blank runs. */
export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template
    .replace(/\{\{\s*([a-z_]+)\s*\}\}/gi, (_match, name: string) => String(values[name] ?? ""))
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
