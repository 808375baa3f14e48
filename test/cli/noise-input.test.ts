// `convosim noise` reads stdin like a personas file: a line without end (a stream from
// /dev/zero, a binary pasted by mistake) is bad input with a cap, not unbounded buffering.
import { describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";

describe("convosim noise: bounded stdin", () => {
  it("refuses a line longer than 16 MiB with exit 2 and one line", async () => {
    requireBuild();
    const result = await runCli(["noise", "--probability", "1"], { input: "a".repeat(17 * 1024 * 1024) });
    expect(result.code, result.stderr.slice(0, 300)).toBe(2);
    expect(result.stderr).toMatch(/^error: stdin line 1: line is longer than 16 MiB/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe("");
  });

  it("still noises ordinary lines, CRLF included", async () => {
    const result = await runCli(["noise", "--probability", "0"], { input: "hello there\r\nsecond line\n" });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { original_text: string });
    expect(lines.map((line) => line.original_text)).toEqual(["hello there", "second line"]);
  });
});
