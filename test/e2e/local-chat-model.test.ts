// End-to-end: the REAL default embedded model (Qwen2.5-Coder 0.5B Instruct Q4_K_M) from the
// convosim cache, prompted through the chat template its GGUF carries. Like local-model.test.ts
// (Gemma, the transcript path) a missing model is a failure naming the fix, never a skip.
// Replies are kept to ≤ 24 tokens (≈20 tokens/s on one core) so the file takes ≈20 s.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalChatModel, LocalModelInfo } from "../../src/providers/local/index.js";
import {
  createLocalChatModel,
  DEFAULT_LOCAL_MODEL,
  defaultModelPath,
} from "../../src/providers/local/index.js";
import type { ChatMessage, ChatRequest } from "../../src/providers/types.js";
import { ModelConfig } from "../../src/schema/config.js";

const MODEL_PATH = defaultModelPath();

const twoTurnChat: ChatMessage[] = [
  { role: "system", content: "You are a friendly assistant who gives short, practical answers." },
  { role: "user", content: "Hi! I want to start running. How often should I run in the first month?" },
  { role: "assistant", content: "Start with three short runs a week, with a rest day between them." },
  { role: "user", content: "How long should each run be?" },
];

/** What must never reach a reply: the template's control tokens or transcript speaker labels. */
const LEAKS = /<\|im_(start|end)\|>|<\|endoftext\|>|^(User|Assistant|System):|\n(User|Assistant):/m;

let model: LocalChatModel;
let info: LocalModelInfo;

beforeAll(async () => {
  if (!existsSync(MODEL_PATH)) {
    throw new Error(
      `default embedded model not found at ${MODEL_PATH}; run \`npm run fetch-model\` before the tests`,
    );
  }
  // No model, no model_path: the config's defaults.
  model = await createLocalChatModel(ModelConfig.parse({}));
  info = await model.load();
}, 60_000);

afterAll(async () => {
  await model?.close();
});

const ask = (overrides: Partial<ChatRequest> = {}) =>
  model.complete({ messages: twoTurnChat, maxTokens: 24, temperature: 0, ...overrides });

describe("local provider with the real default model (chat template)", () => {
  it("loads the instruction-tuned model and renders prompts with the GGUF's own template", () => {
    expect(info.path).toBe(MODEL_PATH);
    expect(info.embedded).toBe(DEFAULT_LOCAL_MODEL);
    expect(info.name).toBe("Qwen2.5 Coder 0.5B Instruct AWQ");
    expect(info.finetune).toBe("Instruct-AWQ");
    expect(info.promptFormat).toBe("chat");
    expect(info.chatWrapper).toBe("JinjaTemplate");
  });

  it("answers a 2-turn chat on topic, with real token counts and no template tokens", async () => {
    const result = await ask();
    expect(result.model).toBe(DEFAULT_LOCAL_MODEL);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.text).toBe(result.text.trim());
    expect(result.text).not.toMatch(LEAKS);
    expect(result.text).toMatch(/run|minute|week|km|mile|pace/i);
    // ≈ 72 tokens of ChatML around these four messages with Qwen's tokenizer.
    expect(result.usage.prompt_tokens).toBeGreaterThan(50);
    expect(result.usage.prompt_tokens).toBeLessThan(120);
    expect(result.usage.completion_tokens).toBeGreaterThan(0);
    expect(result.usage.completion_tokens).toBeLessThanOrEqual(24);

    const longer = await ask({
      messages: [
        ...twoTurnChat,
        { role: "assistant", content: result.text },
        { role: "user", content: "Thanks!" },
      ],
    });
    expect(longer.usage.prompt_tokens).toBeGreaterThan(result.usage.prompt_tokens);
  });

  it("reports 'stop' at the end of its turn and 'length' when cut by maxTokens", async () => {
    const short = await model.complete({
      messages: [{ role: "user", content: "Reply with the single word: yes" }],
      maxTokens: 16,
      temperature: 0,
    });
    expect(short.finishReason).toBe("stop");
    expect(short.text).toMatch(/yes/i);
    // The end-of-turn token is sampled, so it is counted, but it is not in the text.
    expect(short.usage.completion_tokens).toBeLessThan(16);

    const cut = await model.complete({
      messages: [{ role: "user", content: "Count from one to one hundred in words, separated by commas." }],
      maxTokens: 3,
      temperature: 0,
    });
    expect(cut.finishReason).toBe("length");
    expect(cut.usage.completion_tokens).toBe(3);
  });

  it("is deterministic at temperature 0 and with a fixed seed at temperature 0.9", async () => {
    const [a, b] = [await ask(), await ask()];
    expect(b.text).toBe(a.text);
    const seeded = { temperature: 0.9, seed: 42 };
    const [c, d] = [await ask(seeded), await ask(seeded)];
    expect(d.text).toBe(c.text);
    expect(d.usage.completion_tokens).toBe(c.usage.completion_tokens);
    // …and the seed is what fixes it: other seeds sample other replies.
    const others = [await ask({ temperature: 0.9, seed: 1 }), await ask({ temperature: 0.9, seed: 2 })];
    expect(new Set([c.text, ...others.map((r) => r.text)]).size).toBeGreaterThan(1);
  });

  it("reuses the KV cache of a repeated prompt prefix", async () => {
    await ask();
    const again = await ask();
    expect(again.usage.cached_tokens ?? 0).toBeGreaterThan(again.usage.prompt_tokens / 2);
  });

  it("stops a running generation with the abort reason, and stays usable", async () => {
    const controller = new AbortController();
    const reason = new Error("turn timed out");
    const started = Date.now();
    const pending = model.complete({
      messages: [{ role: "user", content: "Write a long story about a dragon who learns to code." }],
      maxTokens: 400,
      temperature: 0.7,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 300);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await ask({ maxTokens: 4 })).usage.completion_tokens).toBeGreaterThan(0);
  });

  it("ignores transcript speaker labels: the template's roles say who speaks", async () => {
    const plain = await ask();
    const labelled = await ask({ speakerLabels: { user: "Assistant", assistant: "User" } });
    expect(labelled.text).toBe(plain.text);
    expect(labelled.usage.prompt_tokens).toBe(plain.usage.prompt_tokens);
  });
});
