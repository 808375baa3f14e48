// The end summary's failure counts come from the whole run, not the first 20 failures kept in
// RunSummary.failures: 25 conversations refused by a loopback endpoint speaking the OpenAI API,
// with two causes whose messages differ only in numbers and ids.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { from } from "rxjs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { summaryLines } from "../../src/cli/progress-display.js";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { Persona } from "../../src/schema/persona.js";
import { outputPaths } from "../../src/sinks/layout.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

const KEY_ENV = "CONVOSIM_SUMMARY_COUNTS_KEY";
let dir: string;
let server: LoopbackServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-summary-"));
  process.env[KEY_ENV] = "sk-test";
  // A 400 is no retry's business: each conversation fails at its first call.
  server = await startLoopbackServer((request, index) => {
    const persona = JSON.stringify(request.body).match(/report (\d+)/)?.[1] ?? "0";
    const message =
      Number(persona) % 5 === 0
        ? `prompt is ${4000 + index} tokens, over the limit`
        : `invalid request (request id req_${(0xbeef00 + index).toString(16)})`;
    return { status: 400, body: { error: { message, type: "invalid_request_error" } } };
  });
});
afterAll(async () => {
  delete process.env[KEY_ENV];
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

it("counts all 25 failures by kind and reason, and points at failures.ndjson for the rest", async () => {
  const model = { provider: "openai", model: "m", base_url: `${server.url}/v1`, api_key_env: KEY_ENV };
  const config = ConvosimConfig.parse({
    interaction_generation: {
      min_turns: 1,
      max_turns: 1,
      max_workers: 4,
      assistant_model: model,
      user_model: model,
    },
  });
  const personas: Persona[] = Array.from({ length: 25 }, (_, i) => ({
    persona_id: `p${i}`,
    persona_features: {},
    queries: [{ original_query: `why is report ${i} slow?` }],
  })) as Persona[];
  const out = join(dir, "out");
  const summary = await generate({ config, personas: from(personas), out, cache: false });
  expect(summary.failed).toBe(25);
  expect(summary.failures).toHaveLength(20);
  const counts = summary.failureCounts.map((c) => [c.count, c.error_kind]);
  expect(counts).toHaveLength(2);
  expect(summary.failureCounts.reduce((n, c) => n + c.count, 0)).toBe(25);
  expect(summary.failureCounts.map((c) => c.count)).toEqual([20, 5]);
  expect(summary.failureCounts[0]?.reason).toMatch(/invalid request \(request id req_/);
  expect(summary.failureCounts[1]?.reason).toMatch(/prompt is \d+ tokens, over the limit/);
  const lines = summaryLines(summary, outputPaths(out).failures);
  expect(lines).toContain(`  20 more in ${outputPaths(out).failures}`);
  expect(lines.filter((line) => / × /.test(line))).toHaveLength(2);
});
