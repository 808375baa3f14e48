// End-to-end: the REAL embedded Gemma 3 270M Q4_K_M (pretrained, the transcript path) from the
// convosim cache, run in process — the small, fast model, named explicitly; the default
// instruction-tuned model's chat path is covered by local-chat-model.test.ts. The test set-up
// runs `npm run fetch-model` first (it fetches both); a missing model is a failure with the fix
// in the message, never a silent skip. Outputs are short (≤ 24 tokens) so the whole file stays
// well under a minute on 2 cores.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalChatModel, LocalModelInfo } from "../../src/providers/local/index.js";
import {
  createLocalChatModel,
  type EmbeddedModel,
  embeddedModel,
  embeddedModelPath,
} from "../../src/providers/local/index.js";
import { leasedModelPaths } from "../../src/providers/local/runtime.js";
import type { ChatMessage, ChatRequest } from "../../src/providers/types.js";
import { ModelConfig } from "../../src/schema/config.js";

const MODEL_PATH = embeddedModelPath(embeddedModel("gemma-3-270m") as EmbeddedModel);

const twoTurnChat: ChatMessage[] = [
  { role: "system", content: "You are a friendly assistant who gives short, practical answers." },
  { role: "user", content: "Hi! I want to start running. How often should I run in the first month?" },
  { role: "assistant", content: "Start with three short runs a week, with a rest day between them." },
  { role: "user", content: "How long should each run be?" },
];

let model: LocalChatModel;
let info: LocalModelInfo;

beforeAll(async () => {
  if (!existsSync(MODEL_PATH)) {
    throw new Error(
      `embedded model not found at ${MODEL_PATH}; run \`npm run fetch-model\` before the tests (README: Testing)`,
    );
  }
  model = await createLocalChatModel(ModelConfig.parse({ provider: "local", model: "gemma-3-270m" }));
  info = await model.load();
}, 60_000);

afterAll(async () => {
  await model?.close();
});

const ask = (overrides: Partial<ChatRequest> = {}) =>
  model.complete({ messages: twoTurnChat, maxTokens: 24, temperature: 0, ...overrides });

describe("local provider with the real Gemma 3 270M", () => {
  it("loads the pretrained model and chooses the transcript prompt format", () => {
    expect(info.path).toBe(MODEL_PATH);
    expect(info.embedded).toBe("gemma-3-270m");
    expect(info.name).toBe("Gemma 3 270m");
    // The pretrained checkpoint: no finetune tag, no chat template.
    expect(info.finetune).toBeUndefined();
    expect(info.promptFormat).toBe("transcript");
    expect(info.chatWrapper).toBeUndefined();
    expect(info.sequences).toBeGreaterThanOrEqual(1);
    expect(info.loadMs).toBeGreaterThan(0);
  });

  it("answers a 2-turn chat with non-empty text and real token counts", async () => {
    const result = await ask();
    expect(result.provider).toBe("local");
    expect(result.model).toBe("gemma-3-270m");
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.text).toBe(result.text.trim());
    expect(result.text).not.toMatch(/\n(User|Assistant):/);
    expect(["stop", "length"]).toContain(result.finishReason);
    // The transcript of these messages is ~75 tokens with Gemma's tokenizer.
    expect(result.usage.prompt_tokens).toBeGreaterThan(50);
    expect(result.usage.prompt_tokens).toBeLessThan(120);
    expect(result.usage.completion_tokens).toBeGreaterThan(0);
    expect(result.usage.completion_tokens).toBeLessThanOrEqual(24);

    // One more turn means strictly more prompt tokens.
    const longer = await ask({
      messages: [
        ...twoTurnChat,
        { role: "assistant", content: result.text },
        { role: "user", content: "Thanks!" },
      ],
    });
    expect(longer.usage.prompt_tokens).toBeGreaterThan(result.usage.prompt_tokens);
  });

  it("is deterministic at temperature 0, and with a fixed seed at temperature 0.8", async () => {
    const [a, b] = [await ask(), await ask()];
    expect(b.text).toBe(a.text);
    expect(b.usage).toMatchObject({ prompt_tokens: a.usage.prompt_tokens });
    const seeded = { temperature: 0.8, seed: 1234 };
    const [c, d] = [await ask(seeded), await ask(seeded)];
    expect(d.text).toBe(c.text);
  });

  it("reuses the KV cache of a repeated prompt prefix", async () => {
    await ask();
    const again = await ask();
    expect(again.usage.cached_tokens ?? 0).toBeGreaterThan(again.usage.prompt_tokens / 2);
  });

  it("stops at maxTokens with finishReason 'length'", async () => {
    const result = await model.complete({
      messages: [{ role: "user", content: "Count from one to one hundred in words, separated by commas." }],
      maxTokens: 3,
      temperature: 0,
    });
    expect(result.finishReason).toBe("length");
    expect(result.usage.completion_tokens).toBe(3);
  });

  it("completes 4 concurrent calls (queued over the sequence pool)", async () => {
    const topics = ["bread", "tomatoes", "bicycles", "guitars"];
    const results = await Promise.all(
      topics.map((topic, i) =>
        model.complete({
          messages: [{ role: "user", content: `Give me one tip about ${topic}.` }],
          maxTokens: 24,
          temperature: 0.7,
          seed: i,
        }),
      ),
    );
    expect(results).toHaveLength(4);
    for (const result of results) {
      expect(typeof result.text).toBe("string");
      expect(result.usage.prompt_tokens).toBeGreaterThan(10);
      expect(result.usage.completion_tokens).toBeGreaterThan(0);
      expect(result.usage.completion_tokens).toBeLessThanOrEqual(24);
    }
  });

  it("rejects with the abort reason when the signal fires", async () => {
    const controller = new AbortController();
    const reason = new Error("turn timed out");
    const pending = ask({ maxTokens: 200, temperature: 0.7, signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    // The model is still usable afterwards.
    expect((await ask()).text.length).toBeGreaterThan(0);
  });

  it("stops a generation that is already running when the signal fires", async () => {
    // At temperature 0 this prompt makes the pretrained model repeat one sentence until
    // maxTokens, so 400 tokens would take seconds; the abort lands mid-generation.
    const controller = new AbortController();
    const reason = new Error("turn timed out");
    const started = Date.now();
    const pending = model.complete({
      messages: [
        { role: "system", content: "You are a helpful, concise assistant." },
        { role: "user", content: "My laptop battery drains really fast. What can I do?" },
      ],
      maxTokens: 400,
      temperature: 0,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 300);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("can be forced through the chat template (the path instruction-tuned GGUFs take)", async () => {
    // The pretrained model answers poorly through Gemma's template; this checks the mechanics.
    const chat = await createLocalChatModel(
      ModelConfig.parse({ model: "gemma-3-270m", extra_body: { prompt_format: "chat" } }),
    );
    const chatInfo = await chat.load();
    expect(chatInfo.promptFormat).toBe("chat");
    // No template in this GGUF: node-llama-cpp's wrapper for the architecture.
    expect(chatInfo.chatWrapper).toBe("Gemma");
    const result = await chat.complete({ messages: twoTurnChat, maxTokens: 8, temperature: 0 });
    expect(typeof result.text).toBe("string");
    expect(result.usage.prompt_tokens).toBeGreaterThan(50);
    expect(result.usage.completion_tokens).toBeGreaterThan(0);
    expect(result.usage.completion_tokens).toBeLessThanOrEqual(8);
    expect(["stop", "length"]).toContain(result.finishReason);
    await chat.close();
  });

  it("shares one loaded model between instances and frees it after the last close", async () => {
    const second = await createLocalChatModel(
      ModelConfig.parse({ model: "gemma-as-user", model_path: MODEL_PATH }),
    );
    const secondInfo = await second.load();
    expect(secondInfo.loadMs).toBe(info.loadMs); // same loaded model, no second load
    const reply = await second.complete({ messages: twoTurnChat, maxTokens: 8, temperature: 0 });
    expect(reply.model).toBe("gemma-as-user");
    await second.close();
    expect(leasedModelPaths()).toContain(MODEL_PATH); // `model` still holds it
    expect((await ask({ maxTokens: 4 })).usage.completion_tokens).toBeGreaterThan(0);
  });
});
