// Child process: the embedded model through convosim's `local` provider against node-llama-cpp
// called directly, on the same prompts, in the same process and run. Prints one JSON object.
//
// Like with like:
// - the same GGUF file (resolved by convosim's model cache), the same runtime settings (context
//   size, threads, sequences read by runtimeSettingsFromEnv; the parent sets one sequence so both
//   sides evaluate every prompt on one sequence in the same order, and reuse the same KV prefix);
// - the same prompt text (convosim's transcript rendering, which is what the provider sends), the
//   same stop triggers, maxTokens, temperature 0 and seed — so both sides generate the same
//   tokens, and the run checks that they did;
// - each call is timed end to end on both sides (prompt evaluation + generation); prompt and
//   completion token counts are reported apart, from the same TokenMeter readings.
// Calls alternate (convosim first, then direct first) so that machine noise hits both alike.
//   node dist/bench/run-local.js [--rounds 2] [--max-tokens 48]
import { parseArgs } from "node:util";
import { getLlama, LlamaCompletion, LlamaLogLevel } from "node-llama-cpp";
import { createLocalChatModel } from "../src/providers/local/index.js";
import { resolveLocalModelPath } from "../src/providers/local/model-cache.js";
import { runtimeSettingsFromEnv } from "../src/providers/local/options.js";
import { defaultThreads } from "../src/providers/local/runtime.js";
import { buildTranscript, cleanCompletion } from "../src/providers/local/transcript.js";
import type { ChatMessage } from "../src/providers/types.js";
import { ModelConfig } from "../src/schema/config.js";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "2" }, "max-tokens": { type: "string", default: "48" } },
});
const ROUNDS = Number(values.rounds);
const MAX_TOKENS = Number(values["max-tokens"]);
const SEED = 1;

const SYSTEM = "You are a patient, practical assistant who explains things step by step.";
const QUESTIONS = [
  "How do I start running if I have never exercised before?",
  "What is the best way to learn a new programming language in a month?",
  "My tomato plants have yellow leaves. What could be wrong?",
  "How should I prepare for a job interview at a small startup?",
  "Can you explain how compound interest works with an example?",
  "What should I pack for a three-day hiking trip in autumn?",
];
const prompts: ChatMessage[][] = QUESTIONS.map((q, i) => [
  { role: "system", content: SYSTEM },
  { role: "user", content: q },
  ...(i % 2 === 1
    ? ([
        { role: "assistant", content: "Good question. Let me break it down into a few steps." },
        { role: "user", content: "Please go on, with concrete details." },
      ] as ChatMessage[])
    : []),
]);

interface Side {
  ms: number;
  promptTokens: number;
  completionTokens: number;
  texts: string[];
}
const side = (): Side => ({ ms: 0, promptTokens: 0, completionTokens: 0, texts: [] });

const settings = runtimeSettingsFromEnv();
const path = await resolveLocalModelPath({ model: "gemma-3-270m" });

// convosim's side: the provider exactly as a run uses it.
const convosimModel = await createLocalChatModel(
  ModelConfig.parse({ provider: "local", model: "gemma-3-270m" }),
);
const info = await convosimModel.load();

// node-llama-cpp directly, with the same settings.
const llama = await getLlama({
  build: "never",
  gpu: settings.gpu,
  logLevel: LlamaLogLevel.error,
  ...(settings.threads ? { maxThreads: settings.threads } : {}),
});
const model = await llama.loadModel({ modelPath: path });
const threads = settings.threads ?? defaultThreads(llama.cpuMathCores);
const context = await model.createContext({
  contextSize: settings.contextSize,
  sequences: settings.sequences,
  threads,
});
const sequence = context.getSequence();
const completion = new LlamaCompletion({ contextSequence: sequence });

async function viaConvosim(messages: ChatMessage[], into: Side): Promise<void> {
  const started = performance.now();
  const result = await convosimModel.complete({
    messages,
    maxTokens: MAX_TOKENS,
    temperature: 0,
    seed: SEED,
  });
  into.ms += performance.now() - started;
  into.promptTokens += result.usage.prompt_tokens;
  into.completionTokens += result.usage.completion_tokens;
  into.texts.push(result.text);
}

async function direct(messages: ChatMessage[], into: Side): Promise<void> {
  const transcript = buildTranscript(messages);
  const started = performance.now();
  const before = sequence.tokenMeter.getState();
  const result = await completion.generateCompletionWithMeta(transcript.prompt, {
    temperature: 0,
    seed: SEED,
    maxTokens: MAX_TOKENS,
    customStopTriggers: transcript.stopTriggers,
    disableContextShift: true,
  });
  into.ms += performance.now() - started;
  const diff = sequence.tokenMeter.diff(before);
  into.promptTokens +=
    model.tokenize(transcript.prompt).length + (model.tokens.shouldPrependBosToken ? 1 : 0);
  into.completionTokens += diff.usedOutputTokens;
  into.texts.push(cleanCompletion(result.response));
}

// Warm-up: one call each, not counted.
await viaConvosim(prompts[0]!, side());
await direct(prompts[0]!, side());

const ours = side();
const theirs = side();
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, messages] of prompts.entries()) {
    if ((i + round) % 2 === 0) {
      await viaConvosim(messages, ours);
      await direct(messages, theirs);
    } else {
      await direct(messages, theirs);
      await viaConvosim(messages, ours);
    }
  }
}
const same = ours.texts.filter((t, i) => t === theirs.texts[i]).length;
const tps = (s: Side) => s.completionTokens / (s.ms / 1000);
const summary = (s: Side) => ({
  ms: s.ms,
  prompt_tokens: s.promptTokens,
  completion_tokens: s.completionTokens,
  tokens_per_s: tps(s),
});
process.stdout.write(
  `${JSON.stringify({
    model: info.name,
    path,
    prompt_format: info.promptFormat,
    settings: { ...settings, threads },
    calls_per_side: ours.texts.length,
    max_tokens: MAX_TOKENS,
    identical_outputs: same,
    convosim: summary(ours),
    direct: summary(theirs),
    ratio: tps(ours) / tps(theirs),
    sample: ours.texts[0],
  })}\n`,
);
await convosimModel.close();
await context.dispose();
await model.dispose();
process.exit(0);
