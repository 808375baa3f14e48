// `convosim init [DIR]`: a starter convosim.yaml and personas.jsonl that work as written, never
// written over an existing file, and a `generate` in that folder that finds the config by itself.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { requireBuild, runCli } from "../support/cli.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

let dir: string;
beforeAll(() => requireBuild());
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), "convosim-init-"));
  return dir;
}

function completions(): Promise<LoopbackServer> {
  return startLoopbackServer(() => ({
    status: 200,
    body: {
      id: "c1",
      object: "chat.completion",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Here is what to check first." },
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 5 },
    },
  }));
}

describe("convosim init", () => {
  it("writes a config that loads (schema comment first, openai by default) and three personas, and says what to run next", async () => {
    const target = join(await freshDir(), "project");
    const run = await runCli(["init", target]);
    expect(run.code, run.stderr).toBe(0);
    const config = await readFile(join(target, "convosim.yaml"), "utf8");
    expect(config.split("\n")[0]).toBe(
      "# yaml-language-server: $schema=./node_modules/convosim/schema/convosim.schema.json",
    );
    expect(config).toMatch(/# provider: local\n\s+# model: qwen2\.5-coder-0\.5b-instruct/);
    const loaded = await loadConfig(join(target, "convosim.yaml"));
    expect(loaded.interaction_generation.assistant_model).toMatchObject({
      provider: "openai",
      model: "gpt-4o-mini",
      api_key_env: "OPENAI_API_KEY",
    });
    const personas = (await readFile(join(target, "personas.jsonl"), "utf8")).trim().split("\n");
    expect(personas.map((line) => (JSON.parse(line) as { persona_id: string }).persona_id)).toHaveLength(3);
    expect(run.stdout).toContain(`cd ${target}`);
    expect(run.stdout).toContain("convosim generate --personas personas.jsonl --out out/");
  });

  it("never overwrites: an existing personas.jsonl is named, exit 2, and neither file is written; --force replaces", async () => {
    const target = await freshDir();
    await writeFile(join(target, "personas.jsonl"), "mine\n");
    const refused = await runCli(["init", target]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: .*personas\.jsonl.*already exists/);
    expect(refused.stderr).toContain("--force");
    expect(refused.stderr).not.toContain("    at ");
    expect(await readFile(join(target, "personas.jsonl"), "utf8")).toBe("mine\n");
    await expect(readFile(join(target, "convosim.yaml"), "utf8")).rejects.toThrow(/ENOENT/);

    const forced = await runCli(["init", target, "--force"]);
    expect(forced.code).toBe(0);
    expect(await readFile(join(target, "personas.jsonl"), "utf8")).toContain("oncall-engineer");

    const again = await runCli(["init"], { cwd: target });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^error: convosim\.yaml.*already exists/);
  });

  it("generate in the init'ed folder uses ./convosim.yaml without --config and says so", async () => {
    const target = await freshDir();
    const init = await runCli(["init"], { cwd: target });
    expect(init.code, init.stderr).toBe(0);
    const server = await completions();
    try {
      // The test's only edit: point both models at the stand-in instead of api.openai.com.
      const path = join(target, "convosim.yaml");
      const config = await readFile(path, "utf8");
      const edited = config.replaceAll("# base_url: http://localhost:8000/v1", `base_url: ${server.url}/v1`);
      expect(edited.match(/^ {4}base_url: http/gm)).toHaveLength(2);
      await writeFile(path, edited);
      const run = await runCli(
        [
          "generate",
          "--personas",
          "personas.jsonl",
          "--out",
          "out",
          "--no-cache",
          "--min-turns",
          "1",
          "--max-turns",
          "1",
        ],
        { cwd: target, env: { OPENAI_API_KEY: "sk-init-test" } },
      );
      expect(run.stderr.split("\n")[0]).toBe("config: ./convosim.yaml");
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain("3 done, 0 failed");
      expect(server.requests.length).toBeGreaterThanOrEqual(3);
      expect(server.requests[0]?.headers.authorization).toBe("Bearer sk-init-test");
      const index = JSON.parse(await readFile(join(target, "out", "index.json"), "utf8")) as unknown;
      expect(JSON.stringify(index)).toContain("oncall-engineer");
    } finally {
      await server.close();
    }
  });

  it("generate without --config and no ./convosim.yaml says nothing about a config", async () => {
    const target = await freshDir();
    const run = await runCli(["generate", "--dry-run", "--limit", "1"], { cwd: target });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain("config:");
  });
});
