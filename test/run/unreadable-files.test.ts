// stats, report, show and export over a folder with unreadable interaction files (valid JSON
// that is not an interaction, another shape of damage, a directory named like a file): each
// reader reports every such file once and goes on; none is counted.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportConversations } from "../../src/exports/export.js";
import { buildReport } from "../../src/report/build.js";
import { iterateInteractions } from "../../src/run/output-reader.js";
import { computeStats } from "../../src/run/stats.js";
import type { CorruptFileError } from "../../src/sinks/layout.js";
import { makeInteraction, tempDir, writeRun } from "./stats-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeRun(dir, [makeInteraction({ id: "a" }), makeInteraction({ id: "b" })], []);
  const folder = join(dir, "interactions");
  await writeFile(join(folder, "c.json"), '{"hello": "world"}\n');
  await writeFile(
    join(folder, "d.json"),
    JSON.stringify({ ...makeInteraction({ id: "d" }), metadata: null }),
  );
  await writeFile(
    join(folder, "e.json"),
    JSON.stringify({ ...makeInteraction({ id: "e" }), messages: [null, { role: "user" }] }),
  );
  await mkdir(join(folder, "f.json"));
});
afterEach(async () => cleanup());

const BAD = ["c.json", "d.json", "e.json", "f.json"];
const names = (errors: CorruptFileError[]) => errors.map((error) => error.path.split("/").pop()).sort();

describe("readers over unreadable interaction files", () => {
  it("iterateInteractions reports each and yields the rest", async () => {
    const unreadable: CorruptFileError[] = [];
    const ids: string[] = [];
    for await (const i of iterateInteractions(dir, { onUnreadable: (e) => unreadable.push(e) }))
      ids.push(i.interaction_id);
    expect(ids).toEqual(["a", "b"]);
    expect(names(unreadable)).toEqual(BAD);
    expect(unreadable.find((e) => e.path.endsWith("f.json"))?.reason).toMatch(/directory/);
  });

  it("computeStats does not count them, reports each, and says how many", async () => {
    const unreadable: CorruptFileError[] = [];
    const stats = await computeStats(dir, { onUnreadable: (e) => unreadable.push(e) });
    expect(stats).toMatchObject({ interactions: 2, unreadable_files: 4 });
    expect(names(unreadable)).toEqual(BAD);
    // Without a listener it still goes on.
    expect((await computeStats(dir)).interactions).toBe(2);
  });

  it("buildReport goes on", async () => {
    const unreadable: CorruptFileError[] = [];
    const report = await buildReport(dir, { onUnreadable: (e) => unreadable.push(e) });
    expect(report.stats.interactions).toBe(2);
    expect(names(unreadable)).toEqual(BAD);
  });

  it("exportConversations skips and reports them", async () => {
    const unreadable: CorruptFileError[] = [];
    const output = `${dir}-export.jsonl`;
    const summary = await exportConversations({
      dir,
      format: "jsonl",
      output,
      onUnreadable: (e) => unreadable.push(e),
    }).finally(() => rm(output, { force: true }));
    expect(summary).toMatchObject({ corrupt: 4 });
    expect(names(unreadable)).toEqual(BAD);
  });
});
