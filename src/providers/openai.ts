// A ChatModel over the official `openai` SDK: OpenAI itself and every OpenAI-compatible endpoint
// (OpenRouter, vLLM, Ollama, llama.cpp server, the bench stand-in server). The SDK's retries are
// off (retries live in one RxJS operator); every failure leaves as a ProviderError.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import type { ModelConfig } from "../schema/config.js";
import type { RateLimitInfo, Usage } from "../schema/usage.js";
import { CallDeadline } from "./call-deadline.js";
import { ProviderError } from "./errors.js";
import { estimatePromptTokens, estimateTokens } from "./estimate.js";
import { mapSdkError, type SdkErrorKinds } from "./http-errors.js";
import { DEFAULT_REQUEST_TIMEOUT_S, PROVIDER_PRESETS } from "./presets.js";
import { httpEndpointKey, parseOpenAIRateLimit } from "./rate-limit-headers.js";
import type { ChatModel, ChatRequest, ChatResult } from "./types.js";

export interface OpenAIChatModelOptions {
  /** A fetch implementation for the SDK (e.g. a lean keep-alive transport); global fetch otherwise. */
  fetch?: typeof fetch;
  /** A client to share between models on the same endpoint and key (the registry passes one). */
  client?: OpenAI;
  /**
   * The rate-limit budget this model counts against (the registry passes provider|endpoint|key
   * variable). Default: from the config, with the provider's default key variable.
   */
  endpointKey?: string;
}

/** provider|endpoint|key variable for a config used without the registry. */
function defaultEndpointKey(config: ModelConfig): string {
  const preset = PROVIDER_PRESETS[config.provider];
  const baseUrl = config.base_url ?? preset.defaultBaseUrl;
  const keyEnv = config.api_key_env ?? (config.base_url === undefined ? preset.defaultApiKeyEnv : undefined);
  return httpEndpointKey(config.provider, baseUrl, keyEnv);
}

/** Builds the SDK client for an endpoint; exported so the registry can share one per endpoint. */
export function createOpenAIClient(
  config: ModelConfig,
  apiKey: string,
  options: { fetch?: typeof fetch } = {},
): OpenAI {
  return new OpenAI({
    apiKey,
    // Explicit so that OPENAI_BASE_URL in the environment never redirects a configured model.
    baseURL: config.base_url ?? PROVIDER_PRESETS[config.provider].defaultBaseUrl ?? null,
    maxRetries: 0,
    timeout: (config.request_timeout ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(config.provider === "openrouter" ? { defaultHeaders: { "X-Title": "convosim" } } : {}),
  });
}

/**
 * Which field carries the completion limit. OpenAI deprecated `max_tokens` and its reasoning
 * models reject it, so OpenAI's own endpoint gets `max_completion_tokens`. Every other
 * OpenAI-compatible server (OpenRouter, vLLM, llama.cpp, Ollama, TGI, …) has accepted
 * `max_tokens` for years, while several older ones silently ignore `max_completion_tokens` —
 * so they get `max_tokens`. Either may be forced through extra_body, which then wins.
 */
export function completionLimitField(baseUrl: string | undefined): "max_completion_tokens" | "max_tokens" {
  if (baseUrl === undefined) return "max_completion_tokens";
  try {
    return new URL(baseUrl).hostname === "api.openai.com" ? "max_completion_tokens" : "max_tokens";
  } catch {
    return "max_tokens";
  }
}

interface CompletionBody {
  choices?: Array<{ message?: { content?: unknown }; finish_reason?: unknown }>;
  usage?: {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown } | null;
  } | null;
}

const count = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;

export class OpenAIChatModel implements ChatModel {
  readonly provider: string;
  readonly model: string;
  readonly endpointKey: string;
  readonly #config: ModelConfig;
  readonly #client: OpenAI;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #limitField: "max_completion_tokens" | "max_tokens";
  readonly #label: string;

  constructor(config: ModelConfig, apiKey: string, options: OpenAIChatModelOptions = {}) {
    this.provider = config.provider;
    this.model = config.model;
    this.#config = config;
    this.#apiKey = apiKey;
    this.#timeoutMs = (config.request_timeout ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000;
    this.#client = options.client ?? createOpenAIClient(config, apiKey, options);
    this.#limitField = completionLimitField(config.base_url);
    this.#label = `${config.provider} model ${config.model}`;
    this.endpointKey = options.endpointKey ?? defaultEndpointKey(config);
  }

  /** The request body: config defaults, per-call overrides, then extra_body passed through. */
  buildBody(request: ChatRequest): Record<string, unknown> {
    const extra = this.#config.extra_body ?? {};
    const body: Record<string, unknown> = {
      model: this.#config.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    };
    const temperature = request.temperature ?? this.#config.temperature;
    if (temperature !== undefined) body.temperature = temperature;
    const limit = request.maxTokens ?? this.#config.max_completion_tokens;
    if (limit !== undefined && !("max_tokens" in extra) && !("max_completion_tokens" in extra)) {
      body[this.#limitField] = limit;
    }
    if (request.seed !== undefined) body.seed = request.seed;
    Object.assign(body, extra);
    body.stream = false;
    return body;
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    const deadline = new CallDeadline(this.#timeoutMs, request.signal, { light: true });
    try {
      // extra_body may hold fields the SDK's types do not know: the body is built untyped and
      // handed over as the params type, which the SDK serialises unchanged.
      const params = this.buildBody(request) as unknown as ChatCompletionCreateParamsNonStreaming;
      // asResponse(): we parse the body ourselves, so a non-JSON body becomes `malformed` with
      // its request id instead of a bare SyntaxError from inside the SDK.
      const response = await this.#client.chat.completions
        .create(params, { signal: deadline.signal, timeout: this.#timeoutMs, maxRetries: 0 })
        .asResponse();
      const headers = response.headers;
      const requestId = headers.get("x-request-id") ?? undefined;
      // The rate-limit headers come with the response we already hold: no second request, and a
      // server that sends none costs two header look-ups.
      const rateLimit = parseOpenAIRateLimit((name) => headers.get(name));
      const raw = await response.text();
      return this.#parse(raw, request, requestId, rateLimit);
    } catch (error) {
      throw this.#mapError(error, deadline);
    } finally {
      deadline.dispose();
    }
  }

  #parse(
    raw: string,
    request: ChatRequest,
    requestId: string | undefined,
    rateLimit: RateLimitInfo | undefined,
  ): ChatResult {
    const malformed = (why: string, emptyReply = false) =>
      new ProviderError("malformed", `${this.#label}: ${why}`, {
        ...(requestId ? { requestId } : {}),
        ...(emptyReply ? { emptyReply } : {}),
      });
    let body: CompletionBody;
    try {
      body = JSON.parse(raw) as CompletionBody;
    } catch {
      throw malformed(`response body is not JSON (${raw.length} bytes)`);
    }
    if (body === null || typeof body !== "object") throw malformed("response body is not an object");
    const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
    const content = choice?.message?.content;
    if (typeof content !== "string") throw malformed("response has no choices[0].message.content");
    // An empty reply is treated as a glitch worth retrying (vLLM and proxies produce them now and
    // then), not as an answer: a conversation turn with no text is useless.
    if (content.trim() === "") {
      throw malformed(`empty reply (finish reason ${String(choice?.finish_reason ?? "unknown")})`, true);
    }
    const promptTokens = count(body.usage?.prompt_tokens);
    const completionTokens = count(body.usage?.completion_tokens);
    const cached = count(body.usage?.prompt_tokens_details?.cached_tokens);
    const usage: Usage = {
      // Servers that report no usage get an estimate rather than a misleading zero.
      prompt_tokens: promptTokens ?? estimatePromptTokens(request.messages),
      completion_tokens: completionTokens ?? estimateTokens(content),
      ...(cached === undefined ? {} : { cached_tokens: cached }),
    };
    return {
      text: content,
      usage,
      finishReason: typeof choice?.finish_reason === "string" ? choice.finish_reason : "unknown",
      provider: this.provider,
      model: this.model,
      ...(rateLimit ? { rateLimit } : {}),
    };
  }

  #mapError(error: unknown, deadline: CallDeadline): unknown {
    return mapSdkError(error, deadline, {
      label: this.#label,
      timeoutMs: this.#timeoutMs,
      secret: this.#apiKey,
      sdk: SDK_ERRORS,
    });
  }
}

/** The `message` of an OpenAI-style error body, if any. */
function apiMessage(body: unknown): string | undefined {
  if (body && typeof body === "object" && "message" in body && typeof body.message === "string") {
    return body.message;
  }
  return undefined;
}

const SDK_ERRORS: SdkErrorKinds = {
  isTimeout: (error) => error instanceof APIConnectionTimeoutError,
  isUserAbort: (error) => error instanceof APIUserAbortError,
  // Timeouts are connection errors too; they are recognised first.
  isConnection: (error): error is { cause?: unknown } => error instanceof APIConnectionError,
  httpError: (error) =>
    error instanceof APIError && typeof error.status === "number"
      ? {
          status: error.status,
          message: apiMessage(error.error) ?? error.message,
          headers: error.headers,
          requestId: error.requestID,
        }
      : undefined,
};
