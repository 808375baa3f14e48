// Library callers of generate() get the output folder's lock too: two generate() calls on one
// folder in one process — exactly one runs, the other is refused as bad input before its runtime
// is built, and the folder ends with every file once and no lock.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { from } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import { samplePersonas } from "../../src/sources/samples.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-lock-lib-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("generate() and the output folder lock", () => {
  it("two concurrent runs on one folder: one does the job, the other is refused", async () => {
    const config = ConvosimConfig.parse({
      interaction_generation: {
        min_turns: 2,
        max_turns: 2,
        assistant_model: { provider: "fake", model: "fake-assistant" },
        user_model: { provider: "fake", model: "fake-user" },
      },
    });
    const out = join(dir, "out");
    const run = () =>
      generate({ config, personas: from(samplePersonas()), out, limit: 5, cache: false, onNotice: () => {} });
    const [a, b] = await Promise.allSettled([run(), run()]);
    const settled = [a, b];
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
    const ran = settled.filter((s) => s.status === "fulfilled");
    expect(ran).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.reason).toBeInstanceOf(InputError);
    expect(String((refused[0]?.reason as Error | undefined)?.message)).toMatch(
      new RegExp(`/ is in use by convosim pid ${process.pid} on host .+; wait for it or stop it$`),
    );
    expect((ran[0] as PromiseFulfilledResult<{ done: number }>).value.done).toBe(5);
    expect((await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"))).toHaveLength(5);
    expect(existsSync(join(out, ".convosim.lock"))).toBe(false);
  });
});
