import { describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { closestMatch, editDistance } from "../../src/config/suggest.js";

describe("InputError.format", () => {
  it("puts file, line and field before the message", () => {
    const error = new InputError({
      file: "config.yaml",
      field: "interaction_generation.max_workers",
      message: "must be at least 1 (got -3)",
    });
    expect(error.format()).toBe(
      "config.yaml: interaction_generation.max_workers: must be at least 1 (got -3)",
    );
    const jsonl = new InputError({
      file: "personas.jsonl",
      line: 17,
      message: "invalid JSON (Unexpected token)",
    });
    expect(jsonl.format()).toBe("personas.jsonl line 17: invalid JSON (Unexpected token)");
  });

  it("adds a hint line and a summary of further problems", () => {
    const error = new InputError({
      file: "c.yaml",
      line: 3,
      column: 5,
      field: "a.b",
      message: "bad",
      hint: "fix it",
      more: ["a.c", "a.d", "a.e", "a.f"],
    });
    expect(error.format()).toBe(
      "c.yaml line 3, column 5: a.b: bad\n  hint: fix it\n  also: 4 more problems (a.c, a.d, a.e, …)",
    );
  });

  it("keeps message bare and puts the location in the stack header", () => {
    const error = new InputError({ file: "p.json", field: "persona_id", message: "is required" });
    expect(error.message).toBe("is required");
    expect(error.stack?.split("\n")[0]).toBe("InputError: p.json: persona_id: is required");
    expect(String(error)).toBe("InputError: p.json: persona_id: is required");
    expect(error).toBeInstanceOf(Error);
  });
});

describe("closestMatch", () => {
  it("finds plausible typos and refuses far-fetched ones", () => {
    const keys = ["min_turns", "max_turns", "max_workers", "max_retries", "seed"];
    expect(closestMatch("max_turn", keys)).toBe("max_turns");
    expect(closestMatch("max_wokrers", keys)).toBe("max_workers");
    expect(closestMatch("max-workers", keys)).toBe("max_workers");
    expect(closestMatch("Seed", keys)).toBe("seed");
    expect(closestMatch("temperature", keys)).toBeUndefined();
    expect(closestMatch("sed", ["seed"])).toBe("seed");
    expect(closestMatch("abc", ["xyz"])).toBeUndefined();
  });

  it("counts a transposition as one edit", () => {
    expect(editDistance("ab", "ba")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
});

describe("describeValue", () => {
  it("hides values that look like secrets and shows ordinary ones", async () => {
    const { describeValue } = await import("../../src/config/issues.js");
    expect(describeValue("sk-or-v1-abcdef", "api_key_env")).toMatch(/not shown/);
    expect(describeValue("hunter2", "password")).toMatch(/not shown/);
    expect(describeValue("a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7")).toMatch(/not shown/);
    expect(describeValue("lots", "max_completion_tokens")).toBe('"lots"');
    expect(describeValue("meta-llama/llama-3.3-70b-instruct", "model")).toBe(
      '"meta-llama/llama-3.3-70b-instruct"',
    );
    expect(describeValue(`${"x".repeat(30)}/${"y".repeat(30)}`)).toBe(
      `"${"x".repeat(30)}/${"y".repeat(8)}…"`,
    );
    expect(describeValue(null)).toBe("an empty value");
    expect(describeValue([1], undefined, "json")).toBe("an array");
  });
});
