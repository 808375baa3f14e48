// `convosim export` through the built CLI: formats, the summary line on stderr, a split into
// a folder, and bad input as a short message with exit 2 and no stack trace.
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRun, tempDir } from "../exports/support.js";
import { requireBuild, runCli } from "../support/cli.js";

let dir: string;
let run: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  requireBuild();
  ({ dir, cleanup } = await tempDir("export-cli"));
  run = join(dir, "run");
  expect(await generateRun(run, { personas: 20, queriesPerPersona: 1 })).toBe(20);
});
afterAll(() => cleanup?.());

describe("convosim export", () => {
  it("writes openai JSON lines and prints one summary line", async () => {
    const out = join(dir, "openai.jsonl");
    const result = await runCli(["export", run, "--format", "openai", "-o", out]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /^exported 20 of 20 conversations \(openai, noisy\); 0 duplicates dropped; → .*openai\.jsonl\n$/,
    );
    const rows = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.messages.at(-1).role === "assistant")).toBe(true);
  });

  it("keeps `--format jsonl` to stdout: the full records", async () => {
    const result = await runCli(["export", run, "--format", "jsonl"]);
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(20);
    expect(rows[0]).toHaveProperty("metadata.stop_reason");
  });

  it("splits by persona into a folder of Parquet files named after the splits", async () => {
    const out = join(dir, "split");
    const args = ["export", run, "-f", "parquet", "-o", out, "--split", "train=0.8,test=0.2"];
    const result = await runCli([...args, "--split-by", "persona", "--seed", "4", "--variant", "clean"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /\(parquet, clean\); train \d+ \(\d+ personas\), test \d+ \(\d+ personas\);/,
    );
    expect((await readdir(out)).sort()).toEqual(["test.parquet", "train.parquet"]);
    const bytes = await readFile(join(out, "train.parquet"));
    expect(bytes.subarray(-4).toString()).toBe("PAR1");
  });

  it("--train-on last weights the openai lines; --dataset-info writes the LLaMA-Factory entry", async () => {
    const out = join(dir, "llama", "chats.jsonl");
    await mkdir(join(dir, "llama"));
    const weighted = await runCli([
      "export",
      run,
      "-f",
      "openai",
      "-o",
      join(dir, "w.jsonl"),
      "--train-on",
      "last",
    ]);
    expect(weighted.code, weighted.stderr).toBe(0);
    const rows = (await readFile(join(dir, "w.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    for (const row of rows) {
      const replies = row.messages.filter((m: { role: string }) => m.role === "assistant");
      expect(replies.map((m: { weight: number }) => m.weight)).toEqual([...replies.slice(1).map(() => 0), 1]);
    }
    const info = await runCli(["export", run, "-f", "sharegpt", "-o", out, "--dataset-info"]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stderr).toMatch(/; dataset_info\.json entry chats → .*llama\/dataset_info\.json\n$/);
    const entry = JSON.parse(await readFile(join(dir, "llama", "dataset_info.json"), "utf8")).chats;
    expect(entry).toMatchObject({ file_name: "chats.jsonl", formatting: "sharegpt" });
  });

  it.each([
    [["export", "/nonexistent/run", "-f", "openai"], /not a convosim output folder/],
    [
      ["export", "RUN", "-f", "parquet", "-o", "OUT", "--system", "Be brief."],
      /--system: parquet has no system/,
    ],
    [["export", "RUN", "-f", "openai", "--license", "mit"], /--license: openai has no place for a licence/],
    [
      ["export", "RUN", "-f", "sharegpt", "--train-on", "last"],
      /--train-on: sharegpt has no per-message weight/,
    ],
    [["export", "RUN", "-f", "openai", "--train-on", "first"], /--train-on: unknown choice "first"/],
    [
      ["export", "RUN", "-f", "jsonl", "-o", "OUT", "--dataset-info"],
      /--dataset-info: jsonl is not a LLaMA-Factory/,
    ],
    [["export", "RUN", "-f", "csv"], /--format: unknown format "csv"/],
    [
      ["export", "RUN", "-f", "jsonl", "-o", "OUT", "--split", "train:0.8"],
      /--split: cannot read "train:0.8"/,
    ],
    [
      ["export", "RUN", "-f", "jsonl", "-o", "OUT", "--split", "train=0.8,test=0.1"],
      /--split: fractions sum to 0.9/,
    ],
    [["export", "RUN", "-f", "hf"], /--output: hf needs a folder/],
    [["export", "RUN", "--stop-reason", "bored"], /--stop-reason: unknown stop reason "bored"/],
    [["export", "RUN", "--seed", "abc"], /--seed must be an integer/],
  ])("bad input %j: exit 2, a short message, no stack trace", async (args, message) => {
    const result = await runCli(args.map((a) => (a === "RUN" ? run : a === "OUT" ? join(dir, "bad") : a)));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
  });
});
