// The folder the docs' shell commands run in: what a reader following README.md has around them
// (./bin/convosim, examples/, a config.yaml and personas.jsonl of their own, an output folder
// from an earlier run), with every model call going to a loopback stand-in instead of a paid API.
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { BIN } from "../support/cli.js";
import { ROOT } from "../support/dist-freshness.js";

export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  server: StandInServer;
  /** Runs one shell command in the sandbox, bounded by `timeoutMs`. */
  run(command: string, timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

/** The names the docs' commands use for a reader's own files. */
const PERSONAS = [
  {
    persona_id: "p001",
    persona_features: { role: "engineer", communication_style: "casual" },
    queries: [{ query_id: "q1", original_query: "Why is my Postgres query slow?" }],
  },
  {
    persona_id: "p002",
    persona_features: { role: "teacher", communication_style: "formal" },
    queries: [{ query_id: "q1", original_query: "How do I share a spreadsheet read-only?" }],
  },
];

const configFor = (url: string) =>
  [
    "interaction_generation:",
    "  min_turns: 2",
    "  max_turns: 2",
    "  max_workers: 2",
    `  assistant_model: { provider: openai, model: gpt-4o-mini, base_url: "${url}" }`,
    `  user_model: { provider: openai, model: gpt-4o-mini, base_url: "${url}" }`,
    "",
  ].join("\n");

export async function openSandbox(): Promise<Sandbox> {
  const server = await startStandInServer();
  const dir = await mkdtemp(join(tmpdir(), "convosim-docs-"));
  await mkdir(join(dir, ".path"));
  await symlink(join(ROOT, "bin"), join(dir, "bin"));
  await symlink(join(ROOT, "examples"), join(dir, "examples"));
  // `convosim …` in the docs is the installed command: the same bin on PATH.
  await writeFile(join(dir, ".path", "convosim"), `#!/bin/sh\nexec "${BIN}" "$@"\n`);
  await chmod(join(dir, ".path", "convosim"), 0o755);
  await writeFile(join(dir, "config.yaml"), configFor(server.url));
  // run.yaml (budgets.md); eval-a/eval-b.yaml (recipes.md): two assistants, the same users.
  for (const name of ["run.yaml", "eval-a.yaml", "eval-b.yaml"])
    await writeFile(join(dir, name), configFor(server.url));
  await writeFile(join(dir, "personas.jsonl"), `${PERSONAS.map((p) => JSON.stringify(p)).join("\n")}\n`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(dir, ".path")}:${process.env.PATH ?? ""}`,
    OPENAI_API_KEY: "sk-docs-test",
    OPENROUTER_API_KEY: "sk-docs-test",
    ANTHROPIC_API_KEY: "sk-docs-test",
    CONVOSIM_CACHE_DIR: join(dir, ".cache"),
    NO_COLOR: "1",
  };
  const run: Sandbox["run"] = (command, timeoutMs = 90_000) =>
    new Promise((resolve) => {
      const child = spawn("bash", ["-c", command], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  return {
    dir,
    env,
    server,
    run,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
