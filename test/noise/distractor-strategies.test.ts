// The distractor's strategy settings: the strategy file's accepted shapes (the reference's
// names, per-layer blocks, lists, shorthands), errors that name the file, the key and the fix,
// the precedence of config over file, and how strategies are chosen for one message.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { buildSettings, strategyCatalog } from "../../src/noise/distractor-settings.js";
import { DistractorConfigError, parseStrategyFile } from "../../src/noise/distractor-strategies.js";
import { chooseSemanticStrategies } from "../../src/noise/semantic/layer.js";
import { semanticScale } from "../../src/noise/semantic/steering.js";
import { semanticStrategy } from "../../src/noise/semantic/strategies.js";
import { checkRuntimeConfig } from "../../src/run/runtime.js";
import { ConvosimConfig, DistractorConfig } from "../../src/schema/config.js";

const dir = mkdtempSync(join(tmpdir(), "convosim-strategies-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const catalog = strategyCatalog();

function errorOf(fn: () => unknown): DistractorConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DistractorConfigError) return error;
    throw error;
  }
  throw new Error("expected a DistractorConfigError");
}

describe("strategy file", () => {
  it("accepts the reference's layered form, flat maps, lists and shorthands", () => {
    const path = file(
      "layered.yaml",
      [
        "surface_noise:",
        "  weight: 0.6",
        "  strategies:",
        "    typo_misspelling: {probability: 0.3}",
        "    colloquial_speech: {mandatory: true}",
        "incomplete_information:",
        "  strategies:",
        "    - {name: missing_slots, probability: 0.8}",
        "    - {name: unclear_priority, enabled: false}",
        "strategies:",
        "  multi_intent: 0.5",
        "  self_contradiction: false",
      ].join("\n"),
    );
    const settings = buildSettings(DistractorConfig.parse({ enabled: true, strategy_path: path }));
    expect(settings.layerWeights).toEqual({
      surface_noise: 0.6,
      incomplete_information: 0.3,
      semantic_ambiguity: 0.2,
    });
    expect(settings.surfaceSettings).toMatchObject({
      typo_misspelling: { probability: 0.3, enabled: true },
      colloquial_speech: { mandatory: true },
    });
    expect(settings.semanticSettings).toMatchObject({
      missing_slots: { probability: 0.8 },
      unclear_priority: { enabled: false },
      multi_intent: { probability: 0.5 },
      self_contradiction: { enabled: false },
    });
  });

  it("reads JSON too, and lets a config entry replace the file's entry of that name", () => {
    const path = file("s.json", JSON.stringify({ strategies: { missing_slots: { probability: 0.9 } } }));
    const settings = buildSettings(
      DistractorConfig.parse({
        enabled: true,
        strategy_path: path,
        strategies: { missing_slots: { probability: 0.1 } },
      }),
    );
    expect(settings.semanticSettings.missing_slots?.probability).toBe(0.1);
  });

  it("names the file, the key and a likely fix for an unknown strategy", () => {
    const path = file("typo.yaml", "incomplete_information:\n  strategies:\n    missing_slot: 0.4\n");
    const error = errorOf(() =>
      buildSettings(DistractorConfig.parse({ enabled: true, strategy_path: path })),
    );
    expect(error.file).toBe(path);
    expect(error.field).toBe("incomplete_information.strategies.missing_slot");
    expect(error.message).toContain('unknown strategy "missing_slot"');
    expect(error.hint).toBe('did you mean "missing_slots"?');
  });

  it("rejects a strategy under the wrong layer, an unknown key and a bad probability", () => {
    const wrongLayer = errorOf(() =>
      parseStrategyFile({ surface_noise: { strategies: { multi_intent: 0.2 } } }, "f.yaml", catalog),
    );
    expect(wrongLayer.field).toBe("surface_noise.strategies.multi_intent");
    expect(wrongLayer.hint).toBe("move it under semantic_ambiguity");

    const unknownKey = errorOf(() => parseStrategyFile({ stratgies: {} }, "f.yaml", catalog));
    expect(unknownKey.field).toBe("stratgies");
    expect(unknownKey.hint).toBe('did you mean "strategies"?');

    const badProbability = errorOf(() =>
      parseStrategyFile({ strategies: { missing_slots: { probability: 2 } } }, "f.yaml", catalog),
    );
    expect(badProbability.field).toBe("strategies.missing_slots.probability");

    const badWeight = errorOf(() =>
      parseStrategyFile({ layer_weights: { surface_noise: -1 } }, "f.yaml", catalog),
    );
    expect(badWeight.field).toBe("layer_weights.surface_noise");
  });

  it("refuses a reference strategy convosim cannot apply, unless it is switched off", () => {
    const on = errorOf(() => parseStrategyFile({ strategies: { synonym_rewrite: 0.3 } }, "f.yaml", catalog));
    expect(on.message).toContain("no rule-based equivalent");
    expect(on.hint).toBe("set enabled: false or remove it");
    expect(
      parseStrategyFile({ strategies: { synonym_rewrite: false } }, "f.yaml", catalog).settings,
    ).toHaveProperty("synonym_rewrite");
  });

  it("refuses a layer weight set both in the config and in the file", () => {
    const path = file("weights.yaml", "layer_weights: {surface_noise: 0.9}\n");
    const error = errorOf(() =>
      buildSettings(
        DistractorConfig.parse({ enabled: true, strategy_path: path, layer_weights: { surface_noise: 0.7 } }),
      ),
    );
    expect(error.field).toBe("distractor.layer_weights.surface_noise");
    expect(error.file).toBeUndefined();
  });

  it("reports a bad config strategy name as the CLI's InputError before any call", () => {
    const config = ConvosimConfig.parse({
      interaction_generation: { assistant_model: { provider: "fake" }, user_model: { provider: "fake" } },
      distractor: { enabled: true, strategies: { multi_intnet: { probability: 0.5 } } },
    });
    let caught: unknown;
    try {
      checkRuntimeConfig(config, {});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).field).toBe("distractor.strategies.multi_intnet");
    expect((caught as InputError).hint).toBe('did you mean "multi_intent"?');
    // Disabled, the same block is not read (it would have no effect).
    checkRuntimeConfig(
      ConvosimConfig.parse({ ...config, distractor: { ...config.distractor, enabled: false } }),
      {},
    );
  });
});

describe("choosing semantic strategies", () => {
  const keys = [1, "i", 1];
  it("applies mandatory ones first, skips disabled ones and respects the cap", () => {
    const chosen = chooseSemanticStrategies({
      layer: "semantic_ambiguity",
      settings: {
        self_contradiction: { mandatory: true },
        mind_changing: { mandatory: true },
        multi_intent: { probability: 1 },
        intent_ambiguity: { enabled: false },
      },
      max: 2,
      keys,
    });
    expect(chosen.map((s) => s.name)).toEqual(["self_contradiction", "mind_changing"]);
    const none = chooseSemanticStrategies({ layer: "semantic_ambiguity", settings: {}, max: 0, keys });
    expect(none).toEqual([]);
  });

  it("always picks one when the layer was chosen, and never a disabled one", () => {
    const settings = {
      missing_slots: { probability: 0 },
      vague_slot_values: { enabled: false },
      context_dependency: { enabled: false },
      unclear_priority: { probability: 0.01 },
    };
    for (let seed = 0; seed < 50; seed++) {
      const chosen = chooseSemanticStrategies({
        layer: "incomplete_information",
        settings,
        max: 1,
        keys: [seed],
      });
      expect(chosen.map((s) => s.name)).toEqual(["unclear_priority"]);
    }
  });

  it("steers probabilities by persona: formal writers leave fewer slots open than frustrated casual ones", () => {
    const missing = semanticStrategy("missing_slots");
    if (!missing) throw new Error("missing_slots is in the catalogue");
    const formal = semanticScale({ persona_id: "a", formality_level: "highly_formal" })(missing);
    const casual = semanticScale({ persona_id: "a", formality_level: "casual", mood: "frustrated" })(missing);
    expect(casual).toBeGreaterThan(formal * 2);
    // A config override of the steering row reaches the scale.
    const off = semanticScale(
      { persona_id: "a", formality_level: "formal" },
      { underspecified_slot: { multipliers: { formal: 0 } } },
    );
    expect(off(missing)).toBe(0);
  });
});
