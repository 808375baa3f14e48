// A ChatModel over @anthropic-ai/sdk (the Messages API). Differences from the OpenAI shape that
// this file absorbs: system text is a separate parameter, turns must alternate starting with the
// user, max_tokens is mandatory, temperature stops at 1, and cached prompt tokens are reported
// apart from input_tokens. Retries are off here too; failures leave as ProviderError.
import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "@anthropic-ai/sdk";
import type { MessageCreateParamsNonStreaming } from "@anthropic-ai/sdk/resources/messages/messages";
import type { ModelConfig } from "../schema/config.js";
import type { RateLimitInfo, Usage } from "../schema/usage.js";
import { CallDeadline } from "./call-deadline.js";
import { ProviderError } from "./errors.js";
import { mapSdkError, type SdkErrorKinds } from "./http-errors.js";
import { DEFAULT_REQUEST_TIMEOUT_S, PROVIDER_PRESETS } from "./presets.js";
import { httpEndpointKey, parseAnthropicRateLimit } from "./rate-limit-headers.js";
import type { ChatMessage, ChatModel, ChatRequest, ChatResult } from "./types.js";

/** Anthropic requires max_tokens; used when neither the call nor the config sets a limit. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 1024;

/** Inserted when a conversation would open with an assistant turn, which the API rejects. */
export const OPENING_USER_TURN = "(conversation start)";

export interface AnthropicChatModelOptions {
  fetch?: typeof fetch;
  client?: Anthropic;
  /** The rate-limit budget (the registry passes provider|endpoint|key variable). */
  endpointKey?: string;
}

export function createAnthropicClient(
  config: ModelConfig,
  apiKey: string,
  options: { fetch?: typeof fetch } = {},
): Anthropic {
  return new Anthropic({
    // Passing the key (and the URL) explicitly keeps the SDK from reading ANTHROPIC_* variables
    // or credential profiles on its own: the config is the single source of truth.
    apiKey,
    baseURL: config.base_url ?? PROVIDER_PRESETS.anthropic.defaultBaseUrl ?? null,
    maxRetries: 0,
    timeout: (config.request_timeout ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

type Turn = { role: "user" | "assistant"; content: string };

/** Splits system text off and merges same-role neighbours so turns alternate, user first. */
export function toAnthropicMessages(messages: readonly ChatMessage[]): { system: string; turns: Turn[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  for (const message of messages) {
    if (message.role === "system") {
      system.push(message.content);
      continue;
    }
    const last = turns[turns.length - 1];
    if (last && last.role === message.role) last.content = `${last.content}\n\n${message.content}`;
    else turns.push({ role: message.role, content: message.content });
  }
  if (turns[0]?.role !== "user") turns.unshift({ role: "user", content: OPENING_USER_TURN });
  return { system: system.join("\n\n"), turns };
}

interface MessageBody {
  content?: Array<{ type?: unknown; text?: unknown }>;
  stop_reason?: unknown;
  usage?: {
    input_tokens?: unknown;
    output_tokens?: unknown;
    cache_read_input_tokens?: unknown;
    cache_creation_input_tokens?: unknown;
  } | null;
}

const count = (value: unknown): number => (typeof value === "number" && value >= 0 ? value : 0);

/** Anthropic's stop reasons in the OpenAI vocabulary the rest of convosim uses. */
function finishReason(stop: unknown): string {
  if (stop === "end_turn" || stop === "stop_sequence") return "stop";
  if (stop === "max_tokens") return "length";
  return typeof stop === "string" ? stop : "unknown";
}

export class AnthropicChatModel implements ChatModel {
  readonly provider = "anthropic";
  readonly model: string;
  readonly endpointKey: string;
  readonly #config: ModelConfig;
  readonly #client: Anthropic;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #label: string;

  constructor(config: ModelConfig, apiKey: string, options: AnthropicChatModelOptions = {}) {
    this.model = config.model;
    this.#config = config;
    this.#apiKey = apiKey;
    this.#timeoutMs = (config.request_timeout ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000;
    this.#client = options.client ?? createAnthropicClient(config, apiKey, options);
    this.#label = `anthropic model ${config.model}`;
    this.endpointKey =
      options.endpointKey ??
      httpEndpointKey(
        "anthropic",
        config.base_url ?? PROVIDER_PRESETS.anthropic.defaultBaseUrl,
        config.api_key_env ??
          (config.base_url === undefined ? PROVIDER_PRESETS.anthropic.defaultApiKeyEnv : undefined),
      );
  }

  buildBody(request: ChatRequest): Record<string, unknown> {
    const { system, turns } = toAnthropicMessages(request.messages);
    const body: Record<string, unknown> = {
      model: this.#config.model,
      max_tokens: request.maxTokens ?? this.#config.max_completion_tokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
      messages: turns,
    };
    if (system !== "") body.system = system;
    const temperature = request.temperature ?? this.#config.temperature;
    // The Messages API accepts 0..1 where OpenAI accepts 0..2; the top of the shared range maps
    // to Anthropic's most random setting rather than failing every call with a 400.
    if (temperature !== undefined) body.temperature = Math.min(1, temperature);
    // There is no seed parameter in the Messages API: request.seed is not sent.
    Object.assign(body, this.#config.extra_body ?? {});
    body.stream = false;
    return body;
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    const deadline = new CallDeadline(this.#timeoutMs, request.signal);
    try {
      const params = this.buildBody(request) as unknown as MessageCreateParamsNonStreaming;
      const response = await this.#client.messages
        .create(params, { signal: deadline.signal, timeout: this.#timeoutMs, maxRetries: 0 })
        .asResponse();
      const headers = response.headers;
      const requestId = headers.get("request-id") ?? undefined;
      const rateLimit = parseAnthropicRateLimit((name) => headers.get(name));
      return this.#parse(await response.text(), requestId, rateLimit);
    } catch (error) {
      throw this.#mapError(error, deadline);
    } finally {
      deadline.dispose();
    }
  }

  #parse(raw: string, requestId: string | undefined, rateLimit: RateLimitInfo | undefined): ChatResult {
    const malformed = (why: string, emptyReply = false) =>
      new ProviderError("malformed", `${this.#label}: ${why}`, {
        ...(requestId ? { requestId } : {}),
        ...(emptyReply ? { emptyReply } : {}),
      });
    let body: MessageBody;
    try {
      body = JSON.parse(raw) as MessageBody;
    } catch {
      throw malformed(`response body is not JSON (${raw.length} bytes)`);
    }
    if (body === null || typeof body !== "object" || !Array.isArray(body.content)) {
      throw malformed("response has no content array");
    }
    const texts = body.content.filter((b) => b.type === "text" && typeof b.text === "string");
    const text = texts.map((b) => b.text as string).join("");
    // As for OpenAI: an empty reply is a retryable glitch, not an answer.
    if (text.trim() === "")
      throw malformed(`empty reply (stop reason ${String(body.stop_reason ?? "unknown")})`, true);
    const cacheRead = count(body.usage?.cache_read_input_tokens);
    const usage: Usage = {
      // input_tokens excludes cached and cache-written tokens; convosim's prompt_tokens counts the
      // whole prompt with cached_tokens as a part of it (the OpenAI convention pricing relies on).
      prompt_tokens:
        count(body.usage?.input_tokens) + cacheRead + count(body.usage?.cache_creation_input_tokens),
      completion_tokens: count(body.usage?.output_tokens),
      ...(cacheRead > 0 ? { cached_tokens: cacheRead } : {}),
    };
    return {
      text,
      usage,
      finishReason: finishReason(body.stop_reason),
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

const SDK_ERRORS: SdkErrorKinds = {
  isTimeout: (error) => error instanceof APIConnectionTimeoutError,
  isUserAbort: (error) => error instanceof APIUserAbortError,
  // Timeouts are connection errors too; they are recognised first.
  isConnection: (error): error is { cause?: unknown } => error instanceof APIConnectionError,
  httpError: (error) =>
    error instanceof APIError && typeof error.status === "number"
      ? {
          status: error.status,
          message: error.apiMessage ?? error.message,
          headers: error.headers,
          requestId: error.requestID,
        }
      : undefined,
};
