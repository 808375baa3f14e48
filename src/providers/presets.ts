// Per-provider defaults (endpoint, key variable) and the one rule that decides which API key a
// model config needs. Kept apart from the registry so the CLI can validate a config without
// constructing a client, and so the rule lives in exactly one place.
import type { ModelConfig, ProviderName } from "../schema/config.js";
import { rememberSecret } from "../shared/redact-secrets.js";
import { ProviderError } from "./errors.js";

/** Seconds one HTTP model call may take when the config sets no request_timeout. */
export const DEFAULT_REQUEST_TIMEOUT_S = 120;

export interface ProviderPreset {
  /** The hosted endpoint used when the config gives no base_url (undefined: no HTTP endpoint). */
  readonly defaultBaseUrl?: string;
  /** The key variable used when the config names none (undefined: this provider needs no key). */
  readonly defaultApiKeyEnv?: string;
  /** Which wire protocol the provider speaks. */
  readonly protocol: "openai" | "anthropic" | "local" | "fake";
}

export const PROVIDER_PRESETS: Readonly<Record<ProviderName, ProviderPreset>> = {
  openai: {
    defaultBaseUrl: "https://api.openai.com/v1",
    defaultApiKeyEnv: "OPENAI_API_KEY",
    protocol: "openai",
  },
  // OpenRouter speaks the OpenAI chat completions API at its own endpoint.
  openrouter: {
    defaultBaseUrl: "https://openrouter.ai/api/v1",
    defaultApiKeyEnv: "OPENROUTER_API_KEY",
    protocol: "openai",
  },
  anthropic: {
    defaultBaseUrl: "https://api.anthropic.com",
    defaultApiKeyEnv: "ANTHROPIC_API_KEY",
    protocol: "anthropic",
  },
  local: { protocol: "local" },
  fake: { protocol: "fake" },
};

/**
 * Sent to OpenAI-compatible servers that need no key (vLLM, llama.cpp, Ollama on a LAN): the SDKs
 * refuse to start without some key, and a recognisable placeholder is easy to spot in server logs.
 */
export const PLACEHOLDER_API_KEY = "not-needed";

/** What the registry needs to build a client: endpoint and key, both resolved. */
export interface ResolvedEndpoint {
  readonly preset: ProviderPreset;
  readonly baseUrl: string | undefined;
  /** The variable the key came from; undefined when the placeholder key is used. */
  readonly apiKeyEnv: string | undefined;
  readonly apiKey: string | undefined;
}

export interface ResolveOptions {
  /** Where this model sits in the config (e.g. "interaction_generation.assistant_model"), for messages. */
  readonly where?: string;
}

function sameEndpoint(a: string, b: string): boolean {
  const norm = (url: string) => url.replace(/\/+$/, "").toLowerCase();
  return norm(a) === norm(b);
}

/**
 * Resolves endpoint and key. The key rule:
 * - api_key_env named → that variable must be set;
 * - no base_url (or base_url is the provider's own hosted endpoint) → the provider's default
 *   variable must be set;
 * - a base_url elsewhere and no api_key_env → a self-hosted server: the placeholder key is sent.
 * A missing key is a `config` ProviderError naming the variable and never showing any value.
 * There is no fallback to another provider (the reference silently switched to fake data).
 */
export function resolveEndpoint(
  config: ModelConfig,
  env: NodeJS.ProcessEnv,
  options: ResolveOptions = {},
): ResolvedEndpoint {
  const preset = PROVIDER_PRESETS[config.provider];
  if (preset === undefined) {
    throw new ProviderError(
      "config",
      `unknown provider "${String(config.provider)}"; expected one of ${Object.keys(PROVIDER_PRESETS).join(", ")}`,
    );
  }
  if (preset.protocol === "local" || preset.protocol === "fake") {
    return { preset, baseUrl: undefined, apiKeyEnv: undefined, apiKey: undefined };
  }
  const baseUrl = config.base_url ?? preset.defaultBaseUrl;
  const hosted =
    config.base_url === undefined ||
    (preset.defaultBaseUrl !== undefined && sameEndpoint(config.base_url, preset.defaultBaseUrl));
  const apiKeyEnv = config.api_key_env ?? (hosted ? preset.defaultApiKeyEnv : undefined);
  if (apiKeyEnv === undefined) {
    return { preset, baseUrl, apiKeyEnv: undefined, apiKey: PLACEHOLDER_API_KEY };
  }
  const value = env[apiKeyEnv];
  if (value === undefined || value.trim() === "") {
    const origin =
      config.api_key_env !== undefined
        ? `named by ${options.where ? `${options.where}.api_key_env` : "api_key_env"}`
        : `the default key variable of provider ${config.provider}`;
    throw new ProviderError(
      "config",
      `environment variable ${apiKeyEnv} is not set (${origin}); export it or set api_key_env to the variable that holds your key`,
    );
  }
  // Remembered so that any error text quoting the key is masked wherever it is printed or saved.
  rememberSecret(value);
  return { preset, baseUrl, apiKeyEnv, apiKey: value.trim() };
}
