// Checks on every model block that need to know what the user wrote, not what the schema
// filled in: a block without `provider` is given `local`, so `{model: gpt-4o-mini}` would run
// the embedded model and record it as gpt-4o-mini. A config must never silently run a
// different model than it names.
import type { ConvosimConfig, ModelConfig } from "../schema/config.js";
import { EMBEDDED_MODEL_NAMES } from "../schema/config.js";
import type { InputError } from "./errors.js";
import { type ErrorLocation, problemsToInputError, valueAt } from "./issues.js";

type PathKey = string | number;

export interface ModelBlockProblem {
  path: PathKey[];
  message: string;
  hint?: string;
}

const HELPERS = ["style_transfer", "query_generation", "scenario_generation", "stop_judge", "turn_verifier"];

/** Where model blocks may sit, as key paths; pool entries expanded from `raw`. */
export function modelBlockPaths(raw: unknown): PathKey[][] {
  const paths: PathKey[][] = [
    ["interaction_generation", "assistant_model"],
    ["interaction_generation", "user_model"],
  ];
  const pool = valueAt(raw, ["interaction_generation", "assistant_model", "model_pool"]);
  if (Array.isArray(pool)) {
    for (const index of pool.keys())
      paths.push(["interaction_generation", "assistant_model", "model_pool", index]);
  }
  for (const helper of HELPERS) paths.push(["interaction_generation", helper, "model"]);
  paths.push(["distractor", "model"]);
  return paths;
}

function isEmbedded(name: unknown): boolean {
  return typeof name === "string" && (EMBEDDED_MODEL_NAMES as readonly string[]).includes(name);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The name a local model file goes by: its file name without folders and `.gguf`. */
export function modelNameFromPath(modelPath: string): string {
  const last =
    modelPath
      .split(/[\\/]/)
      .filter((part) => part !== "")
      .pop() ?? modelPath;
  return last.replace(/\.gguf$/i, "") || modelPath;
}

/**
 * Problems of the model blocks the user wrote (`raw`, already valid against the schema), and
 * honest names: a local block with a model_path but no model takes the file's name instead of
 * the default embedded model's, so what is recorded is what ran. Mutates `config` for that.
 */
export function checkModelBlocks(raw: unknown, config: ConvosimConfig): ModelBlockProblem[] {
  const problems: ModelBlockProblem[] = [];
  for (const path of modelBlockPaths(raw)) {
    const block = valueAt(raw, path);
    if (!isPlainObject(block)) continue;
    const provider = block.provider;
    if (provider === undefined) {
      const namesOther = block.model !== undefined && !isEmbedded(block.model);
      if (namesOther || block.base_url !== undefined || block.api_key_env !== undefined) {
        problems.push({
          path: [...path, "provider"],
          message: "is missing: add provider: openai (or anthropic, local)",
        });
        continue;
      }
    }
    if ((provider ?? "local") !== "local") continue;
    const parsed = valueAt(config, path) as ModelConfig | undefined;
    if (!parsed) continue;
    if (block.model_path === undefined && !isEmbedded(parsed.model)) {
      problems.push({
        path: [...path, "model"],
        message: `"${parsed.model}" is not an embedded model (${EMBEDDED_MODEL_NAMES.join(", ")})`,
        hint: "set provider (openai, anthropic, …) to call it, or model_path to a .gguf file to run it locally",
      });
    } else if (block.model_path !== undefined && block.model === undefined && parsed.model_path) {
      parsed.model = modelNameFromPath(parsed.model_path);
    }
  }
  return problems;
}

/**
 * For configs given in code (InteractionGenerator, createDistractor): the same checks as
 * loadConfig, thrown as one InputError. `raw` is what the caller passed, `config` its parse.
 */
export function assertModelBlocks(raw: unknown, config: ConvosimConfig, where: ErrorLocation = {}): void {
  const problems = checkModelBlocks(raw, config);
  if (problems.length > 0) throw modelBlocksError(problems, where);
}

function modelBlocksError(problems: ModelBlockProblem[], where: ErrorLocation): InputError {
  return problemsToInputError(problems, where);
}
