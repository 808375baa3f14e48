// The reference's API in TypeScript form, on the scripted fake provider.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InteractionGenerator, InteractionStorage } from "../../src/index.js";

const config = {
  interaction_generation: {
    min_turns: 2,
    max_turns: 2,
    assistant_model: { provider: "fake" as const, model: "fake-assistant" },
    user_model: { provider: "fake" as const, model: "fake-user" },
  },
};

describe("InteractionGenerator (reference API)", () => {
  it("generates one interaction with the reference's fields", async () => {
    const generator = new InteractionGenerator(config);
    const interaction = await generator.generateInteraction({
      persona_id: "persona_001",
      persona_features: { role: "engineer", style: "casual" },
      initial_query: "help me write python code",
      original_query: "Help me write Python code",
      target_turns: 2,
    });
    expect(interaction?.num_turns).toBe(2);
    expect(interaction?.original_query).toBe("Help me write Python code");
    expect(interaction?.initial_query).toBe("help me write python code");
    expect(interaction?.metadata.assistant_model).toEqual({ provider: "fake", model: "fake-assistant" });
    await generator.close();
  });

  it("generates a batch and saves each interaction through storage", async () => {
    const dir = await mkdtemp(join(tmpdir(), "convosim-api-"));
    try {
      const storage = new InteractionStorage(dir);
      const generator = new InteractionGenerator(config);
      const interactions = await generator.generateInteractionsBatch(
        [
          {
            persona_id: "p1",
            persona_features: { role: "pm" },
            queries: [{ original_query: "Plan a sprint" }, { original_query: "Write a PRD" }],
          },
          {
            persona_id: "p2",
            features: { role: "student" },
            queries: [{ adapted_query: "explain recursion pls", original_query: "Explain recursion" }],
          },
        ],
        { maxWorkers: 2, storage },
      );
      expect(interactions).toHaveLength(3);
      expect(interactions.find((i) => i.persona_id === "p2")?.initial_query).toBe("explain recursion pls");
      expect(await storage.loadAll()).toHaveLength(3);
      await storage.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
