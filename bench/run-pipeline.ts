// convosim's generate() running `conversations` three-turn conversations (5 calls each),
// `workers` at a time, into an output folder. Prints one JSON RunMeasurement.
//   node dist/bench/run-pipeline.js URL CONVERSATIONS WORKERS OUT_DIR
import { range } from "rxjs";
import { map } from "rxjs/operators";
import { generate } from "../src/run/generate.js";
import { ConvosimConfig } from "../src/schema/config.js";
import type { Persona } from "../src/schema/persona.js";
import { measureSince } from "./measure.js";

const [url, conversationsArg = "1000", workersArg = "500", out] = process.argv.slice(2);
if (!url || !out) throw new Error("usage: run-pipeline URL CONVERSATIONS WORKERS OUT_DIR");
const conversations = Number(conversationsArg);
const model = { provider: "openai" as const, model: "stand-in", base_url: url };
const config = ConvosimConfig.parse({
  interaction_generation: {
    min_turns: 3,
    max_turns: 3,
    max_workers: Number(workersArg),
    assistant_model: { ...model, max_completion_tokens: 64 },
    user_model: { ...model, max_completion_tokens: 64 },
  },
});
const personas = range(0, conversations).pipe(
  map(
    (i): Persona => ({
      persona_id: `bench_${i}`,
      persona_features: { role: "engineer", tech_proficiency: "advanced", communication_style: "casual" },
      queries: [
        {
          original_query: `How should a small team organise project ${i} so that nothing falls through the cracks?`,
        },
      ],
    }),
  ),
);

const startedAt = performance.now();
const cpu = process.cpuUsage();
const summary = await generate({ config, personas, out });
const result = {
  ...measureSince("convosim generate", startedAt, cpu, summary.calls),
  done: summary.done,
  failed: summary.failed,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
