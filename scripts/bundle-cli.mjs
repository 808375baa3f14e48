// The end of `npm run build`: bundles the CLI (dist/src/cli/main.js, compiled by tsc) into
// dist/cli/, which bin/convosim starts when it is there and current.
// Why: Node 20 loads an ES module graph file by file (resolve, read, compile each), and
// `convosim generate` loads about 400 of them (convosim's own, zod's, openai's) plus rxjs's
// and undici's CommonJS builds: most of its start-up went there (BENCHMARKS.md, startup).
// A few large chunks load several times faster. Dynamic imports stay separate chunks, so what
// a command does not use is still not loaded (test/cli/startup-imports.test.ts).
// Inlined: the pure-JavaScript packages the commands load. Left to node_modules: everything
// else (node-llama-cpp's native addon, the Anthropic SDK, BullMQ, the exporters' packages), as
// they are loaded only by the commands and models that use them.
// The library (import "convosim", dist/src/index.js) is not bundled: it is tsc's output.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/cli");
const INLINED = new Set(["commander", "openai", "rxjs", "undici", "yaml", "zod"]);
// Threads: a module that starts one finds the thread's entry beside itself (new URL("./….js",
// import.meta.url)). The entry is bundled too, as dist/cli/<its name>, and the starting module
// keeps its chunk's URL, so it finds the bundled entry beside that chunk — a thread that loaded
// tsc's ~300 modules before its first call would give back what the bundle saves. Listed only
// when built (the model thread: src/providers/model-thread.ts).
const THREADS = [
  { starter: "dist/src/providers/model-thread.js", entry: "dist/src/providers/model-thread-worker.js" },
]
  .map(({ starter, entry }) => ({ starter: join(root, starter), entry: join(root, entry) }))
  .filter(({ starter, entry }) => existsSync(starter) && existsSync(entry));

let rolldown;
try {
  rolldown = await import("rolldown");
} catch {
  // Without the bundler (an install without devDependencies) the CLI runs tsc's output.
  process.stderr.write("bundle-cli: rolldown is not installed; bin/convosim will run dist/src\n");
  rmSync(out, { recursive: true, force: true });
  process.exit(0);
}

/** The package a bare specifier names: "@scope/name/x" → "@scope/name", "rxjs/operators" → "rxjs". */
function packageOf(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/**
 * convosim's modules find files by their own location (data/, prompts/, the package root: they
 * walk up from import.meta.url). In a chunk that URL is the chunk's: this points it back at the
 * module tsc wrote, relative to the chunk so the package can move (every chunk is in dist/cli/).
 */
const ownLocation = {
  name: "convosim-own-location",
  transform(code, id) {
    if (!id.startsWith(join(root, "dist/src") + sep) || !code.includes("import.meta.url")) return null;
    if (THREADS.some(({ starter }) => starter === id)) return null;
    const fromChunk = relative(out, id).split(sep).join("/");
    return code.replaceAll("import.meta.url", `new URL(${JSON.stringify(fromChunk)}, import.meta.url).href`);
  },
};

/**
 * undici as the lean transport (src/providers/transport.ts) uses it: Agent, EnvHttpProxyAgent and,
 * for rare request shapes, fetch. undici's index.js loads all of undici (fetch, the mocks, the
 * caches, WebSocket…: over half its start-up) to export these; here the two agents load with the
 * request API that index.js puts on every dispatcher (the one side effect it has that they need),
 * and the rest, fetch included, only on the first fetch. undici is pinned (package.json), so these
 * paths hold; the CLI tests run them (test/cli/bundle-transport.test.ts).
 */
const UNDICI_LEAN = "\0convosim-undici-lean";
const undiciFile = (path) => JSON.stringify(join(root, "node_modules/undici", path));
const leanUndici = {
  name: "convosim-lean-undici",
  resolveId(id, importer) {
    return id === "undici" && importer?.endsWith(`${sep}providers${sep}transport.js`) ? UNDICI_LEAN : null;
  },
  load(id) {
    if (id !== UNDICI_LEAN) return null;
    return [
      `import Dispatcher from ${undiciFile("lib/dispatcher/dispatcher.js")};`,
      `import api from ${undiciFile("lib/api/index.js")};`,
      `import Agent from ${undiciFile("lib/dispatcher/agent.js")};`,
      `import EnvHttpProxyAgent from ${undiciFile("lib/dispatcher/env-http-proxy-agent.js")};`,
      "Object.assign(Dispatcher.prototype, api);",
      "export { Agent, EnvHttpProxyAgent };",
      "export async function fetch(input, init) {",
      `  const undici = await import(${undiciFile("index.js")});`,
      "  return undici.fetch(input, init);",
      "}",
    ].join("\n");
  },
};

rmSync(out, { recursive: true, force: true });
const { output } = await rolldown.build({
  input: {
    main: join(root, "dist/src/cli/main.js"),
    ...Object.fromEntries(THREADS.map(({ entry }) => [basename(entry, ".js"), entry])),
  },
  platform: "node",
  external: (id) => {
    if (id.startsWith("node:")) return true;
    if (id.startsWith(".") || id.startsWith("/") || id.startsWith("\0")) return false;
    return !INLINED.has(packageOf(id));
  },
  plugins: [ownLocation, leanUndici],
  logLevel: "warn",
  output: {
    dir: out,
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "[name]-[hash].js",
    // Whitespace and comments out, names and code as they are (no mangling, no rewriting): the
    // bundle repeats packages that are also in node_modules, and an install must stay small
    // (bench/newcomer-check.py: under 100 MB with --omit=optional); less text also parses faster.
    minify: { compress: false, mangle: false },
  },
});

// Which modules each chunk holds, relative to the package (dist/src/…, node_modules/…): what a
// command loads is read from it (test/cli/startup-imports.test.ts), since chunks merge modules.
const chunks = Object.fromEntries(
  output
    .filter((file) => file.type === "chunk")
    .map((chunk) => [chunk.fileName, chunk.moduleIds.filter((id) => !id.startsWith("\0")).map(packagePath)]),
);
writeFileSync(join(out, "chunks.json"), `${JSON.stringify(chunks, null, 1)}\n`);

/** A module's path from the package root; node_modules may be a link elsewhere (worktrees). */
function packagePath(id) {
  const inPackages = /[\\/]node_modules[\\/](.*)$/.exec(id);
  return inPackages
    ? `node_modules/${inPackages[1].split(sep).join("/")}`
    : relative(root, id).split(sep).join("/");
}

// The inlined packages' licences travel with their code (npm ships dist/cli without their folders).
const licences = [...INLINED].sort().map((name) => {
  const folder = join(root, "node_modules", name);
  const file = readdirSync(folder).find((entry) => /^licen[cs]e/i.test(entry));
  if (!file) throw new Error(`bundle-cli: no licence file in node_modules/${name}`);
  const { version } = JSON.parse(readFileSync(join(folder, "package.json"), "utf8"));
  return `${name}@${version}\n\n${readFileSync(join(folder, file), "utf8").trim()}\n`;
});
writeFileSync(
  join(out, "THIRD-PARTY-LICENSES.txt"),
  `Packages bundled into dist/cli by scripts/bundle-cli.mjs, and their licences.\n\n${licences.join("\n---\n\n")}`,
);
