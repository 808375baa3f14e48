// Library callers of generate() get the output folder's lock too: two generate() calls on one
// folder in one process — exactly one runs, the other is refused as bad input before its runtime
// is built, and the folder ends with every file once and no lock.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { from, ReplaySubject } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { Persona } from "../../src/schema/persona.js";
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
    const people = samplePersonas();
    // Run A holds the lock while its persona stream is open: B is started once A's lock exists,
    // and A is fed the rest only after B was answered — with the fake models A would otherwise
    // finish (and release the lock) before B reached it on a loaded machine.
    const feed = new ReplaySubject<Persona>();
    const first = generate({ config, personas: feed, out, limit: 5, cache: false, onNotice: () => {} });
    feed.next(people[0] as Persona);
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(out, ".convosim.lock"))) {
      if (Date.now() > deadline) throw new Error("run A never took the lock");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const second = generate({
      config,
      personas: from(people),
      out,
      limit: 5,
      cache: false,
      onNotice: () => {},
    });
    const [b] = await Promise.allSettled([second]);
    for (const persona of people.slice(1)) feed.next(persona);
    feed.complete();
    const [a] = await Promise.allSettled([first]);
    const settled = [a, b];
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
    const ran = settled.filter((s) => s.status === "fulfilled");
    expect(ran).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(b?.status).toBe("rejected"); // the one that came second
    expect(refused[0]?.reason).toBeInstanceOf(InputError);
    expect(String((refused[0]?.reason as Error | undefined)?.message)).toMatch(
      new RegExp(`/ is in use by convosim pid ${process.pid} on host .+; wait for it or stop it$`),
    );
    expect((ran[0] as PromiseFulfilledResult<{ done: number }>).value.done).toBe(5);
    expect((await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"))).toHaveLength(5);
    expect(existsSync(join(out, ".convosim.lock"))).toBe(false);
  });
});
