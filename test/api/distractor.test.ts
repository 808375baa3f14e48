// The reference's distractor API: InteractionGenerator applies the config's distractor block,
// or a distractor made by createDistractor; applyNoise works on its own.
import { describe, expect, it } from "vitest";
import { createDistractor, FakeChatModel, InputError, InteractionGenerator } from "../../src/index.js";

const config = {
  interaction_generation: {
    min_turns: 2,
    max_turns: 2,
    assistant_model: { provider: "fake" as const, model: "fake-assistant" },
    user_model: { provider: "fake" as const, model: "fake-user" },
  },
  distractor: { enabled: true, activation_probability: 1 },
};

const args = {
  persona_id: "persona_001",
  persona_features: { communication_style: "casual", device: "mobile" },
  initial_query: "Help me write a Python script that renames my photos by date.",
};

describe("distractor (reference API)", () => {
  it("InteractionGenerator applies distractor.enabled from the config", async () => {
    const generator = new InteractionGenerator(config);
    const interaction = await generator.generateInteraction(args);
    const users = interaction?.messages.filter((m) => m.role === "user") ?? [];
    expect(users).toHaveLength(2);
    for (const m of users) expect(m.metadata.clean_content).not.toBe(m.content);
    expect(interaction?.metadata).toMatchObject({ distractor_applied: true, distractor_type: "rule_based" });
    expect(generator.distractor?.distractorType).toBe("rule_based");
    await generator.close();

    const off = new InteractionGenerator({ ...config, distractor: { enabled: false } });
    const clean = await off.generateInteraction(args);
    expect(clean?.messages[0]?.content).toBe(args.initial_query);
    expect(clean?.metadata.distractor_applied).toBe(false);
    expect(clean?.metadata.distractor_type).toBeUndefined();
    await off.close();
  });

  it("createDistractor builds a semantic distractor on a given model; the generator uses it", async () => {
    const model = new FakeChatModel({
      model: "helper",
      respond: (request) =>
        (request.messages[0]?.content ?? "").startsWith("You rewrite")
          ? '{"rewrite": "Help me write a Python script that renames my photos.", "gap": "no date"}'
          : '{"has_gap": true, "invented_facts": []}',
    });
    const distractor = await createDistractor(
      {
        ...config,
        distractor: {
          use_semantic: true,
          activation_probability: 1,
          layer_weights: { surface_noise: 0, incomplete_information: 1, semantic_ambiguity: 0 },
          strategies: { missing_slots: { mandatory: true } },
        },
      },
      { model },
    );
    const noised = await distractor.applyNoise(args.initial_query, args.persona_features);
    expect(noised.result).toMatchObject({
      noisy_text: "Help me write a Python script that renames my photos.",
      layer: "incomplete_information",
      semantic: { target_behaviour: "ask_for_missing_slot" },
    });
    const generator = new InteractionGenerator(config, { distractor });
    const interaction = await generator.generateInteraction(args);
    expect(interaction?.messages[0]?.content).toBe("Help me write a Python script that renames my photos.");
    // Both user messages drew the semantic layer. The opening was rewritten (rewrite + verdict); the
    // follow-up's fixed rewrite lost its request, was rejected twice locally and dropped: surface
    // noise instead. All four calls are paid for on the interaction.
    expect(interaction?.metadata.usage.filter((u) => u.operation === "distractor")).toHaveLength(4);
    const stats = distractor.stats();
    expect(stats.semantic).toMatchObject({
      attempted: 3,
      accepted: 2,
      dropped: 1,
      rewrite_calls: 4,
      verifier_calls: 2,
    });
    expect(stats.semantic.local_rejections).toBe(2);
    expect(stats.fallbacks).toEqual({ verifier_rejected: 1 });
    expect(interaction?.messages[2]?.metadata.noise).toMatchObject({
      layer: "surface_noise",
      fallback: { reason: "verifier_rejected" },
    });
    await generator.close();
    await distractor.close();
  });

  it("createDistractor refuses an unknown strategy name as an InputError", async () => {
    await expect(
      createDistractor({ distractor: { strategies: { missing_slot: { probability: 0.5 } } } }),
    ).rejects.toBeInstanceOf(InputError);
  });
});
