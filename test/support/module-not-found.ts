// What Node's ESM loader throws for `import(pkg)` when the package is not installed: the tests of
// the optional dependencies (node-llama-cpp, @anthropic-ai/sdk) make their import fail this way.

/** The loader's error for a missing `pkg`, imported from `importer` (a file path). */
export function moduleNotFound(pkg: string, importer: string): Error {
  return Object.assign(new Error(`Cannot find package '${pkg}' imported from ${importer}`), {
    code: "ERR_MODULE_NOT_FOUND",
  });
}
