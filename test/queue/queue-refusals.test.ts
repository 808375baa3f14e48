// What the queue cannot do yet is refused before anything is queued, never run without it: the
// steps before the conversation (docs/scaling.md). Budgets run through the queue (queue-run.test.ts).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";

let dir: string;
let personas: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-queue-refusals-"));
  personas = join(dir, "personas.jsonl");
  await writeFile(
    personas,
    `${JSON.stringify({ persona_id: "p1", persona_features: {}, queries: [{ original_query: "How?" }] })}\n`,
  );
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("generate --queue refuses what it cannot do yet", () => {
  // Redis at port 1 is never reached: the refusal comes first.
  const queue = ["--queue", "redis://127.0.0.1:1"];

  it("a config with style transfer → exit 2 naming the key", async () => {
    const config = join(dir, "style.yaml");
    await writeFile(config, "interaction_generation:\n  style_transfer:\n    enabled: true\n");
    const run = await runCli(["generate", "-c", config, "-p", personas, "-o", join(dir, "out2"), ...queue]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("interaction_generation.style_transfer");
  });
});
