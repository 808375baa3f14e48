// File paths inside a config are relative to the config file (not to wherever convosim was
// started), so a config and its prompts can move together. Referenced templates must exist
// now: finding out at the first conversation, hours into a run, is too late. Templates and the
// strategy file are read whole, so they are capped like the config itself (a model file is not).
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { ConvosimConfig, ModelConfig } from "../schema/config.js";
import { InputError } from "./errors.js";

type PathKey = string | number;

/** A path-valued key in the config, where it is, and whether the file must exist. */
export interface PathRef {
  path: PathKey[];
  value: string;
  mustExist: boolean;
  /** Read whole into memory: larger is refused (templates, the strategy file). */
  maxBytes?: number;
  set(resolved: string): void;
}

/** The largest prompt template or strategy file read (docs/configuration.md). */
export const MAX_REFERENCED_FILE_BYTES = 1024 * 1024;

/** `hf:owner/repo/file.gguf`, `https://…`: references the local provider resolves itself. */
function isUriLike(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]+:/.test(value) && !/^[A-Za-z]:[\\/]/.test(value);
}

export function resolveAgainst(baseDir: string, value: string): string {
  if (value === "~") return homedir();
  if (value.startsWith("~/")) return join(homedir(), value.slice(2));
  return isAbsolute(value) ? value : resolve(baseDir, value);
}

function modelRefs(model: ModelConfig | undefined, path: PathKey[]): PathRef[] {
  if (!model?.model_path || isUriLike(model.model_path)) return [];
  return [
    {
      path: [...path, "model_path"],
      value: model.model_path,
      // Only the local provider reads model_path; elsewhere it is inert.
      mustExist: model.provider === "local",
      set: (resolved) => {
        model.model_path = resolved;
      },
    },
  ];
}

/** Every path-valued key present in `config` (mutable references into it). */
export function pathRefs(config: ConvosimConfig): PathRef[] {
  const ig = config.interaction_generation;
  const refs: PathRef[] = [];
  const template = (
    holder: { [k: string]: unknown } & object,
    key: string,
    path: PathKey[],
    mustExist = true,
  ): void => {
    const value = holder[key];
    if (typeof value !== "string") return;
    refs.push({
      path: [...path, key],
      value,
      mustExist,
      maxBytes: MAX_REFERENCED_FILE_BYTES,
      set: (resolved) => {
        holder[key] = resolved;
      },
    });
  };
  template(ig.user_model, "system_prompt_template", ["interaction_generation", "user_model"]);
  template(ig.style_transfer, "prompt_template", ["interaction_generation", "style_transfer"]);
  template(ig.query_generation, "prompt_template", ["interaction_generation", "query_generation"]);
  for (const helper of ["scenario_generation", "stop_judge", "turn_verifier"] as const)
    template(ig[helper], "prompt_template", ["interaction_generation", helper]);
  template(config.distractor, "strategy_path", ["distractor"]);
  refs.push(...modelRefs(ig.assistant_model, ["interaction_generation", "assistant_model"]));
  refs.push(...modelRefs(ig.user_model, ["interaction_generation", "user_model"]));
  ig.assistant_model.model_pool?.forEach((entry, index) => {
    refs.push(...modelRefs(entry, ["interaction_generation", "assistant_model", "model_pool", index]));
  });
  refs.push(...modelRefs(ig.style_transfer.model, ["interaction_generation", "style_transfer", "model"]));
  refs.push(...modelRefs(ig.query_generation.model, ["interaction_generation", "query_generation", "model"]));
  return refs;
}

/** Rewrites every relative path in `config` (in place) against `baseDir`. */
export function resolveConfigPaths(config: ConvosimConfig, baseDir: string): void {
  for (const ref of pathRefs(config)) ref.set(resolveAgainst(baseDir, ref.value));
}

/**
 * Throws InputError for the first referenced file that is missing or not a regular file.
 * `locate` says which file/line the key came from, for the message.
 */
export async function checkReferencedFiles(
  config: ConvosimConfig,
  locate: (path: PathKey[]) => { file?: string; line?: number; field: string },
): Promise<void> {
  for (const ref of pathRefs(config)) {
    if (!ref.mustExist) continue;
    const problem = await fileProblem(ref.value, ref.maxBytes);
    if (problem) {
      const where = locate(ref.path);
      throw new InputError({
        ...where,
        message: `${problem}: ${ref.value}`,
        ...(problem === "file not found" && {
          hint: "relative paths are resolved against the config file's folder",
        }),
      });
    }
  }
}

async function fileProblem(path: string, maxBytes: number | undefined): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return "not a regular file";
    if (maxBytes !== undefined && info.size > maxBytes) return `larger than ${maxBytes / (1024 * 1024)} MiB`;
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "file not found";
    if (code === "EACCES") return "permission denied";
    return `cannot read (${code ?? "unknown error"})`;
  }
}
