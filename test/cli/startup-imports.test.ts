// Start-up laziness (src/cli/main.ts): --version and --help load commander and small leaf
// modules only, and a local generate against an OpenAI-compatible endpoint loads neither the
// embedded model, the other SDK, the queue, the report, the exporters nor the live display.
// Which modules a run loads is read from a module hook preloaded into the real CLI
// (test/support/record-imports.mjs), not from timings. Checked twice: on tsc's module graph
// (CONVOSIM_UNBUNDLED=1) and on the bundle bin/convosim starts by default (scripts/bundle-cli.mjs),
// whose chunks are mapped back to the modules they hold (dist/cli/chunks.json): a lazy module
// merged into a chunk a command loads would count as loaded, as it is.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";
import { ROOT } from "../support/dist-freshness.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

const RECORDER = join(import.meta.dirname, "../support/record-imports.mjs");
const CHUNKS = join(ROOT, "dist/cli/chunks.json");

let dir: string;
let server: LoopbackServer;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-startup-"));
  server = await startLoopbackServer(() => ({
    status: 200,
    body: {
      id: "c1",
      object: "chat.completion",
      created: 0,
      model: "stand-in",
      choices: [
        { index: 0, message: { role: "assistant", content: "Sure, here is how." }, finish_reason: "stop" },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    },
  }));
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Mode {
  name: string;
  env: Record<string, string>;
  /** The entry module bin/convosim must have started (a positive control for the mode). */
  entry: RegExp;
}
const MODES: Mode[] = [
  { name: "module graph", env: { CONVOSIM_UNBUNDLED: "1" }, entry: /\/dist\/src\/cli\/main\.js$/ },
  { name: "bundle", env: {}, entry: /\/dist\/cli\/main\.js$/ },
];

/** A loaded chunk of the bundle stands for the modules it holds (as file URLs under ROOT). */
async function expandChunks(urls: readonly string[]): Promise<string[]> {
  const chunks = JSON.parse(await readFile(CHUNKS, "utf8")) as Record<string, string[]>;
  return urls.flatMap((url) => {
    const chunk = /\/dist\/cli\/([^/]+\.js)$/.exec(url)?.[1];
    if (chunk === undefined) return [url];
    const modules = chunks[chunk];
    if (!modules) throw new Error(`${chunk} is not in dist/cli/chunks.json: rebuild`);
    return modules.map((module) => `file://${join(ROOT, module)}`);
  });
}

/** Runs the CLI with the recorder preloaded; returns its result and every module URL it loaded. */
async function loadedBy(mode: Mode, args: string[], name: string) {
  const log = join(dir, `${mode.env.CONVOSIM_UNBUNDLED ? "graph" : "bundle"}-${name}.imports`);
  const result = await runCli(args, {
    env: {
      NODE_OPTIONS: `--import=${RECORDER}`,
      CONVOSIM_TEST_IMPORT_LOG: log,
      STARTUP_TEST_KEY: "sk-test",
      ...mode.env,
    },
  });
  const loaded = (await readFile(log, "utf8").catch(() => "")).split("\n").filter(Boolean);
  // The recorder saw the CLI start the mode's entry (an empty log would pass vacuously).
  expect(loaded.some((url) => mode.entry.test(url))).toBe(true);
  if (mode.env.CONVOSIM_UNBUNDLED) return { result, urls: loaded };
  // The bundle runs alone: no module of tsc's output is loaded beside it.
  expect(loaded.filter((url) => url.includes("/dist/src/"))).toEqual([]);
  return { result, urls: await expandChunks(loaded) };
}

/** The npm packages among the URLs: "commander", "@anthropic-ai/sdk", … */
function packagesOf(urls: readonly string[]): Set<string> {
  const names = urls.flatMap((url) => {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return match ? [match[1]!] : [];
  });
  return new Set(names);
}

/** convosim's own modules among the URLs, as paths under src/ ("cli/main.js", …). */
function sourcesOf(urls: readonly string[]): string[] {
  return urls.flatMap((url) => {
    const match = /\/dist\/src\/(.+)$/.exec(url);
    return match ? [match[1]!] : [];
  });
}

// Folders whose modules are the run machinery or a command's work, never needed to print help.
const RUN_MACHINERY = new RegExp(
  [
    "^(run|queue|operators|sinks|cache|limits|sources|api)/",
    // Leaf modules of these folders hold names that --help lists; the rest is work.
    "^conversation/(?!templates\\.js$)",
    "^providers/(?!errors\\.js$)",
    "^report/(?!defaults\\.js$)",
    "^exports/(?!format-names\\.js$)",
    "^noise/(?!channels\\.js$)",
    "^schema/(?!embedded-models\\.js$)",
  ].join("|"),
);

describe.each(MODES)("start-up loads only what the command uses ($name)", (mode) => {
  for (const args of [["--version"], ["--help"], ["generate", "--help"]]) {
    it(`${args.join(" ")}: commander and leaf modules only, no run machinery`, async () => {
      const { result, urls } = await loadedBy(mode, args, args.join("_").replaceAll("-", ""));
      expect(result.code, result.stderr).toBe(0);
      expect(sourcesOf(urls)).toContain("cli/main.js");
      expect([...packagesOf(urls)]).toEqual(["commander"]);
      expect(sourcesOf(urls).filter((path) => RUN_MACHINERY.test(path))).toEqual([]);
    });
  }

  it("generate on an OpenAI-compatible endpoint: no embedded model, Anthropic SDK, queue, report, exporter or live display", async () => {
    const config = join(dir, "config.yaml");
    const model = `{provider: openai, model: stand-in, base_url: "${server.url}", api_key_env: STARTUP_TEST_KEY}`;
    await writeFile(
      config,
      `interaction_generation:\n  min_turns: 1\n  max_turns: 1\n  assistant_model: ${model}\n  user_model: ${model}\n`,
    );
    const before = server.requests.length;
    const { result, urls } = await loadedBy(
      mode,
      ["generate", "-c", config, "--out", join(dir, `out-${mode.name}`), "--limit", "1", "--no-cache"],
      "generate",
    );
    expect(result.code, result.stderr).toBe(0);
    expect(server.requests.length).toBeGreaterThan(before); // this run called the model
    const packages = packagesOf(urls);
    expect(packages.has("openai")).toBe(true); // what the run does use is recorded
    for (const unused of [
      "node-llama-cpp",
      "@anthropic-ai/sdk",
      "bullmq",
      "ioredis",
      "hyparquet-writer",
      "log-update", // stderr is a pipe here: plain progress lines, no redraw
      "string-width",
    ])
      expect(packages, unused).not.toContain(unused);
    // The leaf modules --help reads (report/defaults.js, exports/format-names.js) may load; the
    // local provider's small helpers do (the cache folder lives in model-cache.ts), its model not.
    const unusedSources = sourcesOf(urls).filter(
      (path) =>
        /^(queue|report|exports)\//.test(path) &&
        !["report/defaults.js", "exports/format-names.js"].includes(path),
    );
    expect(unusedSources).toEqual([]);
    // The bundle's undici is the lean transport's part of it (scripts/bundle-cli.mjs, leanUndici):
    // no fetch, mocks, caches or WebSocket until a request needs them. (tsc's output loads undici's
    // index.js, whose require()s the hook does not see.)
    if (mode.name === "bundle") {
      const undici = urls.filter((url) => url.includes("/node_modules/undici/"));
      expect(undici.some((url) => url.endsWith("/lib/dispatcher/agent.js"))).toBe(true);
      const rest =
        /\/undici\/(index\.js|lib\/(mock|cache|interceptor)\/|lib\/web\/(fetch\/index\.js|websocket|eventsource|cache|cookies)\/?)/;
      expect(undici.filter((url) => rest.test(url))).toEqual([]);
    }
    expect(sourcesOf(urls)).not.toContain("providers/anthropic.js");
    expect(sourcesOf(urls)).not.toContain("providers/local/index.js");
  });
});
