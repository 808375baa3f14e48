// Issue 13 (G): a budget is spent, not just guarded. The built CLI runs against a loopback
// OpenAI-compatible server whose assistant replies are 80–300 tokens (the simulated user's a
// short follow-up), far below max_completion_tokens, with usage reported as the texts are long
// and a price in the config. `--budget-usd X` must spend at least 80 % of X before it stops
// (exit 4) and never more than X plus one wave of conversations; a budget smaller than one
// conversation's worst case still runs one conversation; the same command again spends nothing.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashMessages, isUserSimulation, scriptedReply } from "../../src/providers/scripted-replies.js";
import type { ChatMessage } from "../../src/providers/types.js";
import { spentInOutput } from "../../src/run/budget.js";
import { requireBuild, runCli } from "../support/cli.js";
import { type CannedResponse, type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

interface ChatBody {
  model: string;
  messages: ChatMessage[];
}

const MAX_WORKERS = 6;
const PAD = [
  "Check the result of each step before you move on to the next one.",
  "Write down what you changed, so that you can undo it if something breaks.",
  "Ask a colleague to review the plan once it is written down.",
  "Keep the first version small; it is easier to improve than to rescue.",
];

/** An answer of `tokens` tokens (4 characters each), deterministic for the request. */
function assistantText(messages: ChatBody["messages"], tokens: number): string {
  let text = scriptedReply(messages);
  for (let i = 0; text.length < tokens * 4; i++) text += ` ${PAD[i % PAD.length]}`;
  return text.slice(0, tokens * 4);
}

function reply(body: ChatBody): CannedResponse {
  const messages = body.messages;
  // Real assistants answer in 80–300 tokens, well below the 1,024 the config allows; the
  // simulated user writes a one-line follow-up.
  const content = isUserSimulation(messages)
    ? scriptedReply(messages)
    : assistantText(messages, 80 + (hashMessages(messages) % 221));
  const promptChars = messages.reduce((n, m) => n + m.content.length, 0);
  return {
    status: 200,
    body: {
      id: "chatcmpl-budget",
      object: "chat.completion",
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      usage: {
        prompt_tokens: Math.ceil(promptChars / 4),
        completion_tokens: Math.ceil(content.length / 4),
        total_tokens: Math.ceil(promptChars / 4) + Math.ceil(content.length / 4),
      },
    },
  };
}

let server: LoopbackServer;
let dir: string;
let config: string;
let personas: string;
const env = { CONVOSIM_BUDGET_TEST_KEY: "sk-test" };

beforeAll(async () => {
  requireBuild();
  server = await startLoopbackServer((request) => reply(request.body as ChatBody));
  dir = await mkdtemp(join(tmpdir(), "convosim-budget-spend-"));
  config = join(dir, "config.yaml");
  const model = `{ provider: openai, model: m, base_url: "${server.url}/v1", api_key_env: CONVOSIM_BUDGET_TEST_KEY }`;
  await writeFile(
    config,
    [
      "interaction_generation:",
      "  min_turns: 2",
      "  max_turns: 4",
      `  max_workers: ${MAX_WORKERS}`,
      "  retry_delay: 0",
      `  assistant_model: ${model}`,
      `  user_model: ${model}`,
      "pricing:",
      '  "openai/m": { input: 0.25, output: 1.0 }',
    ].join("\n"),
  );
  personas = join(dir, "personas.jsonl");
  await writeFile(
    personas,
    `${Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({
        persona_id: `p${i}`,
        persona_features: { role: "teacher" },
        queries: [{ original_query: `How do I plan the field trip number ${i} for my class?` }],
      }),
    ).join("\n")}\n`,
  );
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Cost of each ledger line (one per conversation), in USD. */
async function lineCosts(out: string): Promise<number[]> {
  const text = await readFile(join(out, "usage.ndjson"), "utf8");
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => (JSON.parse(l) as { cost_usd: number }).cost_usd);
}

const generate = (out: string, usd: number) =>
  runCli(
    ["generate", "-c", config, "-p", personas, "-o", out, "--no-cache", "-q", "--budget-usd", `${usd}`],
    {
      env,
    },
  );

describe("--budget-usd on realistic replies", () => {
  it("spends at least 80 % of the budget, and at most one wave past it", async () => {
    const out = join(dir, "wide");
    const budget = 0.05;
    const result = await generate(out, budget);
    expect(result.code, result.stderr).toBe(4);
    const spent = await spentInOutput(out);
    const costs = await lineCosts(out);
    const wave = MAX_WORKERS * Math.max(...costs);
    console.log(
      `budget $${budget}: spent $${spent.usd.toFixed(4)} (${((100 * spent.usd) / budget).toFixed(1)} %) over ` +
        `${spent.conversations} conversations; one conversation $${Math.min(...costs).toFixed(5)}–$${Math.max(...costs).toFixed(5)}`,
    );
    expect(spent.usd).toBeGreaterThanOrEqual(0.8 * budget);
    expect(spent.usd).toBeLessThanOrEqual(budget + wave);
    expect(spent.conversations).toBeLessThan(200); // the budget, not the input, ended the run
    // The end line says what was spent and what was left unspent.
    expect(result.stderr).toMatch(
      /budget reached: \$0\.0[4-9]\d\d of \$0\.0500 spent; \$0\.0\d+ left unspent/,
    );
    console.log(result.stderr.split("\n").find((l) => l.startsWith("budget reached")));
  }, 90_000);

  it("runs one conversation when one's worst case is more than the budget; the same command again spends nothing", async () => {
    const out = join(dir, "narrow");
    // Below one conversation's ceiling (4 turns of 1,024-token replies, the history resent:
    // about $0.008 at these prices), above what a realistic one costs. One conversation makes
    // at most 4 assistant calls: too few to learn from, so the budget then refuses the next.
    const budget = 0.001;
    const first = await generate(out, budget);
    expect(first.code, first.stderr).toBe(4);
    const spent = await spentInOutput(out);
    expect(spent.conversations).toBe(1);
    expect(spent.usd).toBeGreaterThan(0);
    console.log(`budget $${budget}: spent $${spent.usd.toFixed(5)} over ${spent.conversations} conversation`);

    // Something is spent now, so the first-conversation exception is gone: exit 4 at once.
    const requests = server.requests.length;
    const again = await generate(out, budget);
    expect(again.code, again.stderr).toBe(4);
    expect(server.requests.length).toBe(requests);
    expect((await spentInOutput(out)).usd).toBe(spent.usd);
  }, 90_000);
});
