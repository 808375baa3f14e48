// The exports read back by the readers trainers use: 50 conversations generated with the
// fake provider, exported to openai, sharegpt, parquet and hf, then read in Python with JSON
// lines, pyarrow.parquet, duckdb and datasets.load_dataset. Plus a persona split read back
// from both sides. The Python venv comes from scripts/setup-python-readers.sh (npm test's
// set-up); without it this test fails and says so — it never skips.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { exportConversations } from "../../src/exports/export.js";
import { generateRun, tempDir } from "./support.js";

const orDefault = (value: string | undefined, fallback: string) => (value ? value : fallback);
const CACHE = orDefault(
  process.env.CONVOSIM_CACHE_DIR,
  join(orDefault(process.env.XDG_CACHE_HOME, join(homedir(), ".cache")), "convosim"),
);
const PYTHON = join(CACHE, "pyreaders", "bin", "python");

// One Python process reads everything (imports of datasets cost seconds) and prints JSON.
const READER = `
import json, sys
import duckdb, pyarrow.parquet as pq
from datasets import load_dataset

paths = json.loads(sys.argv[1])
out = {}

def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]

rows = lines(paths["openai"])
out["openai"] = {"rows": len(rows),
                 "roles": sorted({m["role"] for r in rows for m in r["messages"]}),
                 "last": sorted({r["messages"][-1]["role"] for r in rows})}
rows = lines(paths["sharegpt"])
out["sharegpt"] = {"rows": len(rows),
                   "roles": sorted({m["from"] for r in rows for m in r["conversations"]}),
                   "last": sorted({r["conversations"][-1]["from"] for r in rows})}

table = pq.read_table(paths["parquet"])
messages = table.column("messages").to_pylist()
out["pyarrow"] = {"rows": table.num_rows,
                  "roles": sorted({m["role"] for ms in messages for m in ms}),
                  "features": table.schema.field("persona_features").type.num_fields}
con = duckdb.connect()
out["duckdb"] = {
    "rows": con.execute("SELECT count(*) FROM read_parquet(?)", [paths["parquet"]]).fetchone()[0],
    "roles": sorted(r[0] for r in con.execute(
        "SELECT DISTINCT m.role FROM (SELECT unnest(messages) AS m FROM read_parquet(?))",
        [paths["parquet"]]).fetchall()),
    "by_role": dict(con.execute(
        "SELECT persona_features.role, count(*) FROM read_parquet(?) GROUP BY 1",
        [paths["parquet"]]).fetchall()),
}

ds = load_dataset(paths["hf"])
train = ds["train"]
out["hf"] = {"splits": sorted(ds.keys()), "rows": train.num_rows,
             "roles": sorted({m["role"] for ms in train["messages"] for m in ms})}

split = load_dataset(paths["hf_split"])
out["hf_split"] = {name: sorted(set(split[name]["persona_id"])) for name in split.keys()}
out["jsonl_split"] = {name: sorted({r["persona_id"] for r in lines(p)}) for name, p in paths["jsonl_split"].items()}
print(json.dumps(out))
`;

let dir: string;
let cleanup: () => Promise<void>;
let results: Record<string, Record<string, unknown>> | undefined;
const MISSING = `the Python readers are missing (${PYTHON}): run scripts/setup-python-readers.sh (npm test's set-up does)`;

/** What Python read; every test fails with the set-up hint when the venv is missing. */
function readBack(): Record<string, Record<string, unknown>> {
  if (!results) throw new Error(MISSING);
  return results;
}

beforeAll(async () => {
  if (!existsSync(PYTHON)) return; // each test fails with MISSING: no silent skip
  ({ dir, cleanup } = await tempDir("readers"));
  const run = join(dir, "run");
  expect(await generateRun(run, { personas: 25, queriesPerPersona: 2 })).toBe(50);
  const paths = {
    openai: join(dir, "openai.jsonl"),
    sharegpt: join(dir, "sharegpt.jsonl"),
    parquet: join(dir, "conversations.parquet"),
    hf: join(dir, "hf"),
    hf_split: join(dir, "hf-split"),
    jsonl_split: { train: join(dir, "split", "train.jsonl"), test: join(dir, "split", "test.jsonl") },
  };
  for (const format of ["openai", "sharegpt", "parquet", "hf"] as const) {
    const summary = await exportConversations({ dir: run, format, output: paths[format] });
    expect(summary.exported).toBe(50);
  }
  const split = { split: "train=0.8,test=0.2", splitBy: "persona", seed: 3 } as const;
  await exportConversations({ dir: run, format: "hf", output: paths.hf_split, variant: "clean", ...split });
  await exportConversations({ dir: run, format: "jsonl", output: join(dir, "split"), ...split });

  const result = spawnSync(PYTHON, ["-c", READER, JSON.stringify(paths)], {
    encoding: "utf8",
    env: {
      ...process.env,
      HF_HOME: join(dir, "hf-home"),
      HF_DATASETS_OFFLINE: "1",
      HF_HUB_OFFLINE: "1",
      HF_DATASETS_DISABLE_PROGRESS_BARS: "1",
    },
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`the Python readers failed:\n${result.stderr}`);
  results = JSON.parse(result.stdout);
}, 180_000);

afterAll(() => cleanup?.());

describe("exports read back with the standard readers", () => {
  let read: Record<string, Record<string, unknown>>;
  beforeEach(() => {
    read = readBack();
  });

  it("openai JSON lines: 50 rows, user/assistant roles, each ending with the assistant", () => {
    expect(read.openai).toEqual({ rows: 50, roles: ["assistant", "user"], last: ["assistant"] });
  });

  it("sharegpt JSON lines: 50 rows, human/gpt, each ending with gpt", () => {
    expect(read.sharegpt).toEqual({ rows: 50, roles: ["gpt", "human"], last: ["gpt"] });
  });

  it("parquet in pyarrow and DuckDB: 50 rows, nested messages, persona features as columns", () => {
    expect(read.pyarrow).toEqual({ rows: 50, roles: ["assistant", "user"], features: 3 });
    expect(read.duckdb).toMatchObject({ rows: 50, roles: ["assistant", "user"] });
    expect(read.duckdb?.by_role).toEqual({ engineer: 18, teacher: 16, nurse: 16 });
  });

  it("hf folder in datasets.load_dataset: one train split of 50 rows", () => {
    expect(read.hf).toEqual({ splits: ["train"], rows: 50, roles: ["assistant", "user"] });
  });

  it("a persona split puts no persona in both train and test (hf and jsonl)", () => {
    for (const split of [read.hf_split, read.jsonl_split] as Array<Record<string, string[]>>) {
      expect(Object.keys(split).sort()).toEqual(["test", "train"]);
      const train = new Set(split.train);
      expect(split.test?.length).toBeGreaterThan(0);
      expect(train.size).toBeGreaterThan(0);
      expect(split.test?.filter((persona) => train.has(persona))).toEqual([]);
      expect(train.size + (split.test?.length ?? 0)).toBe(25);
    }
  });
});
