// Child process: convosim's generate() running `conversations` conversations of `turns` turns
// (2 × turns − 1 calls each), `workers` at a time, into an output folder, against an
// OpenAI-compatible server. Prints one JSON RunMeasurement (CPU and peak RSS of this process).
//   node dist/bench/run-pipeline.js --url URL --out DIR [--conversations 1000] [--workers 500]
//     [--turns 3] [--transport sdk|undici] [--rpm N] [--timeout S] [--record FILE] [--cache-dir DIR]
//     [--warmup CONVERSATIONS] [--ndjson FILE]
import { appendFileSync, rmSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { generate } from "../src/run/generate.js";
import { applyHeapPolicy } from "../src/run/heap.js";
import { ConvosimConfig } from "../src/schema/config.js";
import { benchPersonas } from "./bench-personas.js";
import { measureSince } from "./measure.js";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    out: { type: "string" },
    conversations: { type: "string", default: "1000" },
    workers: { type: "string", default: "500" },
    turns: { type: "string", default: "3" },
    transport: { type: "string", default: "sdk" },
    rpm: { type: "string" },
    timeout: { type: "string" },
    "max-tokens": { type: "string", default: "64" },
    record: { type: "string" },
    "cache-dir": { type: "string" },
    warmup: { type: "string", default: "0" },
    // Results as NDJSON into this file (e.g. /dev/null) instead of the files sink in --out.
    ndjson: { type: "string" },
  },
});
if (!values.url || !values.out) throw new Error("run-pipeline: --url and --out are required");
const conversations = Number(values.conversations);
// As the CLI runs: the same heap growing policy for the same max_workers (src/run/heap.ts).
applyHeapPolicy(Number(values.workers));
const turns = Number(values.turns);
const transport = values.transport === "undici" ? "undici" : "sdk";
const model = {
  provider: "openai" as const,
  model: "stand-in",
  base_url: values.url,
  transport,
  max_completion_tokens: Number(values["max-tokens"]),
  ...(values.rpm ? { rate_limit: { rpm: Number(values.rpm) } } : {}),
  ...(values.timeout ? { request_timeout: Number(values.timeout) } : {}),
};
const config = ConvosimConfig.parse({
  interaction_generation: {
    min_turns: turns,
    max_turns: turns,
    max_workers: Number(values.workers),
    assistant_model: model,
    user_model: model,
  },
});

// Calibration only (never in a measured run): every request body as sent, one per line, so the
// bare-SDK baseline can replay exactly the same calls.
const recorded: string[] = [];
const recordingFetch: typeof fetch | undefined = values.record
  ? (input, init) => {
      if (typeof init?.body === "string") recorded.push(init.body);
      return fetch(input, init);
    }
  : undefined;

// Warm-up (JIT, connections) outside the measurement: other personas, another folder, and the
// measured run's cache setting (its own fresh folder), so the code the measured run takes is warm.
const warmup = Number(values.warmup);
if (warmup > 0) {
  const warmCache = values["cache-dir"] ? `${values["cache-dir"]}-warmup` : undefined;
  await generate({
    config,
    personas: benchPersonas("warm", warmup),
    out: `${values.out}-warmup`,
    ...(warmCache ? { cacheDir: warmCache } : { cache: false as const }),
  });
  rmSync(`${values.out}-warmup`, { recursive: true, force: true });
  if (warmCache) rmSync(warmCache, { recursive: true, force: true });
}

const startedAt = performance.now();
const cpu = process.cpuUsage();
const summary = await generate({
  config,
  personas: benchPersonas("bench", conversations),
  ...(values.ndjson ? { ndjson: values.ndjson } : { out: values.out }),
  // Every call must reach the server: the response cache (on by default) would replay them.
  // With --cache-dir the cache is on, in that folder (a fresh one: every call a miss and a write).
  ...(values["cache-dir"] ? { cacheDir: values["cache-dir"] } : { cache: false as const }),
  ...(recordingFetch ? { fetch: recordingFetch } : {}),
});
const result = {
  ...measureSince(`convosim generate (${transport})`, startedAt, cpu, summary.calls),
  done: summary.done,
  failed: summary.failed,
  skipped: summary.skipped,
  failures: summary.failures.slice(0, 3).map((f) => `${f.error_kind}: ${f.reason}`),
};
if (values.record) {
  writeFileSync(values.record, "");
  for (let i = 0; i < recorded.length; i += 1000)
    appendFileSync(values.record, `${recorded.slice(i, i + 1000).join("\n")}\n`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
