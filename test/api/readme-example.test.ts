// The README's "compose your own pipeline" example, run as written (on the fake provider),
// so the documentation cannot drift from the API.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { lastValueFrom } from "rxjs";
import { expect, it } from "vitest";
import {
  admit,
  Backpressure,
  buildRuntime,
  converseAll,
  filesSink,
  loadConfig,
  ndjsonSink,
  readPersonas,
  styleTransfer,
  toTasks,
} from "../../src/index.js";

it("runs the README's custom pipeline", async () => {
  const dir = await mkdtemp(join(tmpdir(), "convosim-readme-"));
  try {
    const configPath = join(dir, "config.yaml");
    await writeFile(
      configPath,
      "interaction_generation:\n  assistant_model: { provider: fake, model: a }\n  user_model: { provider: fake, model: u }\n",
    );
    const stdin = Readable.from([
      '{"persona_id": "p1", "persona_features": {"role": "pm"}, "queries": [{"original_query": "Plan a sprint"}]}\n',
      '{"persona_id": "p2", "features": {"role": "dev"}, "queries": [{"original_query": "Fix a bug"}]}\n',
    ]);
    const stdout = new PassThrough();
    const lines: string[] = [];
    stdout.on("data", (chunk) => lines.push(...String(chunk).trim().split("\n")));

    // --- as in README.md ---
    const config = await loadConfig(configPath);
    const ig = config.interaction_generation;
    const rt = await buildRuntime(config);
    const window = new Backpressure(2 * ig.max_workers);
    const pipeline$ = readPersonas(stdin, { backpressure: window }).pipe(
      toTasks({ seed: 7 }),
      admit(window),
      styleTransfer(),
      converseAll({
        pool: rt.pool,
        user: rt.user,
        prices: rt.prices,
        callRetry: rt.callRetry,
        limits: { minTurns: 2, maxTurns: 4 },
        maxRetries: 3,
        retryDelayMs: 2000,
        concurrency: ig.max_workers,
        backpressure: window,
      }),
      filesSink(join(dir, "out")),
      ndjsonSink(stdout),
    );
    // --- end ---
    await lastValueFrom(pipeline$);
    await rt.close();
    expect((await readdir(join(dir, "out", "interactions"))).filter((f) => f.endsWith(".json"))).toHaveLength(
      2,
    );
    expect(lines.map((l) => JSON.parse(l).persona_id).sort()).toEqual(["p1", "p2"]);
    expect(window.pending).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
