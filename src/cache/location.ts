// Where the response cache lives by default, and the one switch the CLI needs: `--cache-dir`
// overrides the folder, `--no-cache` turns the cache off. The base folder is the one the model
// cache uses (CONVOSIM_CACHE_DIR, else XDG_CACHE_HOME/convosim, else ~/.cache/convosim).
import { join, resolve } from "node:path";
import { convosimCacheDir } from "../providers/local/model-cache.js";
import { SegmentResponseCache, type SegmentResponseCacheOptions } from "./segment-cache.js";

type Env = Readonly<Record<string, string | undefined>>;

/** CONVOSIM_RESPONSE_CACHE_DIR, else `<convosim cache dir>/responses`. */
export function defaultResponseCacheDir(env: Env = process.env): string {
  return env.CONVOSIM_RESPONSE_CACHE_DIR || join(convosimCacheDir(env), "responses");
}

export interface OpenResponseCacheOptions extends SegmentResponseCacheOptions {
  /** false: no cache (`--no-cache`). Default true. */
  enabled?: boolean;
  /** The cache folder (`--cache-dir`), relative to cwd; default defaultResponseCacheDir(env). */
  dir?: string;
  env?: Env;
  cwd?: string;
}

/** The folder openResponseCache uses for these options: `dir` against cwd, else the default. */
export function responseCacheDir(
  options: Pick<OpenResponseCacheOptions, "dir" | "env" | "cwd"> = {},
): string {
  return options.dir
    ? resolve(options.cwd ?? process.cwd(), options.dir)
    : defaultResponseCacheDir(options.env);
}

/**
 * The run's response cache (a segment log, docs/cache.md), or undefined when it is off. Creates
 * nothing on disk until the first entry is written, so a run that never calls a model leaves no
 * folder behind. A folder that cannot be written is not detected here (writes would fail
 * silently, as misses): check it first with preflightResponseCache (src/run/preflight.ts).
 */
export function openResponseCache(options: OpenResponseCacheOptions = {}): SegmentResponseCache | undefined {
  if (options.enabled === false) return undefined;
  return new SegmentResponseCache(responseCacheDir(options), options);
}
