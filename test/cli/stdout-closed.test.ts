// `convosim show … | head` and friends: when the reader of stdout goes away, every command that
// writes there stops quietly — exit 0, no EPIPE stack trace. The reader's end of the pipe is
// closed before the command writes anything, so its first write always meets EPIPE.
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRun, tempDir } from "../exports/support.js";
import { BIN, requireBuild } from "../support/cli.js";

let dir: string;
let run: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  requireBuild();
  ({ dir, cleanup } = await tempDir("stdout-closed"));
  run = join(dir, "run");
  expect(await generateRun(run, { personas: 30, queriesPerPersona: 1 })).toBe(30);
});
afterAll(() => cleanup?.());

/** Runs the CLI with its stdout pipe already closed by the reader; resolves with code and stderr. */
function runWithStdoutClosed(args: string[], input = ""): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  child.stdout.destroy(); // the reader is gone before the first byte
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  child.stdin.on("error", () => {});
  child.stdin.end(input);
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

describe("stdout closed by its reader: exit 0, nothing on stderr about it", () => {
  it.each([
    ["show DIR", ["show", "RUN"]],
    ["show DIR ID", ["show", "RUN", "ID"]],
    ["export --format jsonl", ["export", "RUN", "--format", "jsonl"]],
    ["export --format openai", ["export", "RUN", "--format", "openai"]],
    ["stats", ["stats", "RUN"]],
    ["stats --json", ["stats", "RUN", "--json"]],
    ["noise", ["noise", "--probability", "1"]],
  ])("%s", async (_name, args) => {
    const first = (await readdir(join(run, "interactions")))[0]!;
    const id = JSON.parse(await readFile(join(run, "interactions", first), "utf8")).interaction_id as string;
    const result = await runWithStdoutClosed(
      args.map((arg) => (arg === "RUN" ? run : arg === "ID" ? id : arg)),
      "can you check this for me\n".repeat(500), // noise: a line out per line in, well past the error
    );
    expect(result.stderr).not.toMatch(/EPIPE|\n\s+at |unexpected error/);
    expect(result.code, result.stderr).toBe(0);
  });
});
