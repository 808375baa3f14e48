// The word lists and the default steering table shipped in data/noise/ (package data, made by
// us). Read on first use and kept: nothing happens at import time. The folder is found from this
// module's location: src/noise/ under vitest, dist/src/noise/ after a build.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { SteeringRow } from "../schema/noise.js";

export interface Lexicon {
  /** correct (lowercase) → misspellings. */
  misspellings: ReadonlyMap<string, readonly string[]>;
  /** Frequent words a persona's recurring misspellings are drawn from. */
  habitWords: readonly string[];
  confusions: ReadonlyMap<string, readonly string[]>;
  textisms: ReadonlyArray<readonly [phrase: string, forms: readonly string[]]>;
  segmentation: ReadonlyArray<readonly [phrase: string, forms: readonly string[]]>;
  learner: ReadonlyArray<{ kind: string; phrase: string; rewrites: readonly string[] }>;
  fragments: ReadonlyArray<readonly [opening: string, fragments: readonly string[]]>;
  fillers: { opener: readonly string[]; hedge: readonly string[]; closer: readonly string[] };
  steering: Readonly<Record<string, SteeringRow>>;
}

let cached: Lexicon | undefined;

/** The folder data/noise/ of the installed package. */
export function noiseDataDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, "data", "noise");
    if (existsSync(join(dir, "package.json")) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`convosim: data/noise not found above ${fileURLToPath(import.meta.url)}`);
}

/** Rows of a tab-separated data file; `#` lines and blank lines are comments. */
function rows(file: string): string[][] {
  return readFileSync(join(noiseDataDir(), file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .map((line) => line.split("\t").map((cell) => cell.trim()));
}

const list = (cell: string | undefined) => (cell ?? "").split(",").filter((item) => item !== "");

export function lexicon(): Lexicon {
  if (cached) return cached;
  const misspellings = new Map<string, string[]>();
  const habitWords: string[] = [];
  for (const [word = "", forms, flag] of rows("misspellings.tsv")) {
    const key = word.toLowerCase();
    misspellings.set(key, [...(misspellings.get(key) ?? []), ...list(forms)]);
    if (flag === "habit") habitWords.push(key);
  }
  const pairs = (file: string) => rows(file).map(([phrase = "", forms]) => [phrase, list(forms)] as const);
  const fillers = { opener: [] as string[], hedge: [] as string[], closer: [] as string[] };
  for (const [place, text = ""] of rows("fillers.tsv")) {
    if (place === "opener" || place === "hedge" || place === "closer") fillers[place].push(text);
  }
  const table = parse(readFileSync(join(noiseDataDir(), "steering.yaml"), "utf8")) as Record<string, unknown>;
  const steering: Record<string, SteeringRow> = {};
  for (const [name, row] of Object.entries(table)) steering[name] = SteeringRow.parse(row);
  cached = {
    misspellings,
    habitWords,
    confusions: new Map(pairs("confusions.tsv").map(([w, f]) => [w.toLowerCase(), f])),
    textisms: pairs("textisms.tsv"),
    segmentation: pairs("segmentation.tsv"),
    learner: rows("learner.tsv").map(([kind = "", phrase = "", rewrites]) => ({
      kind,
      phrase,
      rewrites: list(rewrites),
    })),
    fragments: pairs("fragments.tsv"),
    fillers,
    steering,
  };
  return cached;
}

/** Function words: a change to these does not count against the content-word guard rail. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    "a an the and or but if then than so as of at by for from in into on onto to with without " +
    "about over under up down out off is am are was were be been being do does did have has had " +
    "i me my mine we us our you your yours he him his she her it its they them their this that " +
    "these those there here what which who whom whose when where why how not no yes can could " +
    "will would shall should may might must just also too very really please thanks thank ok " +
    "okay hi hey hello some any all each every more most other such only own same again still " +
    "even now get got im i'm it's don't can't doesn't didn't isn't won't i've i'll you're that's " +
    "what's there's let's"
  ).split(" "),
);
