// `export -o` and `report -o` through the built CLI write to what the path names as `> PATH`
// would: a character device or a named pipe is written through and stays what it is, a
// symlink stays a link and its target gets the file; a full device is one "disk full" line
// (exit 5); a path inside the folder being read is refused (exit 2) and nothing there changes.
import { lstatSync, statSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRun, tempDir } from "../exports/support.js";
import { type CliRun, requireBuild, runCli } from "../support/cli.js";
import { characterDevice, namedPipe, readPipe } from "./special-files.js";

const CONVERSATIONS = 6;
let dir: string;
let run: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  requireBuild();
  ({ dir, cleanup } = await tempDir("output-targets"));
  run = join(dir, "run");
  expect(await generateRun(run, { personas: CONVERSATIONS, queriesPerPersona: 1 })).toBe(CONVERSATIONS);
});
afterAll(() => cleanup?.());

const exportTo = (output: string, ...more: string[]) =>
  runCli(["export", run, "--format", "openai", "-o", output, ...more]);
const reportTo = (output: string) => runCli(["report", run, "-o", output, "--sample", "2"]);

const jsonLines = (text: string) => text.trim().split("\n").filter(Boolean);

function expectOneLineError(result: CliRun, code: number, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
}

describe("an output path that names a special file is written through, never replaced", () => {
  it("a character device like /dev/null stays a device (export and report)", async (context) => {
    const device = characterDevice(dir, "null");
    if (!device) return context.skip();
    for (const result of [await exportTo(device), await reportTo(device)]) {
      expect(result.code, result.stderr).toBe(0);
      expect(statSync(device).isCharacterDevice()).toBe(true);
    }
  });

  it("a full device like /dev/full: one 'disk full' line, exit 5, the device untouched", async (context) => {
    const device = characterDevice(dir, "full");
    if (!device) return context.skip();
    for (const result of [await exportTo(device), await reportTo(device)]) {
      expectOneLineError(
        result,
        5,
        /^error: disk full while writing .*(dev-full|\/dev\/full): free space and rerun/,
      );
      expect(statSync(device).isCharacterDevice()).toBe(true);
    }
  });

  it("a named pipe: the reader gets every row, and the pipe stays a pipe", async (context) => {
    const fifo = namedPipe(dir, "rows.fifo");
    if (!fifo) return context.skip();
    const reader = readPipe(fifo);
    const result = await exportTo(fifo);
    // Bounded: a pipe replaced by a file never gets a writer, so its reader is stopped.
    const timer = setTimeout(reader.stop, 10_000);
    const text = await reader.text;
    clearTimeout(timer);
    expect(result.code, result.stderr).toBe(0);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(jsonLines(text)).toHaveLength(CONVERSATIONS);
  });

  it("a symlink stays a link; its target gets the file (an existing one, or a new one)", async () => {
    const target = join(dir, "target.jsonl");
    await writeFile(target, "old\n");
    const link = join(dir, "link.jsonl");
    await symlink(target, link);
    expect((await exportTo(link)).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(jsonLines(await readFile(target, "utf8"))).toHaveLength(CONVERSATIONS);

    const dangling = join(dir, "dangling.html");
    const newTarget = join(dir, "made-by-report.html");
    await symlink(newTarget, dangling);
    const report = await reportTo(dangling);
    expect(report.code, report.stderr).toBe(0);
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(await readFile(newTarget, "utf8")).toMatch(/^<!doctype html>/i);
  });
});

describe("an output path inside the folder being read is refused", () => {
  it("export: the index, a new file, a path through .. or a symlink — exit 2, nothing changed", async () => {
    const index = join(run, "index.json");
    const before = await readFile(index, "utf8");
    const viaLink = join(dir, "run-link");
    await symlink(run, viaLink);
    await mkdir(join(dir, "elsewhere"), { recursive: true });
    for (const output of [
      index,
      join(run, "export.jsonl"),
      join(dir, "elsewhere", "..", "run", "x.jsonl"),
      join(viaLink, "index.json"),
      run,
    ]) {
      expectOneLineError(await exportTo(output), 2, /--output: .* is inside the folder being read/);
    }
    expect(await readFile(index, "utf8")).toBe(before);
    expect(() => statSync(join(run, "export.jsonl"))).toThrow();
  });

  it("report: the index or interactions/ refused; the default DIR/report.html still written", async () => {
    const index = join(run, "index.json");
    const before = await readFile(index, "utf8");
    expectOneLineError(await reportTo(index), 2, /--output: .* is inside the folder being read/);
    expectOneLineError(
      await reportTo(join(run, "interactions", "r.html")),
      2,
      /--output: .* is inside the folder being read/,
    );
    expect(await readFile(index, "utf8")).toBe(before);
    const byDefault = await runCli(["report", run, "--sample", "1"]);
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(statSync(join(run, "report.html")).isFile()).toBe(true);
  });
});
