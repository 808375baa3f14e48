// The scenarios that drive the real CLI (kill -9 and resume, replay): a config pointing both
// models at the stand-in server, a personas file, and a runner that can SIGKILL the CLI.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { CLI_NODE_FLAGS } from "../../src/run/heap.js";
import { benchDir } from "../measure.js";

const cli = join(benchDir, "../../bin/convosim");

/** Three-turn conversations, both models on the stand-in, `workers` in flight. */
export function cliConfig(url: string, workers: number, transport?: "sdk" | "undici"): string {
  const chosen = transport ? `, transport: ${transport}` : "";
  const model = `{provider: openai, model: stand-in, base_url: "${url}", max_completion_tokens: 64${chosen}}`;
  return [
    "interaction_generation:",
    "  min_turns: 3",
    "  max_turns: 3",
    `  max_workers: ${workers}`,
    `  assistant_model: ${model}`,
    `  user_model: ${model}`,
    "",
  ].join("\n");
}

/** `count` personas with one query each, as JSONL. */
export function cliPersonas(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++)
    lines.push(
      JSON.stringify({
        persona_id: `cli_${i}`,
        persona_features: { role: "analyst", tech_proficiency: "intermediate", communication_style: "brief" },
        queries: [{ original_query: `How do I keep spreadsheet ${i} consistent across a team of five?` }],
      }),
    );
  return `${lines.join("\n")}\n`;
}

/** Runs the CLI; with killWhen, SIGKILLs it as soon as killWhen() is true. Resolves on exit. */
export function runCli(
  args: string[],
  killWhen?: () => boolean,
  options: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_NODE_FLAGS, ...(options.nodeArgs ?? []), cli, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let poll: NodeJS.Timeout | undefined;
    if (killWhen)
      poll = setInterval(() => {
        if (killWhen()) {
          clearInterval(poll);
          child.kill("SIGKILL");
        }
      }, 5);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      if (code !== null && code !== 0) process.stderr.write(stderr);
      resolve({ code, signal });
    });
  });
}
