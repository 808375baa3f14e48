// One generate() run with no server: the SDK's fetch is answered in memory with the stand-in's
// replies, so the process's CPU is convosim's and the SDK's work alone, without a server beside
// it on the same cores. Steadier than runs against the stand-in; for comparing two builds of
// convosim (not a bound: nothing here is the bare SDK). Prints one JSON line with CPU per call.
//   node dist/bench/run-in-process.js [--conversations 1500] [--cache-dir DIR] [--ndjson]
//     [--out DIR] [--root DIST]   (--root: another build's dist folder, e.g. for an A/B)
// An A/B of two builds, alternating ABBA so a drift of the machine falls on both:
//   for i in 1 2 3 4 5 6; do for r in A B B A; do …run with --root of build $r…; done; done
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { generate as Generate } from "../src/run/generate.js";
import type { applyHeapPolicy as ApplyHeapPolicy } from "../src/run/heap.js";
import type { ConvosimConfig as Config } from "../src/schema/config.js";
import { benchPersonas } from "./bench-personas.js";
import { answer, completionBody, maxTokensOf, toMessages } from "./stand-in-wire.js";

const { values } = parseArgs({
  options: {
    conversations: { type: "string", default: "1500" },
    "cache-dir": { type: "string" },
    ndjson: { type: "boolean", default: false },
    out: {
      type: "string",
      default: join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "convosim-in-process"),
    },
    root: { type: "string", default: join(import.meta.dirname, "..") },
  },
});
const root = resolve(values.root);
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(root, path)).href)) as T;
const { generate } = await load<{ generate: typeof Generate }>("src/run/generate.js");
const { ConvosimConfig } = await load<{ ConvosimConfig: typeof Config }>("src/schema/config.js");
const { applyHeapPolicy } = await load<{ applyHeapPolicy: typeof ApplyHeapPolicy }>("src/run/heap.js");

const WORKERS = 100;
applyHeapPolicy(WORKERS);
let served = 0;
// The stand-in's answer, in memory: the same reply texts and usage as over the wire.
const inMemoryFetch: typeof fetch = async (_input, init) => {
  const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
  const request = {
    id: String(served++),
    model: String(body.model),
    messages: toMessages(body.messages) ?? [],
    maxTokens: maxTokensOf(body),
  };
  return new Response(completionBody(request, answer(request)), {
    status: 200,
    headers: { "content-type": "application/json" },
  });
};
const model = {
  provider: "openai" as const,
  model: "stand-in",
  base_url: "http://127.0.0.1:9/v1", // never reached: the fetch above answers
  api_key_env: "CONVOSIM_IN_PROCESS_KEY",
  max_completion_tokens: 64,
};
const config = ConvosimConfig.parse({
  interaction_generation: {
    min_turns: 3,
    max_turns: 3,
    max_workers: WORKERS,
    assistant_model: model,
    user_model: model,
  },
});
const env = { ...process.env, CONVOSIM_IN_PROCESS_KEY: "in-process" };
const cacheDir = values["cache-dir"];
const folders = [values.out, `${values.out}-warmup`, ...(cacheDir ? [cacheDir, `${cacheDir}-warmup`] : [])];
const clean = () => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
};
clean();
// Warm-up with the measured run's settings (its own folders), not measured.
await generate({
  config,
  env,
  fetch: inMemoryFetch,
  personas: benchPersonas("warm", 150),
  out: `${values.out}-warmup`,
  ...(cacheDir ? { cacheDir: `${cacheDir}-warmup` } : { cache: false as const }),
});
const startedAt = performance.now();
const cpu = process.cpuUsage();
const summary = await generate({
  config,
  env,
  fetch: inMemoryFetch,
  personas: benchPersonas("bench", Number(values.conversations)),
  ...(values.ndjson ? { ndjson: "/dev/null" } : { out: values.out }),
  ...(cacheDir ? { cacheDir } : { cache: false as const }),
});
const used = process.cpuUsage(cpu);
clean();
process.stdout.write(
  `${JSON.stringify({
    root,
    cpuMsPerCall: (used.user + used.system) / 1000 / summary.calls,
    systemMsPerCall: used.system / 1000 / summary.calls,
    calls: summary.calls,
    done: summary.done,
    failed: summary.failed,
    wallS: (performance.now() - startedAt) / 1000,
  })}\n`,
);
