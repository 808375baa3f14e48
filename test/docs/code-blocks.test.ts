// Every code block in README.md and docs/*.md either runs here or says in the doc why it cannot
// (`<!-- docs-test: skip (reason) -->` before the fence). Shell blocks run in a sandbox against a
// loopback stand-in (sandbox.ts) and must exit as they say (0 unless a comment says "exits N"; a
// `$ command` block must print what it shows); YAML blocks load with the config loader; JSON
// blocks parse; TypeScript blocks typecheck against the built package's types.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { requireBuild } from "../support/cli.js";
import { ROOT } from "../support/dist-freshness.js";
import { allBlocks, type DocBlock, docFiles, readDoc, shellCommands, where } from "./markdown-blocks.js";
import { openSandbox, type Sandbox } from "./sandbox.js";

const blocks = allBlocks();
const shell = blocks.filter((b) => b.lang === "sh" || b.lang === "bash");
const KNOWN_LANGS = new Set(["", "sh", "bash", "yaml", "json", "ts", "python"]);
/** Languages this test never runs: such a block must say why in its marker. */
const NEVER_RUN = new Set(["python"]);

/** Programs a docs command may run here; anything else (npm, pip, python3, node …) is marked. */
const RUNNABLE = /^(\.\/bin\/convosim|convosim|cat|echo|rm|ls|head|test)\b/;
/** Synopsis notation a shell would not accept as written. */
const PLACEHOLDER = /…|\[--|\[[A-Z]+\]|\{[a-z]+,[a-z]+|\b(DIR|PATH|FILE)\b(?!=)/;

function whyNotRunnable(command: string): string | undefined {
  if (PLACEHOLDER.test(command)) return "placeholder notation";
  const programs = command.split(/\s*(?:\||&&|;)\s*/).map((part) => part.trim());
  const foreign = programs.find((part) => part && !RUNNABLE.test(part));
  return foreign ? `runs ${foreign.split(" ")[0]}` : undefined;
}

describe("the docs' code blocks", () => {
  it("are in languages this test knows, and every marker gives a reason", () => {
    const unknown = blocks.filter((b) => !KNOWN_LANGS.has(b.lang)).map((b) => `${where(b)} (${b.lang})`);
    expect(unknown).toEqual([]);
    expect(blocks.filter((b) => NEVER_RUN.has(b.lang) && b.skip === undefined).map(where)).toEqual([]);
    expect(blocks.filter((b) => b.skip !== undefined && b.skip.trim().length < 3)).toEqual([]);
  });

  it("every unmarked shell block can run here", () => {
    const unrunnable = shell
      .filter((b) => b.skip === undefined)
      .flatMap((b) =>
        shellCommands(b.text).flatMap((c) => {
          const why = whyNotRunnable(c.command);
          return why ? [`${where(b)}: ${c.command} — ${why}; mark it <!-- docs-test: skip (why) -->`] : [];
        }),
      );
    expect(unrunnable).toEqual([]);
  });

  it("counts the marked blocks (a marker on a block that could run is a lie too)", () => {
    const marked = blocks.filter((b) => b.skip !== undefined);
    // A marked shell block whose every command could run here should not be marked.
    const needless = marked
      .filter((b) => b.lang === "sh" || b.lang === "bash")
      .filter((b) => shellCommands(b.text).every((c) => whyNotRunnable(c.command) === undefined))
      .filter((b) => !/embedded model|minutes|network/.test(b.skip ?? ""))
      .map(where);
    expect(needless).toEqual([]);
    console.log(
      `docs code blocks: ${blocks.length} (${blocks.filter((b) => b.lang === "").length} untagged output), ${marked.length} marked skip`,
    );
  });
});

describe("the docs' shell commands, run in a sandbox against a stand-in", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    requireBuild();
    sandbox = await openSandbox();
    // The output folder the docs' stats/report/export/show examples read.
    const first = await sandbox.run(
      "./bin/convosim generate --config config.yaml --personas personas.jsonl --out out/run -q",
    );
    expect(first.code, first.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await sandbox?.close();
  });

  it("exit as documented", { timeout: 180_000 }, async () => {
    const failures: string[] = [];
    let ran = 0;
    for (const block of shell.filter((b) => b.skip === undefined)) {
      for (const { command, comment, expectedOutput } of shellCommands(block.text)) {
        const expected = Number(/\bexits (\d+)/.exec(comment)?.[1] ?? 0);
        const result = await sandbox.run(command);
        ran += 1;
        if (result.code !== expected)
          failures.push(
            `${where(block)}: \`${command}\` exited ${result.code}, not ${expected}: ${result.stderr.trim()}`,
          );
        else if (expectedOutput !== undefined && result.stdout.trim() !== expectedOutput.trim())
          failures.push(`${where(block)}: \`${command}\` printed ${result.stdout.trim()}`);
      }
    }
    expect(failures).toEqual([]);
    expect(ran).toBeGreaterThan(10);
  });
});

describe("the docs' YAML, JSON and TypeScript blocks", () => {
  const unmarked = (lang: string) => blocks.filter((b) => b.lang === lang && b.skip === undefined);
  const scratch = join(ROOT, "node_modules/.cache/convosim-docs-test");

  beforeAll(async () => {
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true });
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it("YAML blocks load with the config loader (model files relative to the config's folder)", async () => {
    const failures: string[] = [];
    for (const block of unmarked("yaml")) {
      const folder = join(scratch, `${block.file.replace(/\W/g, "_")}_${block.line}`);
      const path = join(folder, "config.yaml");
      await mkdir(folder, { recursive: true });
      await writeFile(path, block.text);
      // A local model file the block names by a relative path: put it where the docs say it is
      // looked for, next to the config; loading stats it (the test's cwd, the repo, has none).
      for (const [, file] of block.text.matchAll(/model_path:\s*(\.?\/?[\w./-]+\.gguf)/g)) {
        if (!file) continue;
        await mkdir(dirname(join(folder, file)), { recursive: true });
        await writeFile(join(folder, file), "");
      }
      await loadConfig(path).catch((error: Error) => failures.push(`${where(block)}: ${error.message}`));
    }
    expect(failures).toEqual([]);
  });

  it("examples/*.yaml load with the config loader", async () => {
    const examples = readdirSync(join(ROOT, "examples")).filter((name) => name.endsWith(".yaml"));
    expect(examples.length).toBeGreaterThan(0);
    const failures: string[] = [];
    for (const name of examples)
      await loadConfig(join(ROOT, "examples", name)).catch((e: Error) =>
        failures.push(`${name}: ${e.message}`),
      );
    expect(failures).toEqual([]);
  });

  it("every built-in prompt the docs and examples name exists in prompts/", () => {
    const texts = [
      ...docFiles().map((file) => readDoc(file)),
      ...readdirSync(join(ROOT, "examples"), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => readFileSync(join(entry.parentPath, entry.name), "utf8")),
    ];
    const named = new Set(
      texts.flatMap((text) =>
        [...text.matchAll(/(?<![\w/])prompts\/([\w.-]+\.\w+)/g)].map((m) => m[1] ?? ""),
      ),
    );
    expect(named.size).toBeGreaterThan(0);
    expect([...named].filter((name) => !existsSync(join(ROOT, "prompts", name)))).toEqual([]);
  });

  it("JSON blocks parse (one document, or one per line)", () => {
    const failures = unmarked("json").flatMap((block: DocBlock) => {
      try {
        JSON.parse(block.text);
        return [];
      } catch {
        const bad = block.text.split("\n").filter((line) => {
          if (!line.trim()) return false;
          try {
            JSON.parse(line);
            return false;
          } catch {
            return true;
          }
        });
        return bad.length ? [`${where(block)}: not JSON: ${bad[0]}`] : [];
      }
    });
    expect(failures).toEqual([]);
  });

  it("TypeScript blocks typecheck against the package's sources", { timeout: 120_000 }, async () => {
    const ts = unmarked("ts");
    const files = await Promise.all(
      ts.map(async (block) => {
        const name = `${block.file.replace(/\W/g, "_")}_${block.line}.mts`;
        // `export {}` makes each block its own module, so their top-level names do not clash.
        await writeFile(join(scratch, name), `${block.text}\nexport {};\n`);
        return name;
      }),
    );
    await writeFile(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2023"],
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules/@types")],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          // "convosim" is the sources, not dist/: current even while dist/ is being rebuilt.
          paths: { convosim: [join(ROOT, "src/index.ts")] },
        },
        files,
      }),
    );
    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", scratch], {
      encoding: "utf8",
    });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
    expect(ts.length).toBeGreaterThan(0);
  });
});
