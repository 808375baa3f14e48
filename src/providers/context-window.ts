// How many tokens a model's prompt and reply may hold together, so a conversation can end as
// `context_full` before its history outgrows the model (rather than failing at the endpoint,
// or — where an endpoint silently truncates — training on a conversation the model never saw
// whole). In order: the model block's `context_window`; the embedded model's context size; a
// known model's published window; else 128k, today's common size.
import type { ModelConfig } from "../schema/config.js";
import { DEFAULT_RUNTIME, runtimeSettingsFromEnv } from "./local/options.js";

export const DEFAULT_CONTEXT_WINDOW = 128_000;

// Published context windows by model-name prefix, longest prefix first where names overlap.
const KNOWN_WINDOWS: ReadonlyArray<readonly [prefix: string, tokens: number]> = [
  ["gpt-4.1", 1_047_576],
  ["gpt-5", 400_000],
  ["gpt-4o", 128_000],
  ["gpt-4-turbo", 128_000],
  ["gpt-4", 8_192],
  ["gpt-3.5-turbo", 16_385],
  ["o1", 200_000],
  ["o3", 200_000],
  ["o4", 200_000],
  ["claude", 200_000],
];

function knownWindow(model: string): number | undefined {
  // Providers such as OpenRouter prefix the vendor ("openai/gpt-4o").
  const name = model.toLowerCase().split("/").pop() ?? "";
  return KNOWN_WINDOWS.find(([prefix]) => name.startsWith(prefix))?.[1];
}

function localContextSize(env: Readonly<Record<string, string | undefined>>): number {
  try {
    return runtimeSettingsFromEnv(env).contextSize;
  } catch {
    return DEFAULT_RUNTIME.contextSize; // a bad variable fails the local model itself, with its message
  }
}

export function contextWindowOf(
  config: Pick<ModelConfig, "provider" | "model" | "context_window">,
  env: Readonly<Record<string, string | undefined>> = process.env,
): number {
  if (config.context_window !== undefined) return config.context_window;
  if (config.provider === "local") return localContextSize(env);
  return knownWindow(config.model) ?? DEFAULT_CONTEXT_WINDOW;
}
