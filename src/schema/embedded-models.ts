// The names of the embedded models, in a module of their own that imports nothing: the CLI
// names them in `fetch-model --help`, which must not load the config schema (zod) to do so.

/**
 * The models the `local` provider runs without a model_path (src/providers/local/model-cache.ts
 * holds their files; a test keeps the two lists equal). A model block naming one of these may
 * leave out `provider`; any other name needs it, so a config never silently runs the embedded
 * model in place of the one it names.
 */
export const EMBEDDED_MODEL_NAMES = ["qwen2.5-coder-0.5b-instruct", "gemma-3-270m"] as const;
