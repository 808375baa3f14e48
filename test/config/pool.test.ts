import { describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { normalisePoolWeights } from "../../src/config/pool.js";

describe("normalisePoolWeights", () => {
  it("returns probabilities in pool order that sum to exactly 1", () => {
    expect(normalisePoolWeights([{ weight: 1 }, { weight: 3 }])).toEqual([0.25, 0.75]);
    expect(normalisePoolWeights([{}, { weight: 1 }])).toEqual([0.5, 0.5]);
    const thirds = normalisePoolWeights([{ weight: 0.1 }, { weight: 0.1 }, { weight: 0.1 }]);
    expect(thirds.reduce((a, b) => a + b, 0)).toBe(1);
    expect(normalisePoolWeights([{ weight: 0 }, { weight: 2 }])).toEqual([0, 1]);
  });

  it("rejects negative, non-finite, all-zero weights and an empty pool", () => {
    const fieldOf = (pool: Array<{ weight?: number }>) => {
      try {
        normalisePoolWeights(pool);
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        return (error as InputError).field;
      }
      throw new Error("expected an InputError");
    };
    expect(fieldOf([{ weight: 1 }, { weight: -1 }])).toBe(
      "interaction_generation.assistant_model.model_pool[1].weight",
    );
    expect(fieldOf([{ weight: Number.NaN }])).toBe(
      "interaction_generation.assistant_model.model_pool[0].weight",
    );
    expect(fieldOf([{ weight: 0 }, { weight: 0 }])).toBe("interaction_generation.assistant_model.model_pool");
    expect(fieldOf([])).toBe("interaction_generation.assistant_model.model_pool");
  });
});
