// The simulated user's misbehaviour never ends up in saved data: a few modes of the misbehaving
// stand-in (bench/misbehaving-stand-in.ts) through generate() in-process, with the checks of
// `npm run check:user-sim` (bench/user-sim-checks.ts, docs/user-sim-check.md). The checker runs
// every mode through the real CLI; this keeps a fast sample of them in the default test run.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Misbehaviour, startMisbehavingStandIn } from "../../bench/misbehaving-stand-in.js";
import {
  type CheckSetup,
  checkRerun,
  checkRun,
  type Finding,
  readRunOutput,
} from "../../bench/user-sim-checks.js";
import { checkConfig, checkPersonas, DEFAULT_SETTINGS } from "../../bench/user-sim-run.js";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";

const KEY_ENV = "CONVOSIM_TEST_KEY";
const CONVERSATIONS = 3;

let dir: string;
let personasFile: string;
const personas = checkPersonas(CONVERSATIONS);
const setupFor = (mode: Misbehaviour): CheckSetup => ({
  mode,
  ...DEFAULT_SETTINGS,
  personas: new Map(personas.map((p) => [p.persona_id, p.queries[0]!.original_query])),
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-misbehaving-"));
  personasFile = join(dir, "personas.jsonl");
  await writeFile(personasFile, `${personas.map((p) => JSON.stringify(p)).join("\n")}\n`);
  process.env[KEY_ENV] ??= "sk-dummy-not-a-real-key";
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readable = (findings: readonly Finding[]) => findings.map((f) => `[${f.kind}] ${f.where}: ${f.detail}`);

/**
 * Saved data first (bad text, markers, stop reasons, accounting, asks, refusals, rerun), then
 * the guard record in the metadata, each reported on its own.
 */
function expectClean(findings: readonly Finding[]) {
  expect.soft(readable(findings.filter((f) => f.kind !== "metadata")), "saved data").toEqual([]);
  expect.soft(readable(findings.filter((f) => f.kind === "metadata")), "guard metadata").toEqual([]);
}

/** One run (and, with rerun, the same run again on the same folder and cache); its findings. */
async function findingsOf(mode: Misbehaviour, badAsks: number | "always", rerun = false) {
  const standIn = await startMisbehavingStandIn({ mode, badAsks });
  try {
    const name = `${mode}-${badAsks}`;
    const options = {
      config: ConvosimConfig.parse(checkConfig(standIn.url, DEFAULT_SETTINGS, KEY_ENV)),
      personas: personasFile,
      out: join(dir, name),
      // The rerun needs the response cache on (a folder of its own); the others need it off, so
      // that every ask reaches the stand-in.
      ...(rerun ? { cacheDir: join(dir, `${name}-responses`) } : { cache: false as const }),
    };
    await generate(options);
    const setup = setupFor(mode);
    const output = await readRunOutput(options.out);
    const findings = [...checkRun(output, setup, standIn.stats(), standIn.served()).findings];
    if (rerun) {
      standIn.resetCounts();
      await generate(options);
      findings.push(...checkRerun(output.failures, setup, standIn.stats()).findings);
    }
    return { findings, stats: standIn.stats() };
  } finally {
    await standIn.close();
  }
}

describe("the simulated user's misbehaviour never ends up in saved data", () => {
  it("control: good replies on both sides pass every check", async () => {
    const { findings, stats } = await findingsOf("none", 0);
    expect(stats.userRequests).toBeGreaterThan(0);
    expect(stats.unattributed).toBe(0);
    expectClean(findings);
  });

  it.each<[Misbehaviour]>([
    ["assistant_voice"],
    ["label_md"],
    ["leak_persona"],
    ["leak_echo"],
    ["json"],
    ["marker_spaced"],
    ["marker_quoted"],
    ["stage_direction"],
    ["huge"],
    ["truncated"],
    ["repeat"],
  ])("user side %s on the first two asks: nothing bad saved, at most max_reasks + 1 asks", async (mode) => {
    const { findings, stats } = await findingsOf(mode, 2);
    expect(stats.badReplies).toBeGreaterThan(0);
    expectClean(findings);
  });

  it.each<[Misbehaviour]>([["assistant_refuses"], ["assistant_marker"]])(
    "assistant side %s: refusals flagged, no marker saved",
    async (mode) => {
      const { findings, stats } = await findingsOf(mode, "always");
      expect(stats.badReplies).toBeGreaterThan(0);
      expectClean(findings);
    },
  );

  it.each<[Misbehaviour]>([["repeat"], ["assistant_voice"]])(
    "user side %s on every ask: conversations fail or stop honestly, and a rerun asks the model again",
    async (mode) => {
      const { findings } = await findingsOf(mode, "always", true);
      expectClean(findings);
    },
  );
});
