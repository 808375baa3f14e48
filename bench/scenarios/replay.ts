// Replay: a second run with the same config, personas and seed into a new output folder, with
// the same response cache (--cache-dir), must make no model call and reproduce the same texts.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { iterateInteractions } from "../../src/run/output-reader.js";
import { startStandInServer } from "../stand-in-server.js";
import { cliConfig, cliPersonas, runCli } from "./cli-run.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = 100;
const WORKERS = 50;

async function texts(dir: string): Promise<Map<string, string>> {
  const byId = new Map<string, string>();
  for await (const interaction of iterateInteractions(dir)) {
    byId.set(interaction.interaction_id, JSON.stringify(interaction.messages.map((m) => m.content)));
  }
  return byId;
}

export const replay: Scenario = async () => {
  const base = {
    name: "replay",
    title: "Replay from the response cache",
    setup:
      `${CONVERSATIONS} three-turn conversations run by the CLI with --cache-dir, then the same config, ` +
      "personas and seed into a new output folder with the same cache.",
  };
  const server = await startStandInServer({ latency: 20 });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-replay-"));
  try {
    await writeFile(join(work, "config.yaml"), cliConfig(server.url, WORKERS));
    await writeFile(join(work, "personas.jsonl"), cliPersonas(CONVERSATIONS));
    const args = ["generate", "-c", join(work, "config.yaml"), "-p", join(work, "personas.jsonl"), "--quiet"];
    const cache = ["--cache-dir", join(work, "cache")];
    const first = await runCli([...args, ...cache, "--out", join(work, "first")]);
    const firstCalls = server.stats.completions;
    server.reset();
    const second = await runCli([...args, ...cache, "--out", join(work, "second")]);
    const secondCalls = server.stats.completions;
    const [a, b] = [await texts(join(work, "first")), await texts(join(work, "second"))];
    const same = [...a].filter(([id, t]) => b.get(id) === t).length;
    return {
      ...base,
      headline: {
        label: "model calls in the second run",
        measured: secondCalls,
        ideal: 0,
        unit: "calls",
        idealIs: "no call: every answer comes from the cache",
      },
      checks: [
        check("model calls in the replay run", secondCalls, "calls", "0", secondCalls === 0),
        check(
          "same texts as the first run",
          same,
          `of ${a.size}`,
          "all",
          same === a.size && b.size === a.size && a.size > 0,
        ),
      ],
      notes: [`First run: ${firstCalls} calls (exit ${first.code}); replay exit ${second.code}.`],
      details: { first_calls: firstCalls, second_calls: secondCalls, interactions: a.size, identical: same },
    };
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
};
