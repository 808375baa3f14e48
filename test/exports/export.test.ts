// exportConversations on small hand-made stores: what is kept, dropped and counted, where
// files go, persona-disjoint splits, the clean variant, and the errors for bad options.
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { exportConversations, formatExportSummary } from "../../src/exports/export.js";
import type { ExportOptions } from "../../src/exports/options.js";
import { ParquetFileWriter, parquetRow } from "../../src/exports/parquet.js";
import { variantMessages } from "../../src/exports/variant.js";
import type { Interaction } from "../../src/schema/interaction.js";
import { InteractionStorage } from "../../src/sinks/interaction-storage.js";
import { interaction, tempDir } from "../sinks/fixtures.js";

let dir: string;
let store: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = join(dir, "run");
});
afterEach(() => cleanup());

/** A distinct conversation for persona p (its texts differ, so it is no duplicate). */
function conversation(id: string, persona: string, overrides: Partial<Interaction> = {}): Interaction {
  const base = interaction(id, { persona_id: persona, ...overrides });
  return {
    ...base,
    messages: base.messages.map((m) => ({ ...m, content: `${m.content} [${id}]` })),
  };
}

async function save(records: Interaction[]): Promise<void> {
  const storage = new InteractionStorage(store);
  for (const record of records) await storage.save(record);
  await storage.close();
}

const lines = async (path: string) =>
  (await readFile(path, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

async function inputError(options: ExportOptions): Promise<InputError> {
  const error = await exportConversations(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe("exportConversations", () => {
  it("drops exact duplicates (counted), applies --min-turns and --stop-reason, keeps file order", async () => {
    await save([
      conversation("a", "p1"),
      interaction("b1"), // b1 and b2 have the same texts: the second is a duplicate
      interaction("b2"),
      conversation("c", "p2", { num_turns: 1 }),
      conversation("d", "p3", {
        metadata: { ...interaction("d").metadata, stop_reason: "max_turns" },
      }),
    ]);
    const out = join(dir, "out.jsonl");
    const summary = await exportConversations({
      dir: store,
      format: "jsonl",
      output: out,
      minTurns: 2,
      stopReasons: ["target_turns"],
    });
    expect(summary).toMatchObject({
      read: 5,
      exported: 2,
      duplicates: 1,
      filtered: { min_turns: 1, stop_reason: 1 },
      files: [out],
    });
    expect((await lines(out)).map((r) => r.interaction_id)).toEqual(["a", "b1"]);
    expect(formatExportSummary(summary)).toMatch(
      /^exported 2 of 5 conversations \(jsonl, noisy\); 1 duplicates dropped; 1 under --min-turns; 1 other stop reasons; → /,
    );
    // Written under a temporary name and renamed: nothing else is left in the folder.
    expect((await readdir(dir)).sort()).toEqual(["out.jsonl", "run"]);
  });

  it("writes JSON lines to stdout when there is no -o", async () => {
    await save([conversation("a", "p1"), conversation("b", "p2")]);
    const stdout = new PassThrough();
    let text = "";
    stdout.on("data", (chunk) => {
      text += chunk;
    });
    const summary = await exportConversations({ dir: store, format: "openai", stdout });
    expect(summary.output).toBe("-");
    const records = text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records).toHaveLength(2);
    expect(records[0].messages.at(-1).role).toBe("assistant");
  });

  it("splits by persona: every conversation of a persona in one file, the same split for the same seed", async () => {
    const records = Array.from({ length: 60 }, (_, i) => conversation(`c${i}`, `persona_${i % 20}`));
    await save(records);
    const run = async (output: string, seed: number) => {
      await exportConversations({
        dir: store,
        format: "sharegpt",
        output,
        split: "train=0.5,test=0.5",
        splitBy: "persona",
        seed,
      });
      const ofSplit = async (name: string) => {
        const ids = (await lines(join(output, `${name}.jsonl`))).map(
          (r) => /\[(c\d+)\]/.exec(r.conversations[0].value)?.[1],
        );
        return new Set(ids.map((id) => records.find((r) => r.interaction_id === id)?.persona_id));
      };
      return { train: await ofSplit("train"), test: await ofSplit("test") };
    };
    const first = await run(join(dir, "s1"), 11);
    expect(first.train.size + first.test.size).toBe(20);
    expect(Math.min(first.train.size, first.test.size)).toBeGreaterThan(0);
    expect([...first.train].filter((p) => first.test.has(p))).toEqual([]);
    const again = await run(join(dir, "s2"), 11);
    expect([...again.train].sort()).toEqual([...first.train].sort());
    const other = await run(join(dir, "s3"), 12);
    expect([...other.train].sort()).not.toEqual([...first.train].sort());
  });

  it("exports the clean variant where messages were noised", async () => {
    const base = conversation("a", "p1");
    base.messages[0] = {
      ...base.messages[0]!,
      content: "NOISY text",
      metadata: { is_initial: true, was_noised: true, clean_content: "clean text" },
    };
    await save([base]);
    const noisy = join(dir, "noisy.jsonl");
    const clean = join(dir, "clean.jsonl");
    await exportConversations({ dir: store, format: "openai", output: noisy });
    await exportConversations({ dir: store, format: "openai", output: clean, variant: "clean" });
    expect((await lines(noisy))[0].messages[0].content).toBe("NOISY text");
    expect((await lines(clean))[0].messages[0].content).toBe("clean text");
  });

  it("hf: data/<split>-00000-of-00001.parquet per split, a card, and no stale shards", async () => {
    await save([conversation("a", "p1"), conversation("b", "p2")]);
    const out = join(dir, "hf");
    await exportConversations({ dir: store, format: "hf", output: out, split: "train=0.5,test=0.5" });
    await exportConversations({ dir: store, format: "hf", output: out, license: "cc-by-4.0" });
    expect(await readdir(join(out, "data"))).toEqual(["train-00000-of-00001.parquet"]);
    const card = await readFile(join(out, "README.md"), "utf8");
    expect(card).toMatch(/^---\nlicense: cc-by-4.0\n/);
    expect(card).toContain("path: data/train-*");
    expect(card).not.toContain("data/test-*");
  });

  it("hf leaves a split that received nothing out of the dataset (load_dataset rejects empty splits)", async () => {
    await save([conversation("a", "p1")]);
    const out = join(dir, "hf");
    const summary = await exportConversations({
      dir: store,
      format: "hf",
      output: out,
      split: "train=0.5,test=0.5",
    });
    const [empty = "", full = ""] =
      summary.splits.train?.conversations === 0 ? ["train", "test"] : ["test", "train"];
    expect(summary.omitted_splits).toEqual([empty]);
    expect(formatExportSummary(summary)).toContain(`empty split left out of the dataset: ${empty}`);
    expect(await readdir(join(out, "data"))).toEqual([`${full}-00000-of-00001.parquet`]);
    const card = await readFile(join(out, "README.md"), "utf8");
    expect(card).toContain(`path: data/${full}-*`);
    expect(card).not.toContain(`path: data/${empty}-*`);
    expect(card).toContain(`no conversation fell in them: ${empty}.`);
    expect((await readdir(dir)).sort()).toEqual(["hf", "run"]);
  });

  it("counts unreadable interaction files and goes on", async () => {
    await save([conversation("a", "p1")]);
    await writeFile(join(store, "interactions", "broken.json"), '{"interaction_id": "broken", "mess');
    const summary = await exportConversations({ dir: store, format: "jsonl", output: join(dir, "o.jsonl") });
    expect(summary).toMatchObject({ exported: 1, corrupt: 1 });
  });

  it("rejects bad options with InputErrors that name the flag", async () => {
    await save([conversation("a", "p1")]);
    const out = join(dir, "x");
    expect((await inputError({ dir: store, format: "csv", output: out })).field).toBe("--format");
    expect((await inputError({ dir: store, format: "jsonl", variant: "loud" })).field).toBe("--variant");
    expect((await inputError({ dir: store, format: "jsonl", output: out, split: "a=1,b=1" })).field).toBe(
      "--split",
    );
    expect((await inputError({ dir: store, format: "jsonl", output: out, splitBy: "persona" })).field).toBe(
      "--split-by",
    );
    expect(
      (await inputError({ dir: store, format: "jsonl", output: out, split: "a=1", splitBy: "query" })).field,
    ).toBe("--split-by");
    expect((await inputError({ dir: store, format: "parquet" })).field).toBe("--output");
    expect((await inputError({ dir: store, format: "jsonl", split: "a=1" })).field).toBe("--output");
    expect((await inputError({ dir: store, format: "jsonl", stopReasons: ["bored"] })).field).toBe(
      "--stop-reason",
    );
    expect((await inputError({ dir: store, format: "jsonl", minTurns: -1 })).field).toBe("--min-turns");
    expect((await inputError({ dir: store, format: "jsonl", output: store })).field).toBe("--output");
    await writeFile(out, "");
    expect((await inputError({ dir: store, format: "hf", output: out })).message).toMatch(/is a file/);
    expect((await inputError({ dir: join(dir, "nope"), format: "jsonl" })).message).toMatch(
      /not a convosim output folder/,
    );
  });
});

describe("ParquetFileWriter", () => {
  it("writes each row group to disk as it fills (memory holds one group)", async () => {
    const path = join(dir, "rows.parquet");
    const layout = { featureKeys: ["communication_style", "role"] };
    const writer = new ParquetFileWriter(path, layout, { rowGroupSize: 10 });
    const record = interaction("a");
    const row = parquetRow(record, variantMessages(record, "noisy"), layout);
    for (let i = 0; i < 9; i++) await writer.add(row);
    // Nothing encoded yet: the first group is not full.
    expect((await stat(path).catch(() => undefined))?.size ?? 0).toBe(0);
    await writer.add(row);
    const afterOne = (await stat(path)).size;
    expect(afterOne).toBeGreaterThan(100);
    for (let i = 0; i < 10; i++) await writer.add(row);
    expect((await stat(path)).size).toBeGreaterThan(afterOne);
    await writer.close();
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 4).toString()).toBe("PAR1");
    expect(bytes.subarray(-4).toString()).toBe("PAR1");
  });

  it("builds a row with the features as text and the usage summed", () => {
    const record = interaction("a", { persona_features: { role: "engineer", years: 7 } });
    const row = parquetRow(record, variantMessages(record, "noisy"), {
      featureKeys: ["role", "team", "years"],
    });
    expect(row.persona_features).toEqual({ role: "engineer", team: null, years: "7" });
    expect(row).toMatchObject({
      prompt_tokens: 150n,
      completion_tokens: 30n,
      num_turns: 2,
      stop_reason: "target_turns",
    });
  });
});
