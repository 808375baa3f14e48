import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { samplePersonas, samplePersonasPath } from "../../src/sources/samples.js";

describe("samplePersonas", () => {
  it("loads a dozen valid, varied personas with 2–3 queries each", () => {
    const personas = samplePersonas();
    expect(personas).toHaveLength(12);
    expect(new Set(personas.map((p) => p.persona_id)).size).toBe(12);
    for (const persona of personas) {
      expect(persona.queries.length).toBeGreaterThanOrEqual(2);
      expect(persona.queries.length).toBeLessThanOrEqual(3);
    }
    const values = (dimension: string) => new Set(personas.map((p) => p.persona_features[dimension]));
    expect(values("role").size).toBeGreaterThanOrEqual(10);
    for (const dimension of [
      "tech_proficiency",
      "communication_style",
      "formality_level",
      "follow_up_tendency",
    ]) {
      expect(values(dimension).size, dimension).toBeGreaterThanOrEqual(4);
    }
    expect(values("scenario").has("in_a_rush")).toBe(true);
    expect(values("age_band").has("60p")).toBe(true);
  });

  it("returns fresh objects on every call", () => {
    const first = samplePersonas();
    first[0]!.persona_features.role = "changed";
    expect(samplePersonas()[0]!.persona_features.role).not.toBe("changed");
  });

  it("finds the data file at the package root", () => {
    const path = samplePersonasPath();
    expect(path).toMatch(/data[\\/]sample-personas\.jsonl$/);
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(12);
  });
});
