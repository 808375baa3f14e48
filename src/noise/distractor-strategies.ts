// The distractor's strategy settings: built-in defaults, then the strategy file
// (distractor.strategy_path, YAML or JSON), then distractor.strategies of the config, name by
// name. The reference's strategy names are accepted; an unknown name or key is an error that
// names the file, the key and the fix, before any conversation starts.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { type LayerWeights, StrategySetting } from "../schema/noise.js";
import { semanticStrategies, semanticStrategy } from "./semantic/strategies.js";

/** A bad strategy file or strategies key. run/ turns it into the CLI's InputError. */
export class DistractorConfigError extends Error {
  override readonly name = "DistractorConfigError";
  /** The bare problem, without file, field or hint (the message has them all). */
  readonly problem: string;
  constructor(
    /** The strategy file; undefined for a key of the config itself (distractor.strategies). */
    readonly file: string | undefined,
    readonly field: string,
    message: string,
    readonly hint?: string,
  ) {
    super(`${file ? `${file}: ` : ""}${field}: ${message}${hint ? ` (${hint})` : ""}`);
    this.problem = message;
  }
}

export const REFERENCE_LAYERS = ["surface_noise", "incomplete_information", "semantic_ambiguity"] as const;
export type ReferenceLayer = (typeof REFERENCE_LAYERS)[number];

/** The reference's surface strategies; the rule-based layers accept these names. */
export const REFERENCE_SURFACE_STRATEGIES: readonly string[] = [
  "colloquial_speech",
  "incomplete_sentence",
  "typo_misspelling",
  "punctuation_format",
  "emotional_attitude",
  "synonym_rewrite",
  "word_segmentation",
  "negative_expression",
  "real_life_fragments",
];

export interface StrategyCatalog {
  /** Strategy names the rule-based (surface) layer accepts. */
  surface: readonly string[];
}

export interface ResolvedStrategies {
  settings: Record<string, StrategySetting>;
  /** Layer weights the strategy file sets (layers it does not name keep distractor.layer_weights). */
  layerWeights?: Partial<LayerWeights>;
}

/** The layer a strategy name belongs to, or undefined when no layer knows it. */
export function layerOfStrategy(name: string, catalog: StrategyCatalog): ReferenceLayer | undefined {
  const semantic = semanticStrategy(name);
  if (semantic) return semantic.layer;
  return catalog.surface.includes(name) || REFERENCE_SURFACE_STRATEGIES.includes(name)
    ? "surface_noise"
    : undefined;
}

function knownNames(catalog: StrategyCatalog): string[] {
  return [
    ...new Set([
      ...catalog.surface,
      ...REFERENCE_SURFACE_STRATEGIES,
      ...semanticStrategies().map((s) => s.name),
    ]),
  ];
}

/**
 * A reference name convosim has no rule-based strategy for (synonym_rewrite, …) may be listed
 * switched off, but switched on it would do nothing: an error, since every accepted key acts.
 */
export function checkImplemented(
  name: string,
  setting: StrategySetting,
  catalog: StrategyCatalog,
  file: string | undefined,
  field: string,
): void {
  if (catalog.surface.includes(name) || semanticStrategy(name)) return;
  if (!setting.enabled || setting.probability === 0) return;
  throw new DistractorConfigError(
    file,
    field,
    `the reference's strategy "${name}" has no rule-based equivalent in convosim`,
    "set enabled: false or remove it",
  );
}

/** The known name closest to `name` (edit distance ≤ 3), for "did you mean". */
function closest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of names) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** One strategy's setting: an object, a probability (0.3) or a switch (false). */
function parseSetting(value: unknown, file: string, field: string): StrategySetting {
  const raw =
    typeof value === "number"
      ? { probability: value }
      : typeof value === "boolean"
        ? { enabled: value }
        : value;
  const parsed = StrategySetting.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${field}.${issue.path.join(".")}` : field;
  throw new DistractorConfigError(
    file,
    where,
    issue?.message ?? "invalid strategy setting",
    "a setting is {enabled, probability (0–1), mandatory}, a probability, or true/false",
  );
}

/** Checks a strategy name (and, inside a layer block, that it belongs to that layer). */
export function checkStrategyName(
  name: string,
  catalog: StrategyCatalog,
  file: string | undefined,
  field: string,
  layer?: ReferenceLayer,
): void {
  const actual = layerOfStrategy(name, catalog);
  if (!actual) {
    const guess = closest(name, knownNames(catalog));
    throw new DistractorConfigError(
      file,
      field,
      `unknown strategy "${name}"`,
      guess ? `did you mean "${guess}"?` : `known strategies: ${knownNames(catalog).join(", ")}`,
    );
  }
  if (layer && actual !== layer)
    throw new DistractorConfigError(
      file,
      field,
      `strategy "${name}" belongs to layer ${actual}, not ${layer}`,
      `move it under ${actual}`,
    );
}

/** A `strategies` block: a map of name → setting, or a list of {name, …settings}. */
function parseStrategyBlock(
  block: unknown,
  catalog: StrategyCatalog,
  file: string,
  field: string,
  into: Record<string, StrategySetting>,
  layer?: ReferenceLayer,
): void {
  if (Array.isArray(block)) {
    block.forEach((entry, i) => {
      const at = `${field}[${i}]`;
      if (!isRecord(entry) || typeof entry.name !== "string")
        throw new DistractorConfigError(
          file,
          at,
          "a list entry needs a name",
          "write {name: missing_slots, probability: 0.5}",
        );
      const { name, ...setting } = entry;
      checkStrategyName(name, catalog, file, `${at}.name`, layer);
      into[name] = parseSetting(setting, file, at);
      checkImplemented(name, into[name], catalog, file, at);
    });
    return;
  }
  if (!isRecord(block))
    throw new DistractorConfigError(file, field, "must be a mapping of strategy name to setting, or a list");
  for (const [name, value] of Object.entries(block)) {
    checkStrategyName(name, catalog, file, `${field}.${name}`, layer);
    into[name] = parseSetting(value, file, `${field}.${name}`);
    checkImplemented(name, into[name], catalog, file, `${field}.${name}`);
  }
}

function weight(value: unknown, file: string, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    throw new DistractorConfigError(file, field, `must be a number ≥ 0 (got ${JSON.stringify(value)})`);
  return value;
}

/**
 * Parses a strategy file's content. Accepted top-level keys: `strategies` (map or list),
 * `layer_weights`, and one block per reference layer ({weight?, strategies?}).
 */
export function parseStrategyFile(
  document: unknown,
  file: string,
  catalog: StrategyCatalog,
): ResolvedStrategies {
  if (document === null || document === undefined) return { settings: {} };
  if (!isRecord(document)) throw new DistractorConfigError(file, "(top level)", "must be a mapping");
  const settings: Record<string, StrategySetting> = {};
  const weights: Partial<Record<ReferenceLayer, number>> = {};
  for (const [key, value] of Object.entries(document)) {
    if (key === "strategies") parseStrategyBlock(value, catalog, file, key, settings);
    else if (key === "layer_weights") {
      if (!isRecord(value))
        throw new DistractorConfigError(file, key, "must be a mapping of layer to weight");
      for (const [layer, w] of Object.entries(value)) {
        if (!(REFERENCE_LAYERS as readonly string[]).includes(layer))
          throw new DistractorConfigError(
            file,
            `${key}.${layer}`,
            "unknown layer",
            `layers: ${REFERENCE_LAYERS.join(", ")}`,
          );
        weights[layer as ReferenceLayer] = weight(w, file, `${key}.${layer}`);
      }
    } else if ((REFERENCE_LAYERS as readonly string[]).includes(key)) {
      const layer = key as ReferenceLayer;
      if (!isRecord(value))
        throw new DistractorConfigError(file, key, "must be a mapping {weight, strategies}");
      for (const [inner, v] of Object.entries(value)) {
        if (inner === "weight") weights[layer] = weight(v, file, `${key}.weight`);
        else if (inner === "strategies")
          parseStrategyBlock(v, catalog, file, `${key}.strategies`, settings, layer);
        else
          throw new DistractorConfigError(
            file,
            `${key}.${inner}`,
            "unknown key",
            "a layer block has weight and strategies",
          );
      }
    } else {
      const guess = closest(key, ["strategies", "layer_weights", ...REFERENCE_LAYERS]);
      throw new DistractorConfigError(
        file,
        key,
        "unknown key",
        guess
          ? `did you mean "${guess}"?`
          : "keys: strategies, layer_weights, surface_noise, incomplete_information, semantic_ambiguity",
      );
    }
  }
  return { settings, ...(Object.keys(weights).length > 0 ? { layerWeights: weights } : {}) };
}

/** Reads and parses a strategy file (YAML or JSON; JSON is YAML). */
export function readStrategyFile(path: string, catalog: StrategyCatalog): ResolvedStrategies {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new DistractorConfigError(path, "strategy_path", `cannot read the strategy file (${code})`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new DistractorConfigError(
      path,
      "(file)",
      `not valid YAML or JSON: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  return parseStrategyFile(document, path, catalog);
}
