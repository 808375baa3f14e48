// `convosim init [DIR]`: a commented starter config and three personas, so a newcomer's first
// run is `convosim generate --personas personas.jsonl --out out/` rather than reading the docs.
import { join } from "node:path";
import type { Command } from "commander";
import { InputError } from "../config/errors.js";
import { DEFAULT_CONFIG_FILE } from "./default-config.js";
import { EXIT } from "./fail.js";

export const PERSONAS_FILE = "personas.jsonl";

/** The schema comment lets YAML-aware editors complete and check keys once convosim is installed. */
export const STARTER_CONFIG = `# yaml-language-server: $schema=./node_modules/convosim/schema/convosim.schema.json
# convosim config: every key is optional and checked; see docs/configuration.md.
# \`convosim generate\` uses this file when run in this folder (no --config needed).
interaction_generation:
  min_turns: 2
  max_turns: 4
  max_workers: 4 # conversations in flight

  # The assistant being tested.
  assistant_model:
    provider: openai
    model: gpt-4o-mini
    api_key_env: OPENAI_API_KEY # the NAME of the variable holding your key, never the key
    # base_url: http://localhost:8000/v1 # any OpenAI-compatible server (vLLM, Ollama, …)
    # No key? Replace the provider/model/api_key_env lines with the embedded local model
    # (no network once fetched with \`npx convosim fetch-model\`):
    # provider: local
    # model: qwen2.5-coder-0.5b-instruct

  # The simulated user, who plays each persona.
  user_model:
    provider: openai
    model: gpt-4o-mini
    api_key_env: OPENAI_API_KEY
    # base_url: http://localhost:8000/v1
    # provider: local
    # model: qwen2.5-coder-0.5b-instruct
`;

const STARTER_PERSONAS = [
  {
    persona_id: "oncall-engineer",
    persona_features: {
      role: "site reliability engineer",
      tech_proficiency: "expert",
      communication_style: "terse",
    },
    system_prompt: "You are on call at 3 a.m. and tired.",
    queries: [{ query_id: "q1", original_query: "Why did our Postgres replica fall behind tonight?" }],
  },
  {
    persona_id: "small-shop-owner",
    persona_features: {
      role: "bakery owner",
      tech_proficiency: "beginner",
      communication_style: "casual",
      device: "mobile",
    },
    queries: [{ query_id: "q1", original_query: "how do i make my website show opening hours on google" }],
  },
  {
    persona_id: "student",
    persona_features: {
      role: "first-year student",
      tech_proficiency: "intermediate",
      communication_style: "formal",
    },
    queries: [
      {
        query_id: "q1",
        original_query: "Could you explain recursion with an example in Python?",
        scenario: { goal: "understand the base case", known: ["the course uses Python 3"] },
      },
    ],
  },
];

export const STARTER_PERSONAS_JSONL = `${STARTER_PERSONAS.map((p) => JSON.stringify(p)).join("\n")}\n`;

async function exists(path: string): Promise<boolean> {
  try {
    const { lstat } = await import("node:fs/promises"); // imported on use: see runInit
    await lstat(path); // a dangling symlink counts: writing through it would surprise
    return true;
  } catch {
    return false;
  }
}

function alreadyThere(path: string): InputError {
  return new InputError({
    file: path,
    message: "already exists; init never overwrites a file",
    hint: "edit it, remove it, or rerun with --force to replace it",
  });
}

/** A folder name as it can be pasted into a POSIX shell. */
function shellWord(text: string): string {
  return /^[\w./~-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

export async function runInit(dir: string, options: { force?: boolean }): Promise<number> {
  // node:fs/promises (and the streams it loads) is imported here rather than at the top, which
  // every command, --version and --help included, would pay for (main.ts, start-up).
  const { mkdir, writeFile } = await import("node:fs/promises");
  const files = [
    { path: join(dir, DEFAULT_CONFIG_FILE), text: STARTER_CONFIG },
    { path: join(dir, PERSONAS_FILE), text: STARTER_PERSONAS_JSONL },
  ];
  // Both checked before either is written: a refusal leaves the folder as it was.
  if (!options.force) {
    for (const file of files) if (await exists(file.path)) throw alreadyThere(file.path);
  }
  await mkdir(dir, { recursive: true });
  for (const file of files) {
    try {
      await writeFile(file.path, file.text, { flag: options.force ? "w" : "wx" });
    } catch (error) {
      // Created by someone else between the check and the write.
      if ((error as NodeJS.ErrnoException).code === "EEXIST") throw alreadyThere(file.path);
      throw error;
    }
  }
  const cd = dir === "." ? "" : `  cd ${shellWord(dir)}\n`;
  process.stdout.write(
    `wrote ${files.map((f) => f.path).join(" and ")}\n` +
      "next:\n" +
      cd +
      "  export OPENAI_API_KEY=…   # or switch both models to the local one (see convosim.yaml)\n" +
      `  convosim generate --personas ${PERSONAS_FILE} --out out/\n`,
  );
  return EXIT.ok;
}

export function registerInitCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command("init [dir]")
    .description(
      `write a starter ${DEFAULT_CONFIG_FILE} and ${PERSONAS_FILE} (never overwrites without --force)`,
    )
    .option("-f, --force", "replace existing files")
    .action(async (dir: string | undefined, options: { force?: boolean }) => {
      setExit(await runInit(dir ?? ".", options));
    });
}
