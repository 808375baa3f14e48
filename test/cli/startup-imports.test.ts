// Start-up laziness (src/cli/main.ts): --version and --help load commander and small leaf
// modules only, and a local generate against an OpenAI-compatible endpoint loads neither the
// embedded model, the other SDK, the queue, the report, the exporters nor the live display.
// Which modules a run loads is read from a module hook preloaded into the real CLI
// (test/support/record-imports.mjs), not from timings.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

const RECORDER = join(import.meta.dirname, "../support/record-imports.mjs");

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

/** Runs the CLI with the recorder preloaded; returns its result and every module URL it loaded. */
async function loadedBy(args: string[], name: string) {
  const log = join(dir, `${name}.imports`);
  const result = await runCli(args, {
    env: { NODE_OPTIONS: `--import=${RECORDER}`, CONVOSIM_TEST_IMPORT_LOG: log, STARTUP_TEST_KEY: "sk-test" },
  });
  const urls = (await readFile(log, "utf8").catch(() => "")).split("\n").filter(Boolean);
  return { result, urls };
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

describe("start-up loads only what the command uses", () => {
  for (const args of [["--version"], ["--help"], ["generate", "--help"]]) {
    it(`${args.join(" ")}: commander and leaf modules only, no run machinery`, async () => {
      const { result, urls } = await loadedBy(args, args.join("_").replaceAll("-", ""));
      expect(result.code, result.stderr).toBe(0);
      // The recorder saw the CLI load (a positive control: an empty log would pass vacuously).
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
    const { result, urls } = await loadedBy(
      ["generate", "-c", config, "--out", join(dir, "out"), "--limit", "1", "--no-cache"],
      "generate",
    );
    expect(result.code, result.stderr).toBe(0);
    expect(server.requests.length).toBeGreaterThan(0);
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
    expect(sourcesOf(urls)).not.toContain("providers/anthropic.js");
    expect(sourcesOf(urls)).not.toContain("providers/local/index.js");
  });
});
