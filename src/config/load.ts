// loadConfig: YAML file → validated ConvosimConfig, with every problem reported as an
// InputError that names the file, the line and the full dotted key. Order matters:
//   1. read at most MAX_CONFIG_BYTES (a device or FIFO never fills memory), parse YAML (syntax
//      errors with line/column, alias bombs, deep nesting), substitute `${VAR}` in values
//      (substitute-env.ts); an empty file means "all defaults";
//   2. validate with the zod schema (unknown keys, wrong types, ranges), then the model blocks
//      as written (a hosted model named without `provider`);
//   3. resolve relative paths against the config file's folder;
//   4. apply command-line overrides and validate again (their errors say "command line");
//   5. check that referenced template files exist; normalise model_pool weights.
import { dirname, resolve } from "node:path";
import type { z } from "zod";
import { ConvosimConfig, type DistractorConfig, type InteractionGenerationConfig } from "../schema/config.js";
import { invalidUtf8Offset, lineAndColumnAt } from "../shared/utf8.js";
import { InputError } from "./errors.js";
import { type ErrorLocation, problemsToInputError, zodErrorToInputError } from "./issues.js";
import { checkModelBlocks } from "./model-blocks.js";
import { checkReferencedFiles, pathRefs, resolveAgainst, resolveConfigPaths } from "./paths.js";
import { normalisePoolWeights } from "./pool.js";
import { readCapped } from "./read-capped.js";
import { formatPath } from "./schema-keys.js";
import { parseYaml } from "./yaml.js";

export const COMMAND_LINE = "command line";
/** The largest config file read (docs/configuration.md); real ones are a few KiB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Values given on the command line (or by code), in the same shape as the
 * `interaction_generation` block, plus `distractor`. Undefined values are ignored, so a CLI
 * can pass every flag through. Relative paths here are resolved against the working directory.
 * Setting assistant_model.provider or .model without a model_pool drops the file's model_pool:
 * a model chosen on the command line wins over the pool.
 */
export type ConfigOverrides = z.input<typeof InteractionGenerationConfig> & {
  distractor?: z.input<typeof DistractorConfig>;
};

export interface LoadConfigOptions {
  /** Where `${VAR}` in the file's values is looked up; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Objects merge key by key; arrays and scalars replace; undefined leaves the target alone. */
function deepMerge(target: PlainObject, source: PlainObject): PlainObject {
  const out: PlainObject = { ...target };
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(value) && isPlainObject(current) ? deepMerge(current, value) : value;
  }
  return out;
}

async function readConfigText(path: string): Promise<string> {
  let read: Awaited<ReturnType<typeof readCapped>>;
  try {
    read = await readCapped(path, MAX_CONFIG_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === "ENOENT"
        ? "config file not found"
        : code === "EISDIR"
          ? "is a directory, not a config file"
          : code === "EACCES"
            ? "permission denied"
            : `cannot read the config file (${code ?? String(error)})`;
    throw new InputError({ file: path, message });
  }
  if (read.tooLarge) {
    throw new InputError({
      file: path,
      message: "is larger than 1 MiB, the limit for a config file",
      hint: "a config holds settings only; put personas in a --personas file",
    });
  }
  const { bytes } = read;
  if (bytes.subarray(0, 1024).includes(0)) {
    throw new InputError({ file: path, message: "does not look like a text file" });
  }
  const invalid = invalidUtf8Offset(bytes);
  if (invalid !== -1) {
    throw new InputError({
      file: path,
      ...lineAndColumnAt(bytes, invalid),
      message: "invalid UTF-8 text",
      hint: "save the file as UTF-8",
    });
  }
  return bytes.toString("utf8");
}

function validate(raw: unknown, where: ErrorLocation): ConvosimConfig {
  const result = ConvosimConfig.safeParse(raw);
  if (!result.success) {
    throw zodErrorToInputError(result.error, { schema: ConvosimConfig, raw }, where);
  }
  return result.data;
}

function applyOverrides(config: ConvosimConfig, overrides: ConfigOverrides): ConvosimConfig {
  const { distractor, ...interaction } = overrides;
  const patch = structuredClone({ interaction_generation: interaction, distractor }) as PlainObject;
  const assistant = interaction.assistant_model;
  const base = structuredClone(config) as unknown as PlainObject;
  if (
    assistant &&
    (assistant.provider !== undefined || assistant.model !== undefined) &&
    assistant.model_pool === undefined
  ) {
    const ig = base.interaction_generation as PlainObject;
    const current = ig.assistant_model as PlainObject;
    const { model_pool: _dropped, ...rest } = current;
    ig.assistant_model = rest;
  }
  // Relative paths given on the command line mean relative to where the user is.
  const patched = validate(deepMerge(base, patch), { file: COMMAND_LINE });
  const cwd = process.cwd();
  const overridden = new Set(overriddenPaths(patch));
  for (const ref of pathRefs(patched)) {
    if (overridden.has(formatPath(ref.path))) ref.set(resolveAgainst(cwd, ref.value));
  }
  return patched;
}

/** Dotted paths of every leaf value present in an override patch. */
function overriddenPaths(value: unknown, prefix: (string | number)[] = []): string[] {
  if (isPlainObject(value)) {
    return Object.entries(value).flatMap(([key, child]) =>
      child === undefined ? [] : overriddenPaths(child, [...prefix, key]),
    );
  }
  if (Array.isArray(value))
    return value.flatMap((child, index) => overriddenPaths(child, [...prefix, index]));
  return [formatPath(prefix)];
}

/**
 * Loads and validates a config. No path → every default (the embedded local model).
 * Every problem is thrown as an InputError naming the file, line and key.
 */
export async function loadConfig(
  path?: string,
  overrides?: ConfigOverrides,
  options: LoadConfigOptions = {},
): Promise<ConvosimConfig> {
  let raw: unknown = {};
  let lineOf: (keys: readonly PropertyKey[]) => number | undefined = () => undefined;
  if (path !== undefined) {
    const text = await readConfigText(path);
    const parsed = parseYaml(text, path, { substituteFrom: options.env ?? process.env });
    lineOf = parsed.lineOf;
    // An empty file (or one holding only comments) means "all defaults".
    raw = parsed.value ?? {};
    if (!isPlainObject(raw)) {
      throw new InputError({
        file: path,
        line: lineOf([]) ?? 1,
        message: `the top level must be a mapping (got ${Array.isArray(raw) ? "a list" : typeof raw})`,
        hint: "start with `interaction_generation:` (see docs/configuration.md)",
      });
    }
  }
  const where: ErrorLocation = { ...(path !== undefined && { file: path }), line: (keys) => lineOf(keys) };
  let config = validate(raw, where);
  const modelProblems = checkModelBlocks(raw, config);
  if (modelProblems.length > 0) throw problemsToInputError(modelProblems, where);
  resolveConfigPaths(config, path !== undefined ? dirname(resolve(path)) : process.cwd());

  const overridden = new Set<string>();
  if (overrides) {
    config = applyOverrides(config, overrides);
    const { distractor, ...interaction } = overrides;
    for (const p of overriddenPaths({ interaction_generation: interaction, distractor })) overridden.add(p);
  }

  await checkReferencedFiles(config, (keys) => {
    const field = formatPath(keys);
    if (overridden.has(field) || path === undefined) return { file: COMMAND_LINE, field };
    const line = lineOf(keys);
    return { file: path, field, ...(line !== undefined && { line }) };
  });

  const pool = config.interaction_generation.assistant_model.model_pool;
  if (pool && pool.length > 0) {
    const probabilities = normalisePoolWeights(pool);
    pool.forEach((entry, index) => {
      entry.weight = probabilities[index]!;
    });
  }
  return config;
}
