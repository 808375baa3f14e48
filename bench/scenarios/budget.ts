// Budget: `--budget-tokens` stops admitting conversations once the budget would be passed; the
// conversations in flight finish, so the run may pass its budget by at most one wave (max_workers
// conversations). Then the same command with a larger budget completes the rest and redoes
// nothing: its calls are exactly the missing conversations' calls. Via the CLI, against the
// stand-in server (honest usage counts), response cache off so every call reaches the server.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { iterateInteractions } from "../../src/run/output-reader.js";
import { startStandInServer } from "../stand-in-server.js";
import { cliConfig, cliPersonas, runCli } from "./cli-run.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = 200;
const WORKERS = 20;
const CALLS_PER_CONVERSATION = 5; // three turns: 3 assistant replies + 2 simulated-user turns
const BUDGET_SHARE = 0.4; // of what the whole run costs

interface Spent {
  tokens: number;
  interactions: number;
  maxPerConversation: number;
  files: Map<string, string>;
}

async function spentIn(dir: string): Promise<Spent> {
  const spent: Spent = { tokens: 0, interactions: 0, maxPerConversation: 0, files: new Map() };
  for await (const interaction of iterateInteractions(dir)) {
    let tokens = 0;
    for (const u of interaction.metadata.usage)
      if (!u.replayed) tokens += u.prompt_tokens + u.completion_tokens;
    spent.tokens += tokens;
    spent.interactions += 1;
    spent.maxPerConversation = Math.max(spent.maxPerConversation, tokens);
    spent.files.set(interaction.interaction_id, JSON.stringify(interaction));
  }
  return spent;
}

export const budget: Scenario = async () => {
  const server = await startStandInServer({ latency: 20 });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-budget-"));
  try {
    await writeFile(join(work, "config.yaml"), cliConfig(server.url, WORKERS));
    await writeFile(join(work, "personas.jsonl"), cliPersonas(CONVERSATIONS));
    const args = ["generate", "-c", join(work, "config.yaml"), "-p", join(work, "personas.jsonl")];
    const common = [...args, "--quiet", "--no-cache"];
    // Calibration: the whole run without a budget, in its own folder, gives the full cost.
    await runCli([...common, "--out", join(work, "full")]);
    const full = await spentIn(join(work, "full"));
    const limit = Math.round(full.tokens * BUDGET_SHARE);
    const out = join(work, "budgeted");

    server.reset();
    const first = await runCli([...common, "--out", out, "--budget-tokens", String(limit)]);
    const afterFirst = await spentIn(out);
    // One wave: every worker's conversation in flight at the last admission, at the dearest cost seen.
    const wave = WORKERS * full.maxPerConversation;

    server.reset();
    const second = await runCli([...common, "--out", out, "--budget-tokens", String(full.tokens * 10)]);
    const secondCalls = server.stats.completions;
    const afterSecond = await spentIn(out);
    const expectedCalls = (CONVERSATIONS - afterFirst.interactions) * CALLS_PER_CONVERSATION;
    const untouched = [...afterFirst.files].filter(([id, text]) => afterSecond.files.get(id) === text).length;
    const ledger = (await readFile(join(out, "usage.ndjson"), "utf8").catch(() => "")).split("\n").length - 1;
    const over = afterFirst.tokens - limit;
    return {
      name: "budget",
      title: "Budget: stop within one wave, rerun completes the rest",
      setup:
        `${CONVERSATIONS} three-turn conversations, max_workers ${WORKERS}, via the CLI with --no-cache; ` +
        `--budget-tokens at ${BUDGET_SHARE * 100} % of what the whole run costs (measured first, in another folder), ` +
        "then the same command into the same folder with a budget ten times the whole run.",
      headline: {
        label: "tokens spent by the budgeted run",
        measured: afterFirst.tokens,
        ideal: limit,
        unit: "tokens",
        idealIs: "the budget",
      },
      checks: [
        check("budgeted run exits 4 (budget reached)", first.code ?? -1, "exit code", "4", first.code === 4),
        check(
          "spent beyond the budget",
          over,
          "tokens",
          `≤ one wave (${wave} = ${WORKERS} × the dearest conversation)`,
          over <= wave,
        ),
        check(
          "left unspent when it stopped",
          Math.max(0, -over),
          "tokens",
          `≤ one wave (${wave})`,
          -over <= wave,
        ),
        check(
          "rerun completes every conversation",
          afterSecond.interactions,
          `of ${CONVERSATIONS}`,
          "all",
          afterSecond.interactions === CONVERSATIONS && second.code === 0,
        ),
        check(
          "rerun's model calls",
          secondCalls,
          "calls",
          `= ${expectedCalls} (only the missing conversations)`,
          secondCalls === expectedCalls,
        ),
        check(
          "first run's interactions left as they were",
          untouched,
          `of ${afterFirst.interactions}`,
          "all",
          untouched === afterFirst.interactions,
        ),
      ],
      notes: [
        `Whole run: ${full.tokens} tokens for ${full.interactions} conversations (dearest ${full.maxPerConversation}). ` +
          `Budget ${limit}: the first run saved ${afterFirst.interactions} conversations for ${afterFirst.tokens} tokens ` +
          `(exit ${first.code}); the rerun made ${secondCalls} calls (exit ${second.code}); usage.ndjson holds ${ledger} lines.`,
      ],
      details: {
        full_tokens: full.tokens,
        limit,
        first_tokens: afterFirst.tokens,
        first_interactions: afterFirst.interactions,
        wave,
        second_calls: secondCalls,
        expected_second_calls: expectedCalls,
        final_interactions: afterSecond.interactions,
      },
    };
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
};
