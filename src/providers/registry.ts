// The one place a ModelConfig becomes a ChatModel. It resolves presets and keys (failing early,
// naming the variable, never a value), never falls back to another provider, and shares one SDK
// client between models that use the same endpoint and key. Provider modules are imported on
// first use so that a run with the embedded model never loads the HTTP SDKs, and vice versa.

import { createHash } from "node:crypto";
import type Anthropic from "@anthropic-ai/sdk";
import type OpenAI from "openai";
import type { ModelConfig } from "../schema/config.js";
import { anthropicModule } from "./anthropic-module.js";
import { callLogger, loggingFetch } from "./call-log.js";
import {
  DEFAULT_REQUEST_TIMEOUT_S,
  PROVIDER_PRESETS,
  type ResolveOptions,
  resolveEndpoint,
} from "./presets.js";
import { httpEndpointKey } from "./rate-limit-headers.js";
import type { ChatModel } from "./types.js";

export interface CreateChatModelOptions extends ResolveOptions {
  /** Where API keys are read from; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** A fetch implementation for the HTTP SDKs (a lean transport, a test double). */
  fetch?: typeof fetch;
  /**
   * Whether an OpenAI-compatible model on the lean transport runs its calls on the model thread
   * (model-thread.ts). Default: CONVOSIM_MODEL_THREAD, else on with two cores or more. Models
   * given their own `env` or `fetch`, `transport: sdk` and --verbose's call log stay in-process.
   */
  modelThread?: boolean;
}

/**
 * Validates provider and key without constructing anything, so the CLI can exit with a clear
 * message before the first model call. Throws the same ProviderError("config") createChatModel would.
 */
export function checkModelConfig(
  config: ModelConfig,
  env: NodeJS.ProcessEnv = process.env,
  options: ResolveOptions = {},
): void {
  resolveEndpoint(config, env, options);
}

// SDK clients keyed by endpoint, key variable, a digest of the key (so a changed key gets a new
// client, and the map never holds the key as text) and timeout. Clients hold no sockets of their
// own (fetch pools them), so they need no closing and can live as long as the process.
const clients = new Map<string, OpenAI | Anthropic>();

function clientKey(
  protocol: string,
  baseUrl: string | undefined,
  keyEnv: string | undefined,
  apiKey: string,
  timeoutS: number,
) {
  const digest = createHash("sha256").update(apiKey).digest("hex").slice(0, 16);
  return [protocol, baseUrl ?? "", keyEnv ?? "", digest, timeoutS].join("|");
}

function shared<T extends OpenAI | Anthropic>(key: string | undefined, make: () => T): T {
  if (key === undefined) return make();
  const existing = clients.get(key);
  if (existing) return existing as T;
  const client = make();
  clients.set(key, client);
  return client;
}

/** Forgets the shared clients (tests that change endpoints under the same key use it). */
export function clearClientCache(): void {
  clients.clear();
}

/**
 * The lean transport is the default for OpenAI-compatible endpoints (less CPU per call, and it
 * honours HTTP(S)_PROXY / NO_PROXY, which the SDK's default fetch on Node 20 does not);
 * `transport: sdk` switches back. Anthropic keeps its SDK's fetch unless asked.
 */
function usesLeanTransport(config: ModelConfig, protocol: string): boolean {
  return config.transport === "undici" || (config.transport === undefined && protocol === "openai");
}

/**
 * Starts the model thread now when one of these models will run its calls there (an
 * OpenAI-compatible model on the lean transport, the thread enabled), so that the thread loads
 * the SDK while this one reads the personas: its start-up was most of the time from the spawn to
 * the first request. Harmless when wrong: an idle thread does not keep the process alive.
 */
export async function warmModelThreadFor(configs: readonly ModelConfig[]): Promise<void> {
  const threaded = configs.some((config) => {
    const protocol = PROVIDER_PRESETS[config.provider]?.protocol;
    return protocol === "openai" && usesLeanTransport(config, protocol);
  });
  if (!threaded || callLogger() !== undefined) return;
  const thread = await import("./model-thread.js");
  // A bad CONVOSIM_MODEL_THREAD is reported by the first model built, as without the warm-up.
  const enabled = (() => {
    try {
      return thread.modelThreadEnabled();
    } catch {
      return false;
    }
  })();
  if (enabled) thread.warmModelThread();
}

export async function createChatModel(
  config: ModelConfig,
  options: CreateChatModelOptions = {},
): Promise<ChatModel> {
  const resolved = resolveEndpoint(config, options.env ?? process.env, options);
  const protocol = resolved.preset.protocol;
  if (protocol === "fake") {
    // Only reachable when the config says provider: fake. Nothing ever falls back here.
    const { createFakeChatModel } = await import("./fake.js");
    return createFakeChatModel(config);
  }
  if (protocol === "local") {
    const { createLocalChatModel } = await import("./local/index.js");
    return createLocalChatModel(config);
  }
  const apiKey = resolved.apiKey as string;
  // A custom fetch is caller-specific: such clients are not shared. The lean transport is one
  // process-wide fetch, so its clients are shared like the SDK's.
  const lean = options.fetch === undefined && usesLeanTransport(config, protocol);
  // --verbose: clients made while the call log is on log every request (call-log.ts).
  const log = callLogger();
  // Models on one endpoint and key share one rate-limit budget; the key itself is never in it.
  const endpointKey = httpEndpointKey(config.provider, resolved.baseUrl, resolved.apiKeyEnv);
  // The thread reads the key from the process's own environment, so a caller's `env` keeps the
  // model in-process; so does the call log (its lines go to this thread's logger).
  if (
    lean &&
    protocol === "openai" &&
    log === undefined &&
    (options.env === undefined || options.env === process.env) &&
    (options.modelThread ?? (await import("./model-thread.js")).modelThreadEnabled())
  ) {
    const { ThreadedChatModel, jsonSafe } = await import("./model-thread.js");
    if (jsonSafe(config)) return new ThreadedChatModel(config, endpointKey);
  }
  const key =
    options.fetch === undefined
      ? clientKey(
          `${config.provider}${lean ? "+undici" : ""}${log ? "+log" : ""}`,
          resolved.baseUrl,
          resolved.apiKeyEnv,
          apiKey,
          config.request_timeout ?? DEFAULT_REQUEST_TIMEOUT_S,
        )
      : undefined;
  const chosenFetch = lean ? (await import("./transport.js")).sharedLeanTransport().fetch : options.fetch;
  const fetchImpl = log ? loggingFetch(chosenFetch ?? globalThis.fetch, log) : chosenFetch;
  const transport = fetchImpl ? { fetch: fetchImpl } : {};
  if (protocol === "anthropic") {
    const { AnthropicChatModel, createAnthropicClient } = await anthropicModule();
    const client = shared(key, () => createAnthropicClient(config, apiKey, transport));
    return new AnthropicChatModel(config, apiKey, { client, endpointKey });
  }
  const { OpenAIChatModel, createOpenAIClient } = await import("./openai.js");
  const client = shared(key, () => createOpenAIClient(config, apiKey, transport));
  return new OpenAIChatModel(config, apiKey, { client, endpointKey });
}
