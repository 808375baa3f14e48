// Builds the live parts of a run from a validated config: the assistant pool, the
// simulated user, the optional style-transfer and query-generation models, prices.
// checkRuntimeConfig does every check that needs no model, so bad config fails before
// any call is made.
import { asyncScheduler, lastValueFrom, type SchedulerLike } from "rxjs";
import { type ModelIdentity, modelIdentity, type ResponseCache } from "../cache/index.js";
import { InputError } from "../config/errors.js";
import { AssistantPool, type PoolMember } from "../conversation/assistant-pool.js";
import { PriceTable } from "../conversation/pricing.js";
import { QueryGenerator } from "../conversation/query-generator.js";
import { ScenarioGenerator } from "../conversation/scenario-generator.js";
import { StopJudge } from "../conversation/stop-judge.js";
import { TurnVerifier } from "../conversation/turn-verifier.js";
import { UserSimulator } from "../conversation/user-simulator.js";
import type { RateLimitConfig } from "../limits/endpoint-budget.js";
import { EndpointBudgets, endpointKeyOf } from "../limits/endpoint-budgets.js";
import type { Admission } from "../limits/types.js";
import { buildDistractor, type Distractor } from "../noise/distractor.js";
import { buildSettings } from "../noise/distractor-settings.js";
import { DistractorConfigError } from "../noise/distractor-strategies.js";
import type { SemanticCall } from "../noise/semantic/rewrite.js";
import { type CallRetryPolicy, cacheOption, callModel, withAdmission } from "../operators/call-model.js";
import { contextWindowOf } from "../providers/context-window.js";
import { ProviderError } from "../providers/errors.js";
import { checkModelConfig, createChatModel } from "../providers/registry.js";
import type { ChatModel } from "../providers/types.js";
import { type ConvosimConfig, ModelConfig, type PoolEntry } from "../schema/config.js";

export interface Runtime {
  pool: AssistantPool;
  /** What the response cache keys a model's calls by (endpoint, model, settings). */
  identityOf(model: ChatModel): ModelIdentity | undefined;
  /** Admission control of a hosted model's endpoint (none for local and fake models). */
  admissionFor(model: ChatModel): Admission | undefined;
  /** The per-endpoint budgets, for progress and benchmarks. */
  budgets: EndpointBudgets;
  user: UserSimulator;
  styleModel?: ChatModel;
  queryGenerator?: QueryGenerator;
  scenarioGenerator?: ScenarioGenerator;
  judge?: StopJudge;
  verifier?: TurnVerifier;
  /** The model of the distractor's semantic layers (distractor.enabled and use_semantic). */
  distractorModel?: ChatModel;
  prices: PriceTable;
  callRetry: CallRetryPolicy;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  /**
   * Wraps each endpoint's local admission, e.g. behind a budget shared by many processes (a queue
   * worker chains it to the cluster-wide limit in Redis: src/queue/shared-rate-limit.ts).
   */
  wrapAdmission?: (local: Admission, endpointKey: string, limit?: RateLimitConfig) => Admission;
  /** Drives the rate-limit timers; virtual in marble tests. */
  scheduler?: SchedulerLike;
}

// Hosted APIs cap requests and tokens per minute; local and fake models have no such limits.
const RATE_LIMITED: ReadonlySet<string> = new Set(["openai", "openrouter", "anthropic"]);

// The keys of a ModelConfig: what says *which* model and how to call it.
const MODEL_KEYS = Object.keys(ModelConfig.shape) as Array<keyof ModelConfig>;

/** A ModelConfig without role-specific extras (weight, system_prompt, feedback settings, …). */
function modelOnly(config: ModelConfig): ModelConfig {
  const picked: Record<string, unknown> = {};
  for (const key of MODEL_KEYS) if (config[key] !== undefined) picked[key] = config[key];
  return picked as ModelConfig;
}

/** The assistant's pool: model_pool when given (entries inherit sampling settings), else the one model. */
export function poolEntries(config: ConvosimConfig): PoolEntry[] {
  const assistant = config.interaction_generation.assistant_model;
  const pool = assistant.model_pool;
  if (!pool || pool.length === 0) return [{ ...modelOnly(assistant), weight: 1 }];
  return pool.map((entry) => ({
    ...entry,
    temperature: entry.temperature ?? assistant.temperature,
    max_completion_tokens: entry.max_completion_tokens ?? assistant.max_completion_tokens,
  }));
}

/** Model configs by where they come from in the YAML, for checks and error messages. */
export function modelConfigs(config: ConvosimConfig): Array<{ field: string; model: ModelConfig }> {
  const ig = config.interaction_generation;
  const list: Array<{ field: string; model: ModelConfig }> = [];
  const pool = ig.assistant_model.model_pool;
  if (pool && pool.length > 0)
    for (const [i, entry] of pool.entries()) {
      list.push({ field: `interaction_generation.assistant_model.model_pool[${i}]`, model: entry });
    }
  else list.push({ field: "interaction_generation.assistant_model", model: modelOnly(ig.assistant_model) });
  list.push({ field: "interaction_generation.user_model", model: modelOnly(ig.user_model) });
  if (ig.style_transfer.enabled)
    list.push({
      field: "interaction_generation.style_transfer.model",
      model: ig.style_transfer.model ?? modelOnly(ig.user_model),
    });
  if (ig.query_generation.enabled)
    list.push({
      field: "interaction_generation.query_generation.model",
      model: ig.query_generation.model ?? modelOnly(ig.user_model),
    });
  for (const helper of ["scenario_generation", "stop_judge", "turn_verifier"] as const) {
    if (ig[helper].enabled)
      list.push({
        field: `interaction_generation.${helper}.model`,
        model: ig[helper].model ?? modelOnly(ig.user_model),
      });
  }
  if (config.distractor.enabled && config.distractor.use_semantic)
    list.push({ field: "distractor.model", model: config.distractor.model ?? modelOnly(ig.user_model) });
  return list;
}

/** A bad strategy file or distractor.strategies key, as the CLI's one-line input error. */
function asInputError(error: unknown): unknown {
  if (!(error instanceof DistractorConfigError)) return error;
  return new InputError(
    {
      ...(error.file ? { file: error.file } : {}),
      field: error.field,
      message: error.problem,
      ...(error.hint ? { hint: error.hint } : {}),
    },
    { cause: error },
  );
}

/** Reads and checks the distractor's strategy file and strategy names (when it is enabled). */
export function checkDistractorConfig(config: ConvosimConfig): void {
  if (!config.distractor.enabled) return;
  try {
    buildSettings(config.distractor);
  } catch (error) {
    throw asInputError(error);
  }
}

/**
 * An explicit distractor.model's temperature and max_completion_tokens apply to the semantic
 * calls; inherited from the user model they do not (its 256-token cap would cut rewrites short).
 */
export function samplingOf(model: ModelConfig | undefined): { temperature?: number; maxTokens?: number } {
  return {
    ...(model?.temperature !== undefined ? { temperature: model.temperature } : {}),
    ...(model?.max_completion_tokens !== undefined ? { maxTokens: model.max_completion_tokens } : {}),
  };
}

export interface DistractorWiring {
  cache?: ResponseCache;
  signal?: AbortSignal;
  /** The run's stop (a first Ctrl-C): semantic calls queued or backing off end at once. */
  stopSignal?: AbortSignal;
  scheduler?: SchedulerLike;
}

/**
 * The run's distractor from config.distractor (undefined when it is off): semantic calls go
 * through callModel like every other call — retries with backoff, the endpoint's rate limits,
 * the response cache — and their usage is recorded on the interaction (operation "distractor").
 */
export function runtimeDistractor(
  config: ConvosimConfig,
  runtime: Runtime,
  wiring: DistractorWiring = {},
): Distractor | undefined {
  if (!config.distractor.enabled) return undefined;
  const model = runtime.distractorModel;
  const call: SemanticCall | undefined = model
    ? (request) =>
        lastValueFrom(
          callModel(model, request, {
            retry: runtime.callRetry,
            scheduler: wiring.scheduler ?? asyncScheduler,
            jitterSeed: request.seed ?? 0,
            ...(wiring.cache
              ? cacheOption({ store: wiring.cache, identityOf: runtime.identityOf }, model)
              : {}),
            ...withAdmission(runtime.admissionFor(model)),
            ...(wiring.signal ? { signal: wiring.signal } : {}),
            ...(wiring.stopSignal ? { stopSignal: wiring.stopSignal } : {}),
          }),
        )
    : undefined;
  try {
    return buildDistractor(config.distractor, {
      seed: config.interaction_generation.seed,
      ...(model ? { model } : {}),
      ...(call ? { call } : {}),
      ...samplingOf(config.distractor.model),
    });
  } catch (error) {
    throw asInputError(error);
  }
}

export interface RuntimeCheckOptions {
  /**
   * false for a dry run: it only estimates and calls nothing, so it must work before the user
   * has a key (seeing the cost is often why they have not set one up yet).
   */
  requireKeys?: boolean;
}

/** Throws (naming the environment variable) when a key is missing or a provider is unusable. */
export function checkRuntimeConfig(
  config: ConvosimConfig,
  env: NodeJS.ProcessEnv = process.env,
  options: RuntimeCheckOptions = {},
): void {
  // `where`: the error names the model block (the config may have several).
  if (options.requireKeys !== false)
    for (const { field, model } of modelConfigs(config)) checkModelConfig(model, env, { where: field });
  checkDistractorConfig(config);
}

/**
 * A config problem found after loading (a key variable not set, a bad strategy name) as an input
 * error that also names the config file, so the CLI's one line says where to look.
 */
export function inConfigFile(error: unknown, file: string | undefined): unknown {
  if (file === undefined) return error;
  if (error instanceof InputError && error.file === undefined) {
    return new InputError(
      {
        file,
        ...(error.field !== undefined ? { field: error.field } : {}),
        message: error.message,
        ...(error.hint !== undefined ? { hint: error.hint } : {}),
        more: error.more,
      },
      { cause: error },
    );
  }
  if (error instanceof ProviderError && error.kind === "config")
    return new InputError({ file, message: error.message }, { cause: error });
  return error;
}

export async function buildRuntime(config: ConvosimConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  checkRuntimeConfig(config, options.env);
  const ig = config.interaction_generation;
  const create = (model: ModelConfig) =>
    createChatModel(model, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  const created: ChatModel[] = [];
  const identities = new WeakMap<ChatModel, ModelIdentity>();
  const budgets = new EndpointBudgets({
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
    maxPauseMs: ig.call_retries.max_retry_after * 1000,
    firstContactAlone: true, // a wrong key costs one request, not one per conversation
  });
  const admissions = new WeakMap<ChatModel, Admission>();
  const track = async (model: ModelConfig) => {
    const chat = await create(model);
    created.push(chat);
    identities.set(chat, modelIdentity(model));
    // Registered at build time, so every configured limit of an endpoint is known before a call.
    if (RATE_LIMITED.has(model.provider)) {
      const local = budgets.for(chat, model.rate_limit);
      const wrap = options.wrapAdmission;
      admissions.set(chat, wrap ? wrap(local, endpointKeyOf(chat), model.rate_limit) : local);
    }
    return chat;
  };

  const members: PoolMember[] = [];
  for (const entry of poolEntries(config)) {
    members.push({
      model: await track(modelOnly(entry)),
      weight: entry.weight,
      temperature: entry.temperature ?? ig.assistant_model.temperature,
      maxTokens: entry.max_completion_tokens ?? ig.assistant_model.max_completion_tokens,
      systemPrompt: ig.assistant_model.system_prompt,
      contextWindow: contextWindowOf(entry),
    });
  }
  const userModel = await track(modelOnly(ig.user_model));
  const runtime: Runtime = {
    pool: new AssistantPool(members),
    identityOf: (model) => identities.get(model),
    admissionFor: (model) => admissions.get(model),
    budgets,
    user: new UserSimulator(userModel, ig.user_model),
    prices: new PriceTable(config.pricing),
    callRetry: {
      count: ig.call_retries.count,
      baseDelayMs: ig.call_retries.base_delay * 1000,
      maxDelayMs: ig.call_retries.max_delay * 1000,
      maxRetryAfterMs: ig.call_retries.max_retry_after * 1000,
    },
    close: async () => {
      await Promise.allSettled([...new Set(created)].map((m) => m.close?.()));
    },
  };
  if (ig.style_transfer.enabled)
    runtime.styleModel = await track(ig.style_transfer.model ?? modelOnly(ig.user_model));
  if (ig.query_generation.enabled) {
    const model = await track(ig.query_generation.model ?? modelOnly(ig.user_model));
    runtime.queryGenerator = new QueryGenerator({ model, template: ig.query_generation.prompt_template });
  }
  const helper = (name: "scenario_generation" | "stop_judge" | "turn_verifier") =>
    track(ig[name].model ?? modelOnly(ig.user_model));
  if (ig.scenario_generation.enabled)
    runtime.scenarioGenerator = new ScenarioGenerator(
      await helper("scenario_generation"),
      ig.scenario_generation.prompt_template,
    );
  if (ig.stop_judge.enabled)
    runtime.judge = new StopJudge(await helper("stop_judge"), ig.stop_judge.prompt_template);
  if (ig.turn_verifier.enabled)
    runtime.verifier = new TurnVerifier(await helper("turn_verifier"), ig.turn_verifier.prompt_template);
  if (config.distractor.enabled && config.distractor.use_semantic)
    runtime.distractorModel = await track(config.distractor.model ?? modelOnly(ig.user_model));
  return runtime;
}
