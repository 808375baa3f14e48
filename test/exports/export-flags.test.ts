// The flags that only some formats can honour (--system, --license, --train-on, --dataset-info):
// each applies where it can and is refused (InputError naming the flag and the format) where it
// cannot — never silently ignored. Also the weights of --train-on and the LLaMA-Factory
// dataset_info.json entry of --dataset-info.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { exportConversations, formatExportSummary } from "../../src/exports/export.js";
import type { ExportOptions } from "../../src/exports/options.js";
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

/**
 * Three exchanges for persona p; `noisedTurns` lists the user turns (0-based) the distractor
 * changed. Texts carry the id, so no two conversations are duplicates.
 */
function conversation(id: string, noisedTurns: number[] = []): Interaction {
  const base = interaction(id, { persona_id: `p_${id}`, num_turns: 3 });
  const messages = [0, 1, 2].flatMap((turn) => [
    {
      role: "user" as const,
      content: `question ${turn} [${id}]`,
      timestamp: base.messages[0]!.timestamp,
      metadata: noisedTurns.includes(turn)
        ? { was_noised: true, clean_content: `Question ${turn} [${id}]?` }
        : { was_noised: false },
    },
    {
      role: "assistant" as const,
      content: `answer ${turn} [${id}]`,
      timestamp: base.messages[1]!.timestamp,
      metadata: {},
    },
  ]);
  return { ...base, messages };
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

async function inputError(options: Omit<ExportOptions, "dir">): Promise<InputError> {
  const error = await exportConversations({ dir: store, ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

/** The weight of each assistant message of an openai line (undefined: no weight key). */
const weights = (row: { messages: Array<{ role: string; weight?: number }> }) =>
  row.messages.filter((m) => m.role === "assistant").map((m) => m.weight);

describe("--system and --license apply where they can, are refused where they cannot", () => {
  beforeEach(() => save([conversation("a")]));

  it.each(["jsonl", "parquet", "hf"])("--system with %s is refused, naming the format", async (format) => {
    const error = await inputError({ format, output: join(dir, `out-${format}`), system: "Be brief." });
    expect(error.field).toBe("--system");
    expect(error.message).toContain(format);
    expect(error.hint).toMatch(/openai|sharegpt/);
    // Refused before anything is written.
    expect((await readdir(dir)).sort()).toEqual(["run"]);
  });

  it.each(["jsonl", "openai", "sharegpt", "parquet"])("--license with %s is refused", async (format) => {
    const error = await inputError({ format, output: join(dir, `out-${format}`), license: "mit" });
    expect(error.field).toBe("--license");
    expect(error.message).toContain(format);
    expect(error.hint).toMatch(/hf/);
    expect((await readdir(dir)).sort()).toEqual(["run"]);
  });

  it('--system "" leaves the system message out, even one recorded on the interaction', async () => {
    await save([
      {
        ...conversation("r"),
        metadata: { ...conversation("r").metadata, assistant_system_prompt: "Stored." },
      },
    ]);
    const kept = join(dir, "kept.jsonl");
    const dropped = join(dir, "dropped.jsonl");
    await exportConversations({ dir: store, format: "openai", output: kept });
    await exportConversations({ dir: store, format: "sharegpt", output: dropped, system: "" });
    const recorded = (await lines(kept)).find((r) => r.messages[0].role === "system");
    expect(recorded?.messages[0].content).toBe("Stored.");
    const rows = await lines(dropped);
    expect(rows.map((r) => r.conversations[0].from)).not.toContain("system");
  });

  it("--seed without --split is refused: it only seeds the split", async () => {
    const error = await inputError({ format: "openai", output: join(dir, "o.jsonl"), seed: 4 });
    expect(error.field).toBe("--seed");
    expect(error.hint).toMatch(/--split/);
    expect((await readdir(dir)).sort()).toEqual(["run"]);
  });

  it("--system reaches openai and sharegpt lines, --license the hf card", async () => {
    const openai = join(dir, "o.jsonl");
    const sharegpt = join(dir, "s.jsonl");
    await exportConversations({ dir: store, format: "openai", output: openai, system: "Be brief." });
    await exportConversations({ dir: store, format: "sharegpt", output: sharegpt, system: "Be brief." });
    expect((await lines(openai))[0].messages[0]).toEqual({ role: "system", content: "Be brief." });
    expect((await lines(sharegpt))[0].conversations[0]).toEqual({ from: "system", value: "Be brief." });
    await exportConversations({ dir: store, format: "hf", output: join(dir, "hf"), license: "mit" });
    expect(await readFile(join(dir, "hf", "README.md"), "utf8")).toMatch(/^---\nlicense: mit\n/);
  });
});

describe("--train-on: per-message weights in the openai format", () => {
  it("all (the default) writes no weight key: the lines are as before", async () => {
    await save([conversation("a", [1])]);
    const out = join(dir, "all.jsonl");
    await exportConversations({ dir: store, format: "openai", output: out });
    await exportConversations({ dir: store, format: "openai", output: `${out}2`, trainOn: "all" });
    expect(weights((await lines(out))[0])).toEqual([undefined, undefined, undefined]);
    expect(await readFile(`${out}2`, "utf8")).toBe(await readFile(out, "utf8"));
  });

  it("last: weight 0 on every assistant message but the final one", async () => {
    await save([conversation("a")]);
    const out = join(dir, "last.jsonl");
    await exportConversations({ dir: store, format: "openai", output: out, trainOn: "last" });
    const [row] = await lines(out);
    expect(weights(row)).toEqual([0, 0, 1]);
    // Only assistant messages carry a weight (OpenAI rejects it elsewhere).
    expect(row.messages.filter((m: { role: string }) => m.role !== "assistant")).not.toContainEqual(
      expect.objectContaining({ weight: expect.anything() }),
    );
  });

  it("unnoised: weight 0 on replies to a noised user message; a conversation left with none is skipped and counted", async () => {
    await save([conversation("a", [1]), conversation("b", [0, 1, 2])]);
    const out = join(dir, "unnoised.jsonl");
    const summary = await exportConversations({
      dir: store,
      format: "openai",
      output: out,
      trainOn: "unnoised",
    });
    const rows = await lines(out);
    expect(rows).toHaveLength(1);
    expect(weights(rows[0])).toEqual([1, 0, 1]);
    expect(summary).toMatchObject({ exported: 1, skipped_no_reply: 0, skipped_nothing_to_train: 1 });
    expect(formatExportSummary(summary)).toContain("1 with every reply at weight 0 (--train-on unnoised)");
  });

  it.each(["jsonl", "sharegpt", "parquet", "hf"])(
    "is refused with %s (no per-message weight)",
    async (format) => {
      await save([conversation("a")]);
      const error = await inputError({ format, output: join(dir, "x"), trainOn: "last" });
      expect(error.field).toBe("--train-on");
      expect(error.message).toContain(format);
    },
  );

  it("refuses an unknown choice", async () => {
    await save([conversation("a")]);
    const error = await inputError({ format: "openai", trainOn: "final" });
    expect(error.field).toBe("--train-on");
    expect(error.hint).toMatch(/all, last, unnoised/);
  });
});

describe("--dataset-info: the LLaMA-Factory entry beside the export", () => {
  it("sharegpt: writes dataset_info.json beside the file with the matching columns and tags", async () => {
    await save([conversation("a"), conversation("b")]);
    const out = join(dir, "convos.jsonl");
    const summary = await exportConversations({
      dir: store,
      format: "sharegpt",
      output: out,
      datasetInfo: true,
    });
    const info = JSON.parse(await readFile(join(dir, "dataset_info.json"), "utf8"));
    expect(info).toEqual({
      convos: {
        file_name: "convos.jsonl",
        formatting: "sharegpt",
        columns: { messages: "conversations" },
        tags: {
          role_tag: "from",
          content_tag: "value",
          user_tag: "human",
          assistant_tag: "gpt",
          system_tag: "system",
        },
      },
    });
    expect(summary.files).toEqual([out, join(dir, "dataset_info.json")]);
    expect(formatExportSummary(summary)).toContain(`dataset_info.json entry convos → ${dir}`);
  });

  it("openai: the entry reads role/content messages; an existing dataset_info.json keeps its other entries", async () => {
    await save([conversation("a")]);
    await writeFile(
      join(dir, "dataset_info.json"),
      JSON.stringify({ alpaca_en_demo: { file_name: "alpaca_en_demo.json" }, chats: { file_name: "old" } }),
    );
    await exportConversations({
      dir: store,
      format: "openai",
      output: join(dir, "chats.json"),
      datasetInfo: true,
    });
    const info = JSON.parse(await readFile(join(dir, "dataset_info.json"), "utf8"));
    expect(Object.keys(info)).toEqual(["alpaca_en_demo", "chats"]);
    expect(info.alpaca_en_demo).toEqual({ file_name: "alpaca_en_demo.json" });
    expect(info.chats).toEqual({
      file_name: "chats.json",
      formatting: "sharegpt",
      columns: { messages: "messages" },
      tags: {
        role_tag: "role",
        content_tag: "content",
        user_tag: "user",
        assistant_tag: "assistant",
        system_tag: "system",
      },
    });
  });

  it("with a split: one entry per split that received conversations, in the split folder", async () => {
    await save(Array.from({ length: 20 }, (_, i) => conversation(`c${i}`)));
    const out = join(dir, "mix");
    const summary = await exportConversations({
      dir: store,
      format: "sharegpt",
      output: out,
      split: "train=0.5,test=0.5",
      datasetInfo: true,
    });
    const info = JSON.parse(await readFile(join(out, "dataset_info.json"), "utf8"));
    expect(Object.keys(info).sort()).toEqual(["mix_test", "mix_train"]);
    expect(info.mix_train.file_name).toBe("train.jsonl");
    expect(info.mix_test.file_name).toBe("test.jsonl");
    expect(summary.splits.train?.conversations).toBeGreaterThan(0);
  });

  it("is refused where LLaMA-Factory could not use it, before anything is written", async () => {
    await save([conversation("a")]);
    const refusals: Array<[Omit<ExportOptions, "dir">, RegExp]> = [
      [{ format: "jsonl", output: join(dir, "a.jsonl") }, /jsonl/],
      [{ format: "parquet", output: join(dir, "a.parquet") }, /parquet/],
      [{ format: "sharegpt" }, /stdout/],
      [{ format: "sharegpt", output: join(dir, "a.txt") }, /\.json or \.jsonl/],
      [{ format: "openai", output: join(dir, "a.jsonl"), trainOn: "last" }, /weight/],
    ];
    for (const [options, message] of refusals) {
      const error = await inputError({ ...options, datasetInfo: true });
      expect(error.field).toBe("--dataset-info");
      expect(`${error.message} ${error.hint}`).toMatch(message);
    }
    expect((await readdir(dir)).sort()).toEqual(["run"]);
  });

  it("refuses a dataset_info.json that is not a JSON object, and exports nothing", async () => {
    await save([conversation("a")]);
    await writeFile(join(dir, "dataset_info.json"), "{ not json");
    const error = await inputError({ format: "sharegpt", output: join(dir, "d.jsonl"), datasetInfo: true });
    expect(error.field).toBe("--dataset-info");
    expect(error.message).toContain("dataset_info.json");
    expect((await readdir(dir)).sort()).toEqual(["dataset_info.json", "run"]);
  });
});
