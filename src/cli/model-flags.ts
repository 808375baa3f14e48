// `--assistant PROVIDER:MODEL`, `--user PROVIDER:MODEL`, `--model PROVIDER:MODEL` (both) and
// `--base-url URL`: the model choice promptfoo users expect to make on the command line.

import { InputError } from "../config/errors.js";
import type { ConfigOverrides } from "../config/load.js";
import { type ConvosimConfig, PROVIDERS, type ProviderName } from "../schema/config.js";

export interface ModelFlags {
  assistant?: string;
  user?: string;
  model?: string;
  baseUrl?: string;
}

export interface ModelChoice {
  provider: ProviderName;
  model: string;
}

function isProvider(name: string): name is ProviderName {
  return (PROVIDERS as readonly string[]).includes(name);
}

/** "openai:gpt-4o-mini" → {openai, gpt-4o-mini}; the model may hold colons (`ollama` tags). */
export function parseModelChoice(flag: string, value: string): ModelChoice {
  const colon = value.indexOf(":");
  const provider = colon === -1 ? "" : value.slice(0, colon);
  const model = colon === -1 ? "" : value.slice(colon + 1);
  if (!isProvider(provider) || model === "") {
    throw new InputError({
      file: "command line",
      field: flag,
      message: `must be PROVIDER:MODEL (got "${value}")`,
      hint: `e.g. ${flag} openai:gpt-4o-mini or ${flag} local:qwen2.5-coder-0.5b-instruct; providers: ${PROVIDERS.join(", ")}`,
    });
  }
  return { provider, model };
}

/** The two roles' choices: --assistant/--user win over --model, which sets both. */
export function modelChoices(flags: ModelFlags): { assistant?: ModelChoice; user?: ModelChoice } {
  const both = flags.model !== undefined ? parseModelChoice("--model", flags.model) : undefined;
  const assistant = flags.assistant !== undefined ? parseModelChoice("--assistant", flags.assistant) : both;
  const user = flags.user !== undefined ? parseModelChoice("--user", flags.user) : both;
  if (flags.baseUrl !== undefined && assistant === undefined && user === undefined) {
    throw new InputError({
      file: "command line",
      field: "--base-url",
      message: "applies to a model chosen on the command line",
      hint: "add --model, --assistant or --user PROVIDER:MODEL (or set base_url in the config)",
    });
  }
  return { ...(assistant ? { assistant } : {}), ...(user ? { user } : {}) };
}

function override(choice: ModelChoice | undefined, baseUrl: string | undefined) {
  if (choice === undefined) return undefined;
  // Sent through loadConfig so the choice is validated like a file's (an unknown embedded model,
  // a base_url with a key in it); a local model has no endpoint, so --base-url is not given to it.
  return {
    ...choice,
    ...(baseUrl !== undefined && choice.provider !== "local" ? { base_url: baseUrl } : {}),
  };
}

/** The config overrides for the chosen models (validated by loadConfig with the other flags). */
export function modelOverrides(flags: ModelFlags): ConfigOverrides {
  const { assistant, user } = modelChoices(flags);
  const assistantOverride = override(assistant, flags.baseUrl);
  const userOverride = override(user, flags.baseUrl);
  return {
    ...(assistantOverride ? { assistant_model: assistantOverride } : {}),
    ...(userOverride ? { user_model: userOverride } : {}),
  };
}

type ModelBlock = ConvosimConfig["interaction_generation"]["user_model"];

/**
 * A model chosen on the command line is a new endpoint: the file's base_url, api_key_env and
 * model_path belonged to the file's model, so they go (a hosted provider then uses its own
 * endpoint and default key variable, src/providers/presets.ts); its other settings
 * (temperature, max_completion_tokens, …) stay.
 */
function withoutFileEndpoint<T extends Pick<ModelBlock, "base_url" | "api_key_env" | "model_path">>(
  block: T,
  baseUrl: string | undefined,
): T {
  const { base_url: _url, api_key_env: _key, model_path: _path, ...rest } = block;
  return { ...rest, ...(baseUrl !== undefined ? { base_url: baseUrl } : {}) } as T;
}

/** Applied to the loaded config (after modelOverrides went through loadConfig). */
export function applyModelFlags(config: ConvosimConfig, flags: ModelFlags): ConvosimConfig {
  const { assistant, user } = modelChoices(flags);
  if (assistant === undefined && user === undefined) return config;
  const ig = config.interaction_generation;
  const urlFor = (choice: ModelChoice) => (choice.provider === "local" ? undefined : flags.baseUrl);
  return {
    ...config,
    interaction_generation: {
      ...ig,
      assistant_model: assistant
        ? withoutFileEndpoint(ig.assistant_model, urlFor(assistant))
        : ig.assistant_model,
      user_model: user ? withoutFileEndpoint(ig.user_model, urlFor(user)) : ig.user_model,
    },
  };
}
