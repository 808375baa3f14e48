// One llama.cpp runtime and at most one loaded copy of each GGUF per process, shared by every
// LocalChatModel that points at it (assistant and simulated user alike). Loading is lazy and
// memoised; each loaded model owns one context whose sequences form a SlotPool. Reference
// counts decide when a model is disposed; the runtime itself (getLlama) lives for the process —
// it holds no model memory and does not keep Node's event loop alive.
import type {
  ChatWrapper,
  Llama,
  LlamaChat,
  LlamaCompletion,
  LlamaContext,
  LlamaContextSequence,
  LlamaModel,
} from "node-llama-cpp";
import { ProviderError } from "../errors.js";
import type { RuntimeSettings } from "./options.js";
import { SlotPool } from "./pool.js";

export interface Slot {
  sequence: LlamaContextSequence;
  completion: LlamaCompletion;
  /** Created on first use in chat format. */
  chat?: LlamaChat;
  /** The last prompt evaluated on this sequence, to route a conversation back to its cache. */
  lastPrompt: string;
}

export interface LoadedModel {
  path: string;
  model: LlamaModel;
  context: LlamaContext;
  pool: SlotPool<Slot>;
  /** From GGUF metadata: instruction-tuned models ship a chat template. */
  hasChatTemplate: boolean;
  /** How chat-format prompts are rendered; resolved on first use (see chatWrapperOf). */
  chatWrapper?: ChatWrapper;
  /** general.name / general.finetune, for messages and the docs. */
  name: string | undefined;
  finetune: string | undefined;
  loadMs: number;
  settings: RuntimeSettings;
}

interface Entry {
  refs: number;
  loading: Promise<LoadedModel> | undefined;
}

let llamaPromise: Promise<Llama> | undefined;
const entries = new Map<string, Entry>();

type LlamaModule = typeof import("node-llama-cpp");

/**
 * The fix named when node-llama-cpp is absent. It is an optional dependency (≈700 MB with its
 * prebuilt binaries), so `npm i convosim --omit=optional` leaves it out; keep the version equal
 * to package.json's optionalDependencies (test/providers/local-runtime-missing.test.ts).
 */
export const LOCAL_RUNTIME_INSTALL = "npm i node-llama-cpp@3.21.1";

const importLlamaModule = (): Promise<LlamaModule> => import("node-llama-cpp");
let loadLlamaModule = importLlamaModule;
let llamaModulePromise: Promise<LlamaModule> | undefined;

/**
 * node-llama-cpp, imported on first use (≈300 ms), so runs without the local provider neither pay
 * for it nor need it installed. Every import of it in src/ goes through here (type imports
 * aside), so a missing package is always the same one-line config error. A failed import is
 * not remembered: installing the package and retrying in the same process works.
 */
export function llamaModule(): Promise<LlamaModule> {
  if (!llamaModulePromise) {
    llamaModulePromise = loadLlamaModule().catch((error: unknown) => {
      llamaModulePromise = undefined;
      throw runtimeImportError(error);
    });
  }
  return llamaModulePromise;
}

/** Test seam: replaces how node-llama-cpp is imported; returns a function restoring the real import. */
export function setLlamaModuleLoader(loader: () => Promise<LlamaModule>): () => void {
  loadLlamaModule = loader;
  llamaModulePromise = undefined;
  return () => {
    loadLlamaModule = importLlamaModule;
    llamaModulePromise = undefined;
  };
}

function runtimeImportError(error: unknown): ProviderError {
  const code = (error as { code?: unknown } | null)?.code;
  // Node names the package it could not find; node-llama-cpp itself absent is the omitted optional
  // dependency, anything else a broken install of it.
  const absent =
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    /['"]node-llama-cpp['"]/.test(messageOf(error));
  return new ProviderError(
    "config",
    absent
      ? "the local model needs node-llama-cpp, which is not installed (an optional dependency: " +
          `\`--omit=optional\` leaves it out): run \`${LOCAL_RUNTIME_INSTALL}\`, or choose a hosted model (docs/providers.md)`
      : `node-llama-cpp could not be imported (${messageOf(error)}); reinstall it: \`${LOCAL_RUNTIME_INSTALL}\``,
    { cause: error },
  );
}

/** getLlama() once per process, prebuilt binaries only: never a source build or a download. */
async function loadLlama(settings: RuntimeSettings): Promise<Llama> {
  if (!llamaPromise) {
    llamaPromise = (async () => {
      const { getLlama, LlamaLogLevel } = await llamaModule();
      return getLlama({
        build: "never",
        gpu: settings.gpu,
        logLevel: LlamaLogLevel.error,
        ...(settings.threads ? { maxThreads: settings.threads } : {}),
      });
    })().catch((error: unknown) => {
      llamaPromise = undefined;
      if (error instanceof ProviderError) throw error; // node-llama-cpp missing: llamaModule's message
      throw new ProviderError(
        "config",
        `node-llama-cpp could not start its prebuilt llama.cpp binaries on ${process.platform}-${process.arch} ` +
          `(${messageOf(error)}). Reinstall it (\`${LOCAL_RUNTIME_INSTALL}\`) so that @node-llama-cpp/${process.platform}-${process.arch} is present.`,
        { cause: error },
      );
    });
  }
  return llamaPromise;
}

async function load(path: string, settings: RuntimeSettings): Promise<LoadedModel> {
  const llama = await loadLlama(settings);
  const { LlamaCompletion } = await llamaModule();
  const started = performance.now();
  let model: LlamaModel | undefined;
  try {
    model = await llama.loadModel({ modelPath: path });
    const threads = settings.threads ?? defaultThreads(llama.cpuMathCores);
    const context = await model.createContext({
      contextSize: settings.contextSize,
      sequences: settings.sequences,
      threads,
    });
    const slots: Slot[] = [];
    for (let i = 0; i < settings.sequences; i++) {
      const sequence = context.getSequence();
      slots.push({
        sequence,
        completion: new LlamaCompletion({ contextSequence: sequence }),
        lastPrompt: "",
      });
    }
    const general = model.fileInfo.metadata.general;
    // node-llama-cpp's types omit general.finetune ("it" on instruction-tuned Gemma GGUFs).
    const finetune = (general as { finetune?: unknown } | undefined)?.finetune;
    return {
      path,
      model,
      context,
      pool: new SlotPool(slots),
      hasChatTemplate: typeof model.fileInfo.metadata.tokenizer?.chat_template === "string",
      name: general?.name,
      finetune: typeof finetune === "string" ? finetune : undefined,
      loadMs: Math.round(performance.now() - started),
      settings,
    };
  } catch (error) {
    await model?.dispose().catch(() => undefined);
    throw new ProviderError(
      "config",
      `failed to load local model ${path}: ${messageOf(error)}. Check that it is a complete GGUF file ` +
        "(for an embedded model: `npx convosim fetch-model --verify`) and that it fits in memory " +
        "(CONVOSIM_LOCAL_CONTEXT_SIZE / CONVOSIM_LOCAL_SEQUENCES shrink the context).",
      { cause: error },
    );
  }
}

/**
 * The chat wrapper of a loaded model, resolved once and shared by its sequences. A GGUF with a
 * chat template is rendered by that very template (node-llama-cpp's Jinja engine), so prompts
 * are exactly what the model was tuned on — Qwen2.5's template, for one, adds its default system
 * message when the conversation has none, which node-llama-cpp's specialised Qwen wrapper
 * leaves out. A GGUF without a template (prompt_format: chat forced on a pretrained model) gets
 * node-llama-cpp's own choice for its architecture.
 */
export async function chatWrapperOf(loaded: LoadedModel): Promise<ChatWrapper> {
  if (!loaded.chatWrapper) {
    const { resolveChatWrapper } = await llamaModule();
    loaded.chatWrapper = loaded.hasChatTemplate
      ? resolveChatWrapper(loaded.model, { type: "jinjaTemplate" })
      : resolveChatWrapper(loaded.model);
  }
  return loaded.chatWrapper;
}

/**
 * One core is left to Node and everything else on the machine. llama.cpp's worker threads
 * spin at every barrier, so when another process takes "their" core a step waits a whole
 * scheduler slice: on the shared 2-core machine 2 threads swung between 3.6 and 53 tokens/s,
 * while 1 thread held 40–48 tokens/s. Beyond 4 threads a 270M model gains little.
 */
export function defaultThreads(mathCores: number): number {
  return Math.max(1, Math.min(4, mathCores - 1));
}

/** A reference to the shared model at `path`; it loads on first get(). */
export interface ModelLease {
  get(): Promise<LoadedModel>;
  /** Drops this reference; the last one disposes the model once in-flight calls finish. */
  release(): Promise<void>;
}

export function leaseModel(path: string, settings: RuntimeSettings): ModelLease {
  let entry = entries.get(path);
  if (!entry) {
    entry = { refs: 0, loading: undefined };
    entries.set(path, entry);
  }
  const own = entry;
  own.refs += 1;
  let released = false;
  return {
    get() {
      if (released) return Promise.reject(new Error("the local model was closed"));
      if (!own.loading) {
        own.loading = load(path, settings);
        // A failed load is not cached: the next call tries again (e.g. after fetch-model).
        own.loading.catch(() => {
          if (entries.get(path) === own) own.loading = undefined;
        });
      }
      return own.loading;
    },
    async release() {
      if (released) return;
      released = true;
      own.refs -= 1;
      if (own.refs > 0) return;
      if (entries.get(path) === own) entries.delete(path);
      const loading = own.loading;
      own.loading = undefined;
      if (!loading) return;
      const loaded = await loading.catch(() => undefined);
      if (!loaded) return;
      await loaded.pool.idle();
      await loaded.context.dispose();
      await loaded.model.dispose();
    },
  };
}

/** Paths of models currently referenced (for tests and diagnostics). */
export function leasedModelPaths(): string[] {
  return [...entries.keys()];
}

/** The error's message without a trailing period, so it can sit inside our sentence. */
function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/[.\s]+$/, "");
}
