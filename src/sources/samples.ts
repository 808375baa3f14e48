// The built-in sample personas (data/sample-personas.jsonl), for trying convosim without a
// persona file and for tests. The file is found from this module's own location, which is
// src/sources/ under vitest and dist/src/sources/ after a build: walk up to the package root.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../config/errors.js";
import type { Persona } from "../schema/persona.js";
import { toPersona } from "./read-personas.js";

const SAMPLE_FILE = join("data", "sample-personas.jsonl");

/** The path of data/sample-personas.jsonl in the installed package. */
export function samplePersonasPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, SAMPLE_FILE);
    if (existsSync(join(dir, "package.json")) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`convosim: ${SAMPLE_FILE} not found above ${fileURLToPath(import.meta.url)}`);
}

/** The sample personas, freshly parsed on every call (callers may mutate them). */
export function samplePersonas(): Persona[] {
  const path = samplePersonasPath();
  const personas: Persona[] = [];
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((text, index) => {
      const line = text.trim();
      if (line === "" || line.startsWith("#")) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new InputError({
          file: path,
          line: index + 1,
          message: `invalid JSON (${(error as Error).message})`,
        });
      }
      personas.push(toPersona({ value, index: personas.length, line: index + 1 }, path));
    });
  return personas;
}
