// `convosim noise` through the built binary: one JSON per input line, determinism by seed,
// exact replay, protected spans, the realism report, and bad flags as one-line errors.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { replayEdits } from "../../src/noise/edits.js";
import { protectedSpans } from "../../src/noise/protect.js";
import type { NoiseResult } from "../../src/schema/noise.js";
import { requireBuild, runCli } from "../support/cli.js";

const MESSAGES = readFileSync(join(import.meta.dirname, "../noise/fixtures/messages.txt"), "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .slice(0, 60);
const INPUT = `${MESSAGES.join("\n")}\n`;

const parse = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as NoiseResult);

beforeAll(() => requireBuild());

describe("convosim noise", () => {
  it("prints one replayable result per line, the same for the same seed", async () => {
    const args = ["noise", "--probability", "1", "--seed", "7"];
    const [first, again, other] = await Promise.all([
      runCli(args, { input: INPUT }),
      runCli(args, { input: INPUT }),
      runCli(["noise", "--probability", "1", "--seed", "8"], { input: INPUT }),
    ]);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe("");
    expect(again.stdout).toBe(first.stdout);
    const results = parse(first.stdout);
    expect(results).toHaveLength(MESSAGES.length);
    results.forEach((result, i) => {
      expect(Object.keys(result).slice(0, 5)).toEqual([
        "original_text",
        "noisy_text",
        "layer",
        "applied_strategies",
        "edits",
      ]);
      expect(result.original_text).toBe(MESSAGES[i]);
      expect(replayEdits(result.original_text, result.edits)).toBe(result.noisy_text);
      for (const span of protectedSpans(result.original_text)) {
        expect(result.noisy_text).toContain(result.original_text.slice(span.start, span.end));
      }
    });
    expect(results.filter((r) => r.changed).length).toBeGreaterThanOrEqual(0.8 * MESSAGES.length);
    const others = parse(other.stdout);
    const differing = others.filter((r, i) => r.noisy_text !== results[i]!.noisy_text).length;
    expect(differing).toBeGreaterThan(MESSAGES.length / 2);
  });

  it("steers by --persona and leaves most lines clean at the default probability", async () => {
    const run = await runCli(
      ["noise", "--persona", '{"persona_features":{"formality_level":"very_casual","channel":"mobile_raw"}}'],
      {
        input: INPUT,
      },
    );
    expect(run.code).toBe(0);
    const results = parse(run.stdout);
    expect(results.every((r) => r.channel === "mobile_raw")).toBe(true);
    expect(results.filter((r) => !r.changed).length).toBeGreaterThan(MESSAGES.length / 2);
  });

  it("prints a realism report per persona type with --report", async () => {
    const run = await runCli(["noise", "--report", "--persona", '{"device":"desktop"}'], { input: INPUT });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^custom {2}\(channel desktop/);
    expect(run.stdout).toContain("casual_mobile_beginner");
    expect(run.stdout).toMatch(/CER all +mean [\d.]+% +median/);
    expect(run.stdout).toMatch(/operations +substitute \d+/);
    expect(run.stdout).toMatch(/token inflation ×[\d.]+/);
    const json = await runCli(["noise", "--report", "--json"], { input: INPUT });
    const report = JSON.parse(json.stdout) as Array<{ persona: string; clean_share: number }>;
    expect(report.map((r) => r.persona)).toContain("formal_desktop_expert");
  });

  it("rejects bad --persona JSON with one line naming the flag and the fix, exit 2", async () => {
    const run = await runCli(["noise", "--persona", "{casual"], { input: "hello\n" });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^error: command line: --persona: not valid JSON .*pass a JSON object, e\.g\. --persona/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const array = await runCli(["noise", "--persona", "[1]"], { input: "" });
    expect(array.code).toBe(2);
    expect(array.stderr).toMatch(/--persona: must be a JSON object/);
  });

  it("rejects an out-of-range --probability with exit 2", async () => {
    const run = await runCli(["noise", "--probability", "1.5"], { input: "" });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--probability must be a number from 0 to 1/);
  });
});
