// The CLI and its docs name the same flags. Each command's flags come from its own `--help`
// (commander), so a flag added or dropped shows up here without editing this test:
// - every flag of every command is mentioned in the docs, and generate's in the README's table;
// - every flag the docs give a convosim command (in a command line, in an option table, in
//   configuration.md's command-line overrides) exists in that command's --help.
import { beforeAll, describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";
import { allBlocks, docFiles, readDoc, shellCommands } from "./markdown-blocks.js";

const FLAG = /(?<![\w-])--[a-z][a-z0-9-]*/g;
const flagsIn = (text: string) => [...new Set(text.match(FLAG) ?? [])];

async function helpFlags(command?: string): Promise<string[]> {
  const result = await runCli(command ? [command, "--help"] : ["--help"]);
  expect(result.code, result.stderr).toBe(0);
  return flagsIn(result.stdout).filter((flag) => flag !== "--help" && flag !== "--version");
}

async function commandNames(): Promise<string[]> {
  const { stdout } = await runCli(["--help"]);
  const section = stdout.split(/^Commands:$/m)[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)]
    .map((m) => m[1] ?? "")
    .filter((name) => name && name !== "help");
}

/** Rows of the Markdown tables in `section` whose first cell names flags. */
const tableFlags = (section: string) =>
  section
    .split("\n")
    .filter((line) => /^\|\s*`-/.test(line))
    .flatMap((line) => flagsIn(line.split("|")[1] ?? ""));

/** The text of `file` from the heading `title` to the next heading of the same or higher level. */
function section(file: string, title: string): string {
  const text = readDoc(file);
  const start = text.search(new RegExp(`^(#+) ${title}$`, "m"));
  if (start < 0) throw new Error(`${file}: no heading "${title}"`);
  const level = /^#+/.exec(text.slice(start))?.[0].length ?? 2;
  const rest = text.slice(start + level + 1);
  // A `# comment` line inside a code block is not a heading: blank the blocks out (same length).
  const prose = rest.replace(/^\s*```[\s\S]*?^\s*```/gm, (block) => block.replace(/[^\n]/g, " "));
  const end = prose.search(new RegExp(`^#{1,${level}} `, "m"));
  return end < 0 ? rest : rest.slice(0, end);
}

/** `convosim CMD …` and `./bin/convosim CMD …` in the docs' shell blocks and inline code. */
function documentedInvocations(): Array<{ where: string; command: string; flags: string[] }> {
  const found: Array<{ where: string; command: string; flags: string[] }> = [];
  const add = (where: string, line: string) => {
    for (const part of line.split(/\s*(?:\||&&|;)\s*/)) {
      const match = /^(?:\.\/bin\/)?convosim\s+([a-z][\w-]*)(.*)$/.exec(part.trim());
      if (match?.[1]) found.push({ where, command: match[1], flags: flagsIn(match[2] ?? "") });
    }
  };
  for (const block of allBlocks().filter((b) => b.lang === "sh" || b.lang === "bash")) {
    for (const { command } of shellCommands(block.text)) add(`${block.file}:${block.line}`, command);
  }
  for (const file of docFiles()) {
    for (const [, code] of readDoc(file).matchAll(/`((?:\.\/bin\/)?convosim [^`]+)`/g)) add(file, code ?? "");
  }
  return found;
}

describe("CLI flags and the docs", () => {
  let commands: string[];
  const help = new Map<string, string[]>();
  beforeAll(async () => {
    requireBuild();
    commands = await commandNames();
    for (const command of commands) help.set(command, await helpFlags(command));
  }, 60_000);

  it("knows the commands", () => {
    expect(commands).toEqual(
      expect.arrayContaining(["generate", "export", "stats", "report", "show", "noise"]),
    );
  });

  it("every command appears in the README", () => {
    const readme = readDoc("README.md");
    expect(commands.filter((c) => !new RegExp(`convosim ${c}\\b`).test(readme))).toEqual([]);
  });

  it("every flag of generate is in the README's option table", () => {
    const table = tableFlags(section("README.md", "Generate"));
    expect((help.get("generate") ?? []).filter((flag) => !table.includes(flag))).toEqual([]);
  });

  it("every flag of every command is mentioned in the docs", () => {
    const docs = new Set(docFiles().flatMap((file) => flagsIn(readDoc(file))));
    const missing = commands.flatMap((c) =>
      (help.get(c) ?? []).filter((f) => !docs.has(f)).map((f) => `${c} ${f}`),
    );
    expect(missing).toEqual([]);
  });

  it("every flag in the README's and the docs' option tables exists", () => {
    const tables: Array<[string, string, string]> = [
      ["generate", "README.md", "Generate"],
      ["export", "docs/exports.md", "Exports: training data out of an output folder"],
      ["generate", "docs/budgets.md", "Budgets and the dry run"],
    ];
    const lies = tables.flatMap(([command, file, title]) =>
      tableFlags(section(file, title))
        .filter((flag) => !(help.get(command) ?? []).includes(flag))
        .map((flag) => `${file} (${command}): ${flag}`),
    );
    expect(lies).toEqual([]);
  });

  it("every flag configuration.md names as a command-line override exists on generate", () => {
    const flags = flagsIn(section("docs/configuration.md", "Command-line overrides"));
    expect(flags.length).toBeGreaterThan(0);
    expect(flags.filter((flag) => !(help.get("generate") ?? []).includes(flag))).toEqual([]);
  });

  it("every convosim command line in the docs uses flags its command has", () => {
    const invocations = documentedInvocations();
    expect(invocations.length).toBeGreaterThan(10);
    const lies = invocations.flatMap(({ where, command, flags }) => {
      const known = help.get(command);
      if (!known) return [`${where}: no command ${command}`];
      return flags
        .filter((flag) => !known.includes(flag))
        .map((flag) => `${where}: convosim ${command} ${flag}`);
    });
    expect([...new Set(lies)]).toEqual([]);
  });
});
