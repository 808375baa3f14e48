// The run configuration: the reference's `interaction_generation` and `distractor` keys,
// plus what convosim adds (base_url, api_key_env, pricing, …). Every object is strict so
// that a misspelt key is an error naming the key, never silently ignored.
import { z } from "zod";
import { urlCredential } from "../shared/url-credentials.js";
import { EMBEDDED_MODEL_NAMES } from "./embedded-models.js";
import { CONFIGURABLE_GUARDS } from "./interaction.js";
import { LayerWeights, SteeringRow, StrategySetting } from "./noise.js";

export const PROVIDERS = ["openai", "openrouter", "anthropic", "local", "fake"] as const;
export const ProviderName = z.enum(PROVIDERS);
export type ProviderName = z.infer<typeof ProviderName>;

export { EMBEDDED_MODEL_NAMES };
export const DEFAULT_MODEL_NAME = EMBEDDED_MODEL_NAMES[0];

/**
 * http(s) only: a bare `localhost:8000/v1` is otherwise a "valid URL" whose scheme is
 * `localhost:`. No credentials: a URL ends up in logs, errors and saved metadata.
 */
const BaseUrl = z.url({ protocol: /^https?$/ }).superRefine((url, ctx) => {
  const credential = urlCredential(url);
  if (credential === undefined) return;
  ctx.addIssue({
    code: "custom",
    message:
      credential === "userinfo"
        ? "must not contain a user name or password (not shown) — put the key in an environment variable and name it with api_key_env"
        : "must not carry a key in its query string (not shown) — put the key in an environment variable and name it with api_key_env",
  });
});

/** How to reach one model. Shared by the assistant, the simulated user and helper models. */
export const ModelConfig = z.strictObject({
  provider: ProviderName.default("local"),
  model: z.string().min(1).default(DEFAULT_MODEL_NAME),
  temperature: z.number().min(0).max(2).optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  /** OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, Together, …). */
  base_url: BaseUrl.optional(),
  /** Name of the environment variable that holds the API key (never the key itself). */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name such as OPENAI_API_KEY")
    .optional(),
  /** `local` provider: a GGUF file path or a hub reference (hf:owner/repo/file.gguf). */
  model_path: z.string().min(1).optional(),
  /** Seconds before one model call is abandoned (and retried as a timeout). */
  request_timeout: z.number().positive().optional(),
  /**
   * The model's context window in tokens. A conversation whose next prompt (estimated, plus
   * this model's max_completion_tokens) would not fit ends as `context_full` instead of
   * growing until the endpoint refuses it. Absent: the embedded model's context size, a
   * known model's window, else 128k (docs/configuration.md).
   */
  context_window: z.number().int().min(256).max(100_000_000).optional(),
  /** Provider-specific request fields passed through unchanged (e.g. top_p, seed). */
  extra_body: z.record(z.string(), z.unknown()).optional(),
  /**
   * Client-side limits of this model's endpoint: requests and tokens per minute. Models on one
   * endpoint and key share one budget. Absent: learned from x-ratelimit-* headers, else
   * adaptive concurrency.
   */
  rate_limit: z
    .strictObject({
      rpm: z.number().positive().optional(),
      tpm: z.number().positive().optional(),
    })
    .optional(),
  /**
   * HTTP transport: `undici` (the default for OpenAI-compatible providers), a keep-alive undici
   * pool handed to the SDK — less CPU per call, and HTTP(S)_PROXY / NO_PROXY honoured — or `sdk`,
   * the SDK's own fetch (the default for anthropic).
   */
  transport: z.enum(["sdk", "undici"]).optional(),
});
export type ModelConfig = z.infer<typeof ModelConfig>;

export const PoolEntry = ModelConfig.extend({
  weight: z.number().min(0, "weights must not be negative").default(1),
});
export type PoolEntry = z.infer<typeof PoolEntry>;

export const AssistantModelConfig = ModelConfig.extend({
  temperature: z.number().min(0).max(2).default(0.7),
  max_completion_tokens: z.number().int().positive().default(1024),
  /** An empty reply is asked again this many times, each with a new seed and a little hotter. */
  max_reasks: z.number().int().min(0).max(10).default(2),
  /** System prompt given to the assistant model (a persona's system_prompt goes to the simulated user). */
  system_prompt: z.string().optional(),
  model_pool: z
    .array(PoolEntry)
    .optional()
    // An empty pool used to fall back to assistant_model's own model without a word.
    .refine((pool) => !pool || pool.length > 0, {
      message: "must list at least one model (or remove model_pool to use assistant_model itself)",
    })
    .refine((pool) => !pool || pool.length === 0 || pool.some((entry) => entry.weight > 0), {
      message: "at least one model_pool weight must be greater than 0",
    }),
});
export type AssistantModelConfig = z.infer<typeof AssistantModelConfig>;

export const UserModelConfig = ModelConfig.extend({
  temperature: z.number().min(0).max(2).default(0.8),
  max_completion_tokens: z.number().int().positive().default(256),
  /** Path to the simulated user's prompt template (relative to the config file). */
  system_prompt_template: z.string().min(1).optional(),
  /**
   * Probability that a follow-up reacts to the assistant's last answer (feedback: a
   * correction, complaint, thanks plus a refinement) rather than moving on to a new
   * related question. Drawn per follow-up from the conversation's seeded stream.
   */
  feedback_probability: z.number().min(0).max(1).default(0.6),
  /** The reply by which the simulated user ends the conversation, satisfied. */
  stop_marker: z.string().min(1).default("###STOP###"),
  /** The reply by which a stuck user, or one whose request is out of scope, ends it (`user_gave_up`). */
  give_up_marker: z.string().min(1).default("###GIVE_UP###"),
  /**
   * How an unusable reply (any turn guard, docs/simulated-user.md) is asked again: each ask
   * with a new seed, a little hotter, and told why the last one was rejected. After
   * 1 + max_reasks asks the step fails (and is retried as the conversation's max_retries allow).
   */
  max_reasks: z.number().int().min(0).max(10).default(2),
  /**
   * How the simulated user is prompted: `chat` (its history with roles flipped), `transcript`
   * (the conversation as a transcript inside one message, which small local models follow
   * better), or `auto` (transcript for the local provider, chat otherwise).
   */
  prompt_format: z.enum(["auto", "chat", "transcript"]).default("auto"),
  /** The turn guards (docs/simulated-user.md). */
  guards: z
    .strictObject({
      /** Guards to switch off, by name. `empty` cannot be switched off. */
      disable: z.array(z.enum(CONFIGURABLE_GUARDS)).default([]),
      /** too_long: the cap in words (default from the persona's style: 60–250). */
      max_words: z.number().int().positive().optional(),
      /** repeats_user: word 3-gram Jaccard similarity at which a reply repeats an earlier user turn. */
      near_duplicate: z.number().gt(0).max(1).default(0.8),
      /** copies_assistant: share of the reply's word 3-grams found in one assistant message. */
      copy_share: z.number().gt(0).max(1).default(0.6),
    })
    .prefault({}),
  /**
   * A conversation that met min_turns and then got no usable user turn is saved with the turns it
   * has and stop_reason `user_sim_failed`; false makes it a failure record instead.
   */
  save_on_failure: z.boolean().default(true),
});
export type UserModelConfig = z.infer<typeof UserModelConfig>;

const HelperModelConfig = z.strictObject({
  enabled: z.boolean().default(false),
  model: ModelConfig.optional(),
  prompt_template: z.string().min(1).optional(),
});

export const CallRetryConfig = z.strictObject({
  /** Retries of one model call for transient failures (429, 5xx, timeouts, dropped connections). */
  // Ceilings (docs/configuration.md): a retry count or a delay without one turns one failing
  // endpoint into a run that never ends.
  count: z.number().int().min(0).max(20).default(4),
  /** First backoff in seconds; doubles per attempt, with equal jitter (half to all of the step). */
  base_delay: z.number().min(0).max(600).default(0.5),
  /** Cap of one backoff in seconds (a longer Retry-After is still honoured, up to max_retry_after). */
  max_delay: z.number().min(0).max(600).default(30),
  /**
   * Longest Retry-After waited for, in seconds. A longer one fails the call and takes its endpoint
   * out of the run (rerun later), instead of stalling every conversation behind it.
   */
  max_retry_after: z.number().min(0).default(60),
});
export type CallRetryConfig = z.infer<typeof CallRetryConfig>;

/** Highest max_turns a config may ask for (docs/configuration.md says why). */
export const MAX_TURNS_CEILING = 200;
const MAX_TURNS_MESSAGE = `max_turns is at most ${MAX_TURNS_CEILING}: each turn resends the whole conversation, so cost grows with the square of the turns`;

export const InteractionGenerationConfig = z
  .strictObject({
    min_turns: z.number().int().min(1).default(2),
    // Every turn resends the whole history, so a conversation's prompt tokens grow with the
    // square of its turns: 200 turns of ~300 tokens is ~6M prompt tokens for one conversation.
    max_turns: z.number().int().min(1).max(MAX_TURNS_CEILING, MAX_TURNS_MESSAGE).default(5),
    max_workers: z.number().int().min(1, "max_workers must be at least 1").default(20),
    max_retries: z.number().int().min(0).max(20).default(3),
    retry_delay: z.number().min(0).max(600).default(2),
    max_supplement_rounds: z.number().int().min(0).max(20).default(3),
    /** Interactions wanted per persona; defaults to the number of queries it brings. */
    queries_per_persona: z.number().int().min(1).optional(),
    /** Conversations generated per query (each gets its own sample index and seed). */
    samples_per_query: z.number().int().min(1).default(1),
    seed: z.number().int().default(0),
    call_retries: CallRetryConfig.prefault({}),
    assistant_model: AssistantModelConfig.prefault({}),
    user_model: UserModelConfig.prefault({}),
    style_transfer: HelperModelConfig.prefault({}),
    query_generation: HelperModelConfig.prefault({}),
    /** Writes a scenario (goal, known/unknown facts, constraints) for queries that bring none. */
    scenario_generation: HelperModelConfig.prefault({}),
    /** After each assistant reply (from min_turns on): has the scenario's expected outcome been reached? */
    stop_judge: HelperModelConfig.prefault({}),
    /** Checks each user turn that passed the guards for role, persona consistency and leakage. */
    turn_verifier: HelperModelConfig.prefault({}),
  })
  .refine((c) => c.min_turns <= c.max_turns, {
    message: "min_turns must not be greater than max_turns",
    path: ["min_turns"],
  });
export type InteractionGenerationConfig = z.infer<typeof InteractionGenerationConfig>;

/**
 * The reference's distractor block plus convosim's noise knobs (docs/noise.md). Rule-based
 * layers need no model; `use_semantic` adds the model-driven layers, played by `model`
 * (default: the user model).
 */
export const DistractorConfig = z.strictObject({
  enabled: z.boolean().default(false),
  use_semantic: z.boolean().default(false),
  activation_probability: z.number().min(0).max(1).default(0.25),
  /** A YAML/JSON file of strategy settings (the reference's strategy file). */
  strategy_path: z.string().min(1).optional(),
  layer_weights: LayerWeights.prefault({}),
  /** Per-strategy settings by name; the reference's names are accepted. */
  strategies: z.record(z.string(), StrategySetting).default({}),
  /** Overrides of the persona steering table, by parameter name. */
  steering: z.record(z.string(), SteeringRow).default({}),
  /** Force one input channel for every persona instead of choosing it from the persona. */
  channel: z.enum(["desktop", "mobile_autocorrect", "mobile_raw", "voice", "paste"]).optional(),
  /** The model that writes and verifies semantic rewrites (default: the user model). */
  model: ModelConfig.optional(),
  /** At most this many semantic (L4–L6) events in one user turn. */
  max_semantic_events_per_turn: z.number().int().min(0).default(1),
  /** Verifier attempts per semantic rewrite before it is dropped (and counted). */
  verifier_attempts: z.number().int().min(1).default(2),
});
export type DistractorConfig = z.infer<typeof DistractorConfig>;

/** USD per million tokens. Keys are "provider/model" (e.g. "openai/gpt-4o-mini"). */
export const PriceEntry = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  cached_input: z.number().min(0).optional(),
});
export type PriceEntry = z.infer<typeof PriceEntry>;

export const ConvosimConfig = z.strictObject({
  interaction_generation: InteractionGenerationConfig.prefault({}),
  distractor: DistractorConfig.prefault({}),
  pricing: z.record(z.string(), PriceEntry).default({}),
});
export type ConvosimConfig = z.infer<typeof ConvosimConfig>;
/** What a user may write: every key optional. */
export type ConvosimConfigInput = z.input<typeof ConvosimConfig>;
