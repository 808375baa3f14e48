// The `local` provider: a GGUF model run in process by node-llama-cpp (prebuilt llama.cpp
// binaries, CPU by default on machines without a GPU). The embedded models — by default
// Qwen2.5-Coder 0.5B Instruct Q4_K_M, and the pretrained Gemma 3 270M Q4_K_M the fast tests use —
// are fetched once by `npm run fetch-model` into the convosim cache (see model-cache.ts).
//
// Design choices:
// - One loaded model per process and path (runtime.ts), shared by every ChatModel pointing at
//   it, loaded lazily on the first complete() or load(); nothing happens at import time and
//   node-llama-cpp itself is imported on demand (runtime.ts's llamaModule): it is an optional
//   dependency, absent from an `--omit=optional` install.
// - Concurrency: one context with N sequences (CONVOSIM_LOCAL_SEQUENCES, default 2), one
//   LlamaCompletion (and, in chat format, one LlamaChat) per sequence, handed out by a FIFO pool
//   (pool.ts); node-llama-cpp batches the busy sequences into one llama_decode per step.
//   Measured on the 2-core machine with Gemma (1 thread; bench `embedded`, docs/providers-local.md
//   "Concurrency and reproducibility"): 1, 2, 4 and 8 sequences all gave 35–39 tokens per
//   CPU-second — the 262k-entry output layer dominates a token and small batches do not amortise
//   it — and overlapping calls on several sequences do not reproduce the replies of calls run one
//   at a time (llama.cpp's CPU kernels round differently by a token's place in the micro-batch).
//   We still default to 2: a long assistant reply no longer blocks every short simulated-user
//   turn queued behind it, and two conversations keep their prompt prefix in the KV cache, for
//   ≈35–50 MB more RAM. CONVOSIM_LOCAL_SEQUENCES=1 gives a plain serialising queue and
//   byte-identical reruns.
// - Prompt format (extra_body.prompt_format, default "auto"): an embedded model's catalogue
//   entry says how it is prompted (the instruction-tuned Qwen through its chat template, the
//   *pretrained* Gemma as a "User:/Assistant:" transcript it continues, transcript.ts); any
//   other GGUF is prompted through its chat template when it has one (tokenizer.chat_template),
//   else as a transcript.
import type { ModelConfig } from "../../schema/config.js";
import { ProviderError } from "../errors.js";
import type { ChatModel, ChatRequest, ChatResult } from "../types.js";
import {
  commonPrefixLength,
  type Generation,
  generateChat,
  generateTranscript,
  PromptTooLongError,
  routingKey,
} from "./generate.js";
import { type EmbeddedModel, type PromptFormat, resolveLocalModel } from "./model-cache.js";
import { parseLocalExtraBody, runtimeSettingsFromEnv } from "./options.js";
import { chatWrapperOf, type LoadedModel, leaseModel, llamaModule } from "./runtime.js";

export {
  convosimCacheDir,
  DEFAULT_LOCAL_MODEL,
  DEFAULT_MODEL_FILE,
  defaultModelPath,
  EMBEDDED_MODELS,
  type EmbeddedModel,
  embeddedModel,
  embeddedModelPath,
  type PromptFormat,
  resolveLocalModel,
  resolveLocalModelPath,
} from "./model-cache.js";

export interface LocalModelInfo {
  path: string;
  /** The catalogue name when the file is an embedded model (no model_path). */
  embedded: string | undefined;
  /** GGUF general.name and general.finetune (finetune undefined for the pretrained Gemma). */
  name: string | undefined;
  finetune: string | undefined;
  promptFormat: PromptFormat;
  /** node-llama-cpp's chat wrapper in chat format ("JinjaTemplate": the GGUF's own template). */
  chatWrapper: string | undefined;
  /** Milliseconds the shared model took to load its weights and create its context. */
  loadMs: number;
  sequences: number;
  contextSize: number;
}

export interface LocalChatModel extends ChatModel {
  /** Loads the model now instead of on the first complete(). */
  load(): Promise<LocalModelInfo>;
  /** Releases this model's reference; the last reference disposes the native model. */
  close(): Promise<void>;
}

export interface LocalModelOptions {
  /** Environment for cache and runtime settings; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Base for a relative model_path; defaults to process.cwd(). */
  cwd?: string;
}

const DEFAULT_TEMPERATURE = 0.7;
const DEFAULT_MAX_TOKENS = 256;

/**
 * Creates a ChatModel backed by the in-process model. Resolves the model file now (so that a
 * missing model fails at set-up with the fix in the message) but loads it on first use.
 * Throws ProviderError("config") for a bad extra_body, environment setting or model path, or
 * when node-llama-cpp (an optional dependency) is not installed.
 */
export async function createLocalChatModel(
  config: ModelConfig,
  options: LocalModelOptions = {},
): Promise<LocalChatModel> {
  const env = options.env ?? process.env;
  const extra = parseLocalExtraBody(config);
  const settings = runtimeSettingsFromEnv(env);
  // node-llama-cpp is optional: without it, say so at set-up (exit 2, no conversation started),
  // and before the model file, whose 491 MB fetch is of no use without it.
  await llamaModule();
  const { path, embedded } = await resolveLocalModel(config, {
    env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const lease = leaseModel(path, settings);
  let closed = false;

  const formatOf = (loaded: LoadedModel): PromptFormat =>
    promptFormatOf(extra.prompt_format, embedded, loaded);

  const info = async (loaded: LoadedModel): Promise<LocalModelInfo> => {
    const promptFormat = formatOf(loaded);
    return {
      path: loaded.path,
      embedded: embedded?.name,
      name: loaded.name,
      finetune: loaded.finetune,
      promptFormat,
      chatWrapper: promptFormat === "chat" ? (await chatWrapperOf(loaded)).wrapperName : undefined,
      loadMs: loaded.loadMs,
      sequences: loaded.settings.sequences,
      contextSize: loaded.context.contextSize,
    };
  };

  const ensureOpen = () => {
    if (closed) throw new Error(`local model "${config.model}" is closed`);
  };

  return {
    provider: "local",
    model: config.model,

    async load() {
      ensureOpen();
      return await info(await lease.get());
    },

    async complete(request: ChatRequest): Promise<ChatResult> {
      ensureOpen();
      const { signal } = request;
      if (signal?.aborted) throw signal.reason;
      const loaded = await lease.get();
      const sampling = {
        temperature: request.temperature ?? config.temperature ?? DEFAULT_TEMPERATURE,
        maxTokens: request.maxTokens ?? config.max_completion_tokens ?? DEFAULT_MAX_TOKENS,
        seed: request.seed ?? extra.seed,
        // The caller knows who is speaking (the simulated user flips roles); its labels win.
        extra: request.speakerLabels
          ? {
              ...extra,
              user_label: request.speakerLabels.user,
              assistant_label: request.speakerLabels.assistant,
            }
          : extra,
      };
      const key = routingKey(request.messages);
      // A caller may ask for a transcript even of a chat model (the simulated user does, types.ts).
      const format = request.promptStyle === "transcript" ? "transcript" : formatOf(loaded);
      const generate = format === "chat" ? generateChat : generateTranscript;
      // Queued for a sequence, the call also leaves at the run's stop (a generation never does).
      const { waitSignal } = request;
      const queueSignal = waitSignal ? (signal ? AbortSignal.any([signal, waitSignal]) : waitSignal) : signal;
      let generation: Generation;
      try {
        generation = await loaded.pool.use(
          (slot) => generate(slot, loaded, request.messages, sampling, signal),
          queueSignal,
          (slot) => commonPrefixLength(slot.lastPrompt, key),
        );
      } catch (error) {
        if (waitSignal?.aborted && error === waitSignal.reason) throw error;
        throw mapGenerationError(error, signal);
      }
      return {
        text: generation.text,
        usage: {
          prompt_tokens: generation.promptTokens,
          completion_tokens: generation.completionTokens,
          ...(generation.cachedTokens > 0 ? { cached_tokens: generation.cachedTokens } : {}),
        },
        finishReason: generation.finishReason,
        provider: "local",
        model: config.model,
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      await lease.release();
    },
  };
}

/**
 * `prompt_format` as configured; for "auto", the embedded model's catalogue entry, else whether
 * the GGUF carries a chat template.
 */
export function promptFormatOf(
  configured: "auto" | PromptFormat,
  embedded: EmbeddedModel | undefined,
  loaded: Pick<LoadedModel, "hasChatTemplate">,
): PromptFormat {
  if (configured !== "auto") return configured;
  if (embedded) return embedded.promptFormat;
  return loaded.hasChatTemplate ? "chat" : "transcript";
}

/** Aborts surface as the signal's reason (like fetch); the rest become ProviderErrors. */
function mapGenerationError(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  if (error instanceof ProviderError) return error;
  if (error instanceof PromptTooLongError)
    return new ProviderError("bad_request", error.message, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  // A failed llama_decode is the in-process analogue of a 5xx: worth one more try.
  return new ProviderError("server", `local model generation failed: ${message}`, { cause: error });
}
