// A generation run with the distractor on (activation_probability 1.0, semantic layers on),
// against a loopback server speaking the OpenAI API that records every request. Checks the
// issue's done-when: every noised user message keeps its clean and noisy text, the assistant
// received the noisy text, and distractor_applied is true exactly when a message changed.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { Interaction } from "../../src/schema/interaction.js";
import {
  type LoopbackServer,
  type RecordedRequest,
  startLoopbackServer,
} from "../support/loopback-server.js";

interface ChatBody {
  model: string;
  messages: Array<{ role: string; content: string }>;
}

const completion = (model: string, content: string, promptChars: number) => ({
  status: 200,
  body: {
    id: "chatcmpl-test",
    object: "chat.completion",
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: Math.ceil(promptChars / 4), completion_tokens: Math.ceil(content.length / 4) },
  },
});

let verifyCount = 0;

const FOLLOW_UPS = [
  "Thanks. What do you suggest for naming the folders?",
  "Okay, and who should get write access on the shared drive?",
  "Makes sense. How often would you back everything up?",
  "Last thing: where do old drafts go once a project ends?",
];

// assistant-m echoes what it was sent; user-m writes numbered follow-ups; helper-m rewrites
// (drops the last words) and verifies (rejecting every fourth verdict, so retries happen).
function answer(request: RecordedRequest) {
  const body = request.body as ChatBody;
  const last = body.messages.at(-1)?.content ?? "";
  const chars = body.messages.reduce((n, m) => n + m.content.length, 0);
  // The echo ends with an answer: a bare question echoed back would rightly be re-asked as the
  // assistant asking the user's question back.
  if (body.model === "assistant-m")
    return completion(body.model, `You said: ${last}\nHere is my answer.`, chars);
  if (body.model === "user-m") {
    // A new topic each turn: a follow-up that repeated the last one (which the assistant
    // echoes) would rightly be rejected by the turn guards.
    const turn = Math.floor(body.messages.length / 2);
    return completion(body.model, FOLLOW_UPS[turn % FOLLOW_UPS.length] ?? "", chars);
  }
  if (last.startsWith("You rewrite one message")) {
    const text = last.slice(last.lastIndexOf("The message:\n") + "The message:\n".length).trim();
    const words = text.split(" ");
    const rewrite = `${words.slice(0, Math.max(3, words.length - 3)).join(" ")} and that stuff`;
    return completion(body.model, JSON.stringify({ rewrite, gap: "left out the end" }), chars);
  }
  verifyCount++;
  const verdict =
    verifyCount % 4 === 0 ? { has_gap: false, invented_facts: [] } : { has_gap: true, invented_facts: [] };
  return completion(body.model, JSON.stringify({ ...verdict, reason: "checked" }), chars);
}

let server: LoopbackServer;
let dir: string;
beforeAll(async () => {
  server = await startLoopbackServer((request) => answer(request));
  dir = await mkdtemp(join(tmpdir(), "convosim-distractor-"));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const model = (name: string) => ({
  provider: "openai" as const,
  model: name,
  base_url: `${server.url}/v1`,
  api_key_env: "CONVOSIM_DISTRACTOR_TEST_KEY",
});

describe("generation with the distractor on", () => {
  it("keeps clean and noisy text, sends the noisy text to the assistant, and is honest", async () => {
    const personas = join(dir, "personas.jsonl");
    const styles = ["casual", "professional", "technical", "creative"];
    await writeFile(
      personas,
      `${Array.from({ length: 8 }, (_, i) =>
        JSON.stringify({
          persona_id: `p${i}`,
          persona_features: { communication_style: styles[i % 4], device: i % 2 ? "mobile" : "desktop" },
          queries: [
            { original_query: `How should I organise the files of project ${i} for a team of five people?` },
          ],
        }),
      ).join("\n")}\n`,
    );
    const out = join(dir, "out");
    const config = ConvosimConfig.parse({
      interaction_generation: {
        min_turns: 3,
        max_turns: 3,
        max_workers: 4,
        retry_delay: 0,
        assistant_model: model("assistant-m"),
        user_model: model("user-m"),
      },
      distractor: { enabled: true, use_semantic: true, activation_probability: 1, model: model("helper-m") },
    });
    const summary = await generate({
      config,
      personas,
      out,
      cache: false,
      env: { CONVOSIM_DISTRACTOR_TEST_KEY: "sk-test" },
    });
    expect(summary).toMatchObject({ done: 8, failed: 0 });

    const files = (await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"));
    const interactions: Interaction[] = await Promise.all(
      files.map(async (f) => JSON.parse(await readFile(join(out, "interactions", f), "utf8"))),
    );
    expect(interactions).toHaveLength(8);
    const bodies = server.requests.map((r) => r.body as ChatBody);
    const assistantLasts = bodies
      .filter((b) => b.model === "assistant-m")
      .map((b) => b.messages.at(-1)?.content);
    const userCalls = bodies.filter((b) => b.model === "user-m");

    let noised = 0;
    let semantic = 0;
    for (const interaction of interactions) {
      const users = interaction.messages.filter((m) => m.role === "user");
      expect(users).toHaveLength(3);
      let changed = false;
      for (const [i, message] of users.entries()) {
        const meta = message.metadata as {
          was_noised: boolean;
          clean_content?: string;
          noise?: { original_text: string; noisy_text: string; layer: string };
        };
        // Noised: clean and noisy text both kept, and they differ; not noised: no claim.
        if (meta.was_noised) {
          noised++;
          changed = true;
          expect(meta.clean_content).toBeTypeOf("string");
          expect(meta.clean_content).not.toBe(message.content);
          expect(meta.noise?.original_text).toBe(meta.clean_content);
          expect(meta.noise?.noisy_text).toBe(message.content);
          if (meta.noise?.layer !== "surface_noise") semantic++;
        } else expect(meta.clean_content).toBeUndefined();
        // The assistant received exactly the stored (noisy) text, and its echo says so.
        expect(assistantLasts).toContain(message.content);
        expect(interaction.messages[2 * i + 1]?.content).toBe(
          `You said: ${message.content}\nHere is my answer.`,
        );
      }
      expect(interaction.metadata.distractor_applied).toBe(changed);
      expect(interaction.metadata.distractor_type).toBe("semantic");
      const first = users[0]?.metadata as { was_noised: boolean; clean_content?: string };
      const record = interaction.metadata.noisy_versions as
        | { initial_query?: { clean_query: string; noisy_versions: Array<{ noisy_text: string }> } }
        | undefined;
      if (first.was_noised) {
        expect(record?.initial_query?.clean_query).toBe(interaction.initial_query);
        expect(record?.initial_query?.noisy_versions[0]?.noisy_text).toBe(users[0]?.content);
      }
      // Semantic calls are paid for on the interaction that needed them.
      const helperUsage = interaction.metadata.usage.filter((u) => u.operation === "distractor");
      expect(helperUsage.every((u) => u.model === "helper-m")).toBe(true);
    }
    // Activation 1.0: every user message was noised (surface noise forces a change).
    expect(noised).toBe(24);
    expect(semantic).toBeGreaterThan(0);
    // The simulated user never saw its noisy text: its own past messages are the clean ones.
    for (const call of userCalls)
      for (const m of call.messages.filter((m) => m.role === "assistant"))
        expect(FOLLOW_UPS.includes(m.content) || m.content.startsWith("How should I")).toBe(true);

    const stats = summary.distractor;
    expect(stats?.messages).toBe(24);
    expect(stats?.changed).toBe(24);
    expect(stats?.semantic.verifier_failed).toBeGreaterThan(0);
    expect(stats?.semantic.accepted).toBe(semantic);
    expect(bodies.filter((b) => b.model === "helper-m")).toHaveLength(
      (stats?.semantic.rewrite_calls ?? 0) + (stats?.semantic.verifier_calls ?? 0),
    );
  }, 60_000);
});
