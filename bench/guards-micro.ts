// Micro-benchmark of the turn guards: CPU time of UserSimulator.interpret for one in-role reply
// against a conversation with four turns of history (the path every simulated-user reply takes,
// twice when the response cache is on: its accept and the turn share one verdict). Medians of 5
// rounds of 20,000 replies after a warm-up.
//   npm run build && node dist/bench/guards-micro.js
import { UserSimulator } from "../src/conversation/user-simulator.js";
import type { ChatModel } from "../src/providers/types.js";
import { UserModelConfig } from "../src/schema/config.js";
import type { Message } from "../src/schema/interaction.js";

const model: ChatModel = {
  provider: "openai",
  model: "bench",
  complete: () => Promise.reject(new Error("unused")),
};
const simulator = new UserSimulator(model, UserModelConfig.parse({}));
const features = { role: "engineer", tech_proficiency: "expert", communication_style: "technical" };
const query = "How do I add retries with backoff to an async python function?";
const prompt = simulator.conversationPrompt({ persona_features: features, original_query: query });
const message = (role: Message["role"], content: string): Message => ({
  role,
  content,
  timestamp: "",
  metadata: {},
});
const answer =
  "You can wrap the call in a loop with asyncio.sleep and exponential delays, catching aiohttp errors and re-raising 4xx responses. ".repeat(
    4,
  );
const messages: Message[] = [message("user", query)];
for (let turn = 0; turn < 4; turn++) {
  if (turn > 0)
    messages.push(message("user", `Ok and what about step ${turn} of that, how do I test it with pytest?`));
  messages.push(message("assistant", answer));
}
const context = { may_stop: true, messages, persona_features: features, prompt };
const reply =
  "Thanks, that works. How would I add jitter so that many clients don't retry at the same moment?";

const rounds: number[] = [];
for (let i = 0; i < 2_000; i++) simulator.interpret(reply, context);
for (let round = 0; round < 5; round++) {
  const n = 20_000;
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) simulator.interpret(reply, context);
  const used = process.cpuUsage(start);
  rounds.push((used.user + used.system) / n);
}
rounds.sort((a, b) => a - b);
console.log(
  `turn guards: ${rounds[2]?.toFixed(1)} µs CPU per reply (median of 5 rounds: ${rounds.map((r) => r.toFixed(1)).join(", ")})`,
);
