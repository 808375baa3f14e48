// Where the `local` provider finds its GGUF file: an explicit path, a hub reference, or the
// embedded default that `npm run fetch-model` (scripts/fetch-model.mjs) puts in the cache.
// The cache location rule lives here and in that script; keep the two in sync.
// node-llama-cpp is imported lazily (≈300 ms) so that runs without the local provider never pay.
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { ModelConfig } from "../../schema/config.js";
import { ProviderError } from "../errors.js";

/** File name of the embedded default model (Gemma 3 270M, Q4_K_M). */
export const DEFAULT_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf";

const FETCH_HINT = "run `npm run fetch-model` (or `node scripts/fetch-model.mjs`)";

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

/**
 * Resolves `config.model_path` to a local GGUF file:
 * - unset: the cached default model (error naming the fix when it was never fetched);
 * - a hub reference: resolved (and downloaded when absent) into `<cache>/models`;
 * - anything else: a file path, relative paths against the working directory, `~/` expanded.
 * Every failure is a ProviderError of kind "config".
 */
export async function resolveLocalModelPath(
  config: Pick<ModelConfig, "model_path">,
  options: ResolveOptions = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const reference = config.model_path?.trim();
  if (!reference) {
    const path = defaultModelPath(env);
    if (!(await isFile(path))) {
      throw new ProviderError("config", `embedded model not found at ${path}; ${FETCH_HINT}`);
    }
    return path;
  }
  if (isHubReference(reference)) return resolveHubReference(reference, env, options);

  const cwd = options.cwd ?? process.cwd();
  const expanded =
    reference === "~" || reference.startsWith("~/") ? join(homedir(), reference.slice(1)) : reference;
  const path = isAbsolute(expanded) ? expanded : resolve(cwd, expanded);
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    throw new ProviderError(
      "config",
      `local model file not found: ${path} (model_path "${reference}"${isAbsolute(expanded) ? "" : `, relative to ${cwd}`}). ` +
        `Point model_path at an existing .gguf file, or remove model_path to use the embedded default (${FETCH_HINT}).`,
    );
  }
  if (!info.isFile()) {
    throw new ProviderError("config", `model_path must name a .gguf file, but ${path} is not a regular file`);
  }
  return path;
}

async function resolveHubReference(reference: string, env: Env, options: ResolveOptions): Promise<string> {
  const directory = modelsDir(env);
  if (options.resolveHub) return wrapHubErrors(reference, () => options.resolveHub!(reference, directory));

  const { resolveModelFile } = await import("node-llama-cpp");
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
