// The heap policy applies only where memory is at stake: thousands of conversations in flight.
// Run in a child process because it changes a process-wide V8 setting.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI_NODE_FLAGS } from "../../src/run/heap.js";
import { BIN, requireBuild } from "../support/cli.js";

const HEAP = join(import.meta.dirname, "../../dist/src/run/heap.js");

function appliedFor(workers: number): boolean {
  const script = `import { applyHeapPolicy } from ${JSON.stringify(HEAP)};
    process.stdout.write(String(applyHeapPolicy(${workers})));`;
  return (
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }) === "true"
  );
}

describe("applyHeapPolicy", () => {
  it("leaves V8 alone below 1,000 conversations in flight and applies from 1,000", () => {
    requireBuild();
    expect(appliedFor(999)).toBe(false);
    expect(appliedFor(1000)).toBe(true);
  });
});

describe("CLI_NODE_FLAGS", () => {
  it("are the flags bin/convosim's first line starts node with", () => {
    const shebang = readFileSync(BIN, "utf8").split("\n")[0];
    // `--`: the script's own --env-file is not node's (bin/convosim says why).
    expect(shebang).toBe(`#!/usr/bin/env -S node ${CLI_NODE_FLAGS.join(" ")} --`);
  });

  it("start the CLI when it is run as an executable (env -S passes them through)", () => {
    requireBuild();
    const help = execFileSync(BIN, ["--help"], { encoding: "utf8" });
    expect(help).toContain("Usage: convosim");
  });
});
