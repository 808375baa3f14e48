// The simulated user against a real OpenAI-compatible server on loopback that answers badly
// on purpose: empty user replies, rejected replies and reruns, user_sim_failed, scenarios in
// the prompt, the stop judge, and the assistant's refusals, empty replies and stray markers.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { FailureRecord, Interaction } from "../../src/schema/interaction.js";
import {
  type CannedResponse,
  type LoopbackServer,
  type RecordedRequest,
  startLoopbackServer,
} from "../support/loopback-server.js";

interface ChatBody {
  model: string;
  seed?: number;
  temperature?: number;
  messages: Array<{ role: string; content: string }>;
}

const completion = (model: string, content: string, finish = "stop"): CannedResponse => ({
  status: 200,
  body: {
    id: "chatcmpl-test",
    object: "chat.completion",
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: finish }],
    usage: { prompt_tokens: 10, completion_tokens: 10 },
  },
});

type Answer = (body: ChatBody) => CannedResponse;
let answer: Answer = (body) => completion(body.model, "ok");
let server: LoopbackServer;
let dir: string;
const env = { CONVOSIM_SIM_TEST_KEY: "sk-test" };

beforeAll(async () => {
  server = await startLoopbackServer((request: RecordedRequest) => answer(request.body as ChatBody));
  dir = await mkdtemp(join(tmpdir(), "convosim-simuser-"));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const model = (name: string) => ({
  provider: "openai" as const,
  model: name,
  base_url: `${server.url}/v1`,
  api_key_env: "CONVOSIM_SIM_TEST_KEY",
});
const bodies = (name: string) =>
  server.requests.map((r) => r.body as ChatBody).filter((b) => b && b.model === name);

async function writePersonas(name: string, personas: unknown[]): Promise<string> {
  const path = join(dir, `${name}.jsonl`);
  await writeFile(path, `${personas.map((p) => JSON.stringify(p)).join("\n")}\n`);
  return path;
}

/** One run into DIR/<name> with its own cache folder (a rerun passes the same name). */
function run(name: string, config: ConvosimConfig, personas: string) {
  return generate({
    config,
    personas,
    out: join(dir, name),
    env,
    cacheDir: join(dir, `cache-${name}`),
    progressIntervalMs: 0,
  });
}

async function outputs(out: string): Promise<{ interactions: Interaction[]; failures: FailureRecord[] }> {
  const names = await readdir(join(out, "interactions")).catch(() => [] as string[]);
  const interactions = await Promise.all(
    names.map(async (n) => JSON.parse(await readFile(join(out, "interactions", n), "utf8")) as Interaction),
  );
  const failureText = await readFile(join(out, "failures.ndjson"), "utf8").catch(() => "");
  const failures = failureText
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as FailureRecord);
  return { interactions, failures };
}

const assistantAnswer = (body: ChatBody) => {
  const turn = body.messages.filter((m) => m.role === "user").length;
  return completion(body.model, `For step ${turn}, open the settings page and choose option ${turn * 7}.`);
};

const personas = (n: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({
    persona_id: `p${i}`,
    persona_features: { role: "teacher", communication_style: "casual" },
    queries: [{ original_query: `How do I set up a shared class folder number ${i}?`, ...extra }],
  }));

describe("the simulated user on a misbehaving server", () => {
  it("re-asks empty user replies with varied requests, saves user_sim_failed once min_turns is met", async () => {
    server.requests.length = 0;
    answer = (body) => (body.model === "user-m" ? completion(body.model, "") : assistantAnswer(body));
    const out = join(dir, "empty");
    const config = ConvosimConfig.parse({
      interaction_generation: {
        min_turns: 1,
        max_turns: 3,
        max_retries: 1,
        retry_delay: 0,
        assistant_model: model("assistant-m"),
        user_model: { ...model("user-m"), max_reasks: 2 },
      },
    });
    const summary = await run("empty", config, await writePersonas("empty", personas(3)));
    expect(summary).toMatchObject({ done: 3, failed: 0 });
    const { interactions } = await outputs(out);
    // A conversation drawn to last one turn ends at its target before the user is asked.
    const asked = interactions.filter((i) => i.metadata.target_turns > 1);
    expect(asked.length).toBeGreaterThan(0);
    for (const interaction of asked) {
      expect(interaction.metadata.stop_reason).toBe("user_sim_failed");
      expect(interaction.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
      expect(interaction.metadata.user_simulator).toMatchObject({ asks: 6, rejections: { empty: 6 } });
      expect(interaction.metadata.user_sim_failure).toBeDefined();
    }
    // (1 + max_reasks) asks × (1 + max_retries) attempts, each request different: never 20 byte-identical ones.
    const user = bodies("user-m");
    expect(user).toHaveLength(asked.length * 6);
    expect(new Set(user.map((b) => JSON.stringify(b))).size).toBe(user.length);
    expect(new Set(user.map((b) => b.seed)).size).toBe(user.length);
  });

  it("never caches rejected replies: a rerun of failed conversations asks the model again", async () => {
    server.requests.length = 0;
    const bad = "Certainly! Here's a step-by-step guide. Is there anything else I can help you with?";
    answer = (body) => (body.model === "user-m" ? completion(body.model, bad) : assistantAnswer(body));
    const out = join(dir, "rerun");
    const config = ConvosimConfig.parse({
      interaction_generation: {
        min_turns: 2,
        max_turns: 3,
        max_retries: 0,
        assistant_model: model("assistant-m"),
        user_model: { ...model("user-m"), max_reasks: 1 },
      },
    });
    const personasPath = await writePersonas("rerun", personas(2));
    const first = await run("rerun", config, personasPath);
    expect(first).toMatchObject({ done: 0, failed: 2 });
    const { failures } = await outputs(out);
    expect(failures.map((f) => f.error_kind)).toEqual(["user_simulator", "user_simulator"]);
    expect(failures[0]?.user_rejections?.map((r) => r.guard)).toEqual([
      "speaks_as_assistant",
      "speaks_as_assistant",
    ]);
    const firstCalls = bodies("user-m").length;
    expect(firstCalls).toBe(4);

    const second = await run("rerun", config, personasPath);
    expect(second.failed).toBe(2);
    expect(bodies("user-m").length - firstCalls).toBe(4); // real calls again, nothing replayed
    expect(bodies("assistant-m")).toHaveLength(2); // the good assistant replies were replayed
  });

  it("puts the scenario into the user's prompt, and the stop judge ends with goal_reached", async () => {
    server.requests.length = 0;
    answer = (body) => {
      if (body.model === "judge-m") {
        const last = body.messages[0]?.content ?? "";
        const reached = /Assistant: [^\n]*refund has been issued/.test(last);
        return completion(
          body.model,
          JSON.stringify({ reached, reason: reached ? "refund confirmed" : "no refund yet" }),
        );
      }
      if (body.model === "user-m") {
        const turn = body.messages.filter((m) => m.role !== "system").length;
        return completion(
          body.model,
          turn > 2 ? "ok so is the refund done now?" : "my order number is 4411, what next?",
        );
      }
      const turn = body.messages.filter((m) => m.role === "user").length;
      return completion(
        body.model,
        turn >= 2 ? "Your refund has been issued for order 4411." : "Can you give me your order number?",
      );
    };
    const out = join(dir, "judge");
    const config = ConvosimConfig.parse({
      interaction_generation: {
        min_turns: 1,
        max_turns: 5,
        assistant_model: model("assistant-m"),
        user_model: model("user-m"),
        stop_judge: { enabled: true, model: model("judge-m") },
      },
    });
    const scenario = {
      goal: "get my money back for a broken kettle",
      expected_outcome: "the assistant confirms a refund",
      known: ["order number 4411", "bought on 2 March"],
      unknown: ["the delivery company"],
      constraints: ["no store credit"],
    };
    const people = [
      {
        persona_id: "with",
        persona_features: { role: "buyer" },
        queries: [{ original_query: "My kettle arrived broken.", scenario }],
      },
      {
        persona_id: "without",
        persona_features: { role: "buyer" },
        queries: [{ original_query: "My toaster arrived broken." }],
      },
    ];
    const summary = await run("judge", config, await writePersonas("judge", people));
    expect(summary).toMatchObject({ done: 2, failed: 0 });
    const systems = bodies("user-m").map((b) => b.messages[0]?.content ?? "");
    const withScenario = systems.filter((s) => s.includes("broken kettle"));
    expect(withScenario.length).toBeGreaterThan(0);
    for (const system of withScenario) {
      expect(system).toContain("- order number 4411");
      expect(system).toMatch(/do not know[^\n]*\n- the delivery company/);
      expect(system).toContain("- no store credit");
    }
    expect(systems.filter((s) => s.includes("toaster")).every((s) => !s.includes("Facts you know"))).toBe(
      true,
    );

    const { interactions } = await outputs(out);
    const withRun = interactions.find((i) => i.persona_id === "with");
    expect(withRun?.metadata.stop_reason).toBe("goal_reached");
    expect(withRun?.metadata.scenario).toMatchObject({ ...scenario, source: "input" });
    expect(withRun?.metadata.judge_verdicts?.at(-1)).toMatchObject({
      reached: true,
      reason: "refund confirmed",
    });
    expect(withRun?.metadata.judge_verdicts?.[0]).toMatchObject({ turn: 1, reached: false });
    const withoutRun = interactions.find((i) => i.persona_id === "without");
    expect(withoutRun?.metadata.scenario).toEqual({ goal: "My toaster arrived broken.", source: "derived" });
  });

  it("flags the assistant's refusals, strips its markers and re-asks its empty replies with a new seed", async () => {
    server.requests.length = 0;
    const seen = new Map<string, number>();
    answer = (body) => {
      if (body.model === "user-m") return completion(body.model, "hmm ok, can you try another way?");
      const key = body.messages.map((m) => m.content).join("|");
      const count = seen.get(key) ?? 0;
      seen.set(key, count + 1);
      if (count === 0) return completion(body.model, "");
      return completion(body.model, "I'm sorry, but I can't help with that. ###STOP###");
    };
    const out = join(dir, "assistant");
    const config = ConvosimConfig.parse({
      interaction_generation: {
        min_turns: 2,
        max_turns: 2,
        assistant_model: model("assistant-m"),
        user_model: model("user-m"),
      },
    });
    const summary = await run("assistant", config, await writePersonas("assistant", personas(1)));
    expect(summary).toMatchObject({ done: 1, failed: 0 });
    const { interactions } = await outputs(out);
    const assistantMessages = interactions[0]?.messages.filter((m) => m.role === "assistant") ?? [];
    expect(assistantMessages).toHaveLength(2);
    for (const message of assistantMessages) {
      expect(message.content).toBe("I'm sorry, but I can't help with that.");
      expect(message.metadata).toMatchObject({ refusal: true, marker_stripped: true });
    }
    const calls = bodies("assistant-m");
    expect(calls).toHaveLength(4); // each turn: the empty reply, then the re-ask
    expect(calls[0]?.seed).not.toBe(calls[1]?.seed);
    expect(calls[1]?.temperature).toBeGreaterThan(calls[0]?.temperature ?? 0);
  });

  it("writes scenarios for queries without one, and the verifier's rejections are re-asked", async () => {
    server.requests.length = 0;
    let verified = 0;
    answer = (body) => {
      if (body.model === "scenario-m")
        return completion(
          body.model,
          `Sure! {"goal": "share a folder with 30 pupils", "expected_outcome": "pupils can open the folder", "known": ["the school uses Google Drive"], "unknown": ["the pupils' email addresses"], "constraints": []}`,
        );
      if (body.model === "verifier-m") {
        verified++;
        // The first check of every turn fails: the user is asked again, with the problem named.
        const first = verified % 2 === 1;
        return completion(
          body.model,
          JSON.stringify({ ok: !first, problem: first ? "it contradicts the persona" : "" }),
        );
      }
      if (body.model === "user-m") {
        const note = body.messages.at(-1)?.content ?? "";
        const reasked = note.includes("contradicts the persona");
        const turn = body.messages.filter((m) => m.role !== "system").length;
        return completion(
          body.model,
          reasked ? `fine, and what about step ${turn} then?` : `what about step ${turn}?`,
        );
      }
      return assistantAnswer(body);
    };
    const out = join(dir, "generated");
    const config = ConvosimConfig.parse({
      interaction_generation: {
        min_turns: 2,
        max_turns: 2,
        assistant_model: model("assistant-m"),
        user_model: model("user-m"),
        scenario_generation: { enabled: true, model: model("scenario-m") },
        turn_verifier: { enabled: true, model: model("verifier-m") },
      },
    });
    const summary = await run("generated", config, await writePersonas("generated", personas(1)));
    expect(summary).toMatchObject({ done: 1, failed: 0 });
    const { interactions } = await outputs(out);
    const interaction = interactions[0];
    expect(interaction?.metadata.scenario).toEqual({
      goal: "share a folder with 30 pupils",
      expected_outcome: "pupils can open the folder",
      known: ["the school uses Google Drive"],
      unknown: ["the pupils' email addresses"],
      source: "generated",
    });
    expect(bodies("user-m")[0]?.messages[0]?.content).toContain("- the school uses Google Drive");
    const followUp = interaction?.messages[2];
    expect(followUp?.content).toMatch(/^fine, and what about step/);
    expect(followUp?.metadata).toMatchObject({
      asks: 2,
      rejections: [{ guard: "verifier", detail: "it contradicts the persona" }],
    });
    expect(interaction?.metadata.usage.map((u) => u.operation)).toContain("scenario_generation");
  });
});
