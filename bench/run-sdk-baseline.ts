// The bound: the bare openai SDK making `calls` chat completions, `concurrency` at a time,
// against the stand-in server. Prints one JSON RunMeasurement.
//   node dist/bench/run-sdk-baseline.js URL CALLS CONCURRENCY
import OpenAI from "openai";
import { measureSince } from "./measure.js";

const [url, callsArg = "5000", concurrencyArg = "500"] = process.argv.slice(2);
if (!url) throw new Error("usage: run-sdk-baseline URL CALLS CONCURRENCY");
const calls = Number(callsArg);
const concurrency = Number(concurrencyArg);
const client = new OpenAI({ baseURL: url, apiKey: "not-needed", maxRetries: 0 });
// A prompt of the size convosim's turns carry (a system prompt and a few messages).
const system = "You are a helpful assistant. ".repeat(20);
const question =
  "How should a small team organise a project so that nothing falls through the cracks? ".repeat(3);

const startedAt = performance.now();
const cpu = process.cpuUsage();
let next = 0;
let done = 0;
async function worker(): Promise<void> {
  while (next < calls) {
    next++;
    await client.chat.completions.create({
      model: "stand-in",
      messages: [
        { role: "system", content: system },
        { role: "user", content: question },
      ],
      max_completion_tokens: 64,
    });
    done++;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(`${JSON.stringify(measureSince("openai SDK alone", startedAt, cpu, done))}\n`);
