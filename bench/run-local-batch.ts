// Child process: the embedded Gemma through convosim's `local` provider with N conversations in
// flight on N sequences of one context (CONVOSIM_LOCAL_SEQUENCES, set by the parent), so that
// node-llama-cpp batches their tokens into one llama_decode per step. Prints one JSON object:
// completion tokens, wall and process CPU time, peak RSS, and every reply (the parent compares
// them with the 1-in-flight run's replies, call by call).
//   node dist/bench/run-local-batch.js [--calls 8] [--max-tokens 32]
import { parseArgs } from "node:util";
import { createLocalChatModel } from "../src/providers/local/index.js";
import type { ChatMessage } from "../src/providers/types.js";
import { ModelConfig } from "../src/schema/config.js";

const { values } = parseArgs({
  options: { calls: { type: "string", default: "8" }, "max-tokens": { type: "string", default: "32" } },
});
const CALLS = Number(values.calls);
const MAX_TOKENS = Number(values["max-tokens"]);

const SYSTEM = "You are a patient, practical assistant who explains things step by step.";
const QUESTIONS = [
  "How do I start running if I have never exercised before?",
  "What is the best way to learn a new programming language in a month?",
  "My tomato plants have yellow leaves. What could be wrong?",
  "How should I prepare for a job interview at a small startup?",
  "Can you explain how compound interest works with an example?",
  "What should I pack for a three-day hiking trip in autumn?",
  "How do I keep sourdough starter alive while I travel?",
  "What is a good routine for studying for exams?",
];
const requests: ChatMessage[][] = Array.from({ length: CALLS }, (_, i) => [
  { role: "system", content: SYSTEM },
  { role: "user", content: QUESTIONS[i % QUESTIONS.length] as string },
]);

const model = await createLocalChatModel(ModelConfig.parse({ provider: "local", model: "gemma-3-270m" }));
const info = await model.load();
// Sampled like a simulated conversation (temperature 0.7), each call with its own fixed seed, so
// that a reply depends on its request alone — unless scheduling changes the arithmetic.
const ask = (i: number) =>
  model.complete({
    messages: requests[i] as ChatMessage[],
    maxTokens: MAX_TOKENS,
    temperature: 0.7,
    seed: i + 1,
  });
await model.complete({ messages: [{ role: "user", content: "Hello" }], maxTokens: 4, temperature: 0 });

const texts: string[] = new Array(CALLS);
let completionTokens = 0;
let next = 0;
const cpuBefore = process.cpuUsage();
const started = performance.now();
// One worker per sequence: exactly `sequences` conversations in flight, as a run with that many
// workers would keep them.
await Promise.all(
  Array.from({ length: info.sequences }, async () => {
    while (next < CALLS) {
      const i = next++;
      const result = await ask(i);
      texts[i] = result.text;
      completionTokens += result.usage.completion_tokens;
    }
  }),
);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const cpuS = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({
    sequences: info.sequences,
    context_size: info.contextSize,
    calls: CALLS,
    max_tokens: MAX_TOKENS,
    completion_tokens: completionTokens,
    ms,
    cpu_s: cpuS,
    tokens_per_s: completionTokens / (ms / 1000),
    tokens_per_cpu_s: completionTokens / cpuS,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
    texts,
  })}\n`,
);
await model.close();
process.exit(0);
