// What `npm pack` (and so `npm publish`, and an install from git or a tarball) ships: the
// licence, the README and every doc it links to, the built CLI and library, the schema when
// there is one — and no bench, no tests, no sources, no source map whose sources are missing.
// `--ignore-scripts`: the listing is of the dist/ the global setup keeps fresh, not a new build.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/dist-freshness.js";

interface PackFile {
  path: string;
  size: number;
}
interface PackResult {
  files: PackFile[];
  unpackedSize: number;
}

let files: Set<string>;
let unpackedSize: number;

beforeAll(() => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [result] = JSON.parse(out) as PackResult[];
  if (!result) throw new Error(`npm pack --dry-run --json printed no package: ${out}`);
  files = new Set(result.files.map((file) => file.path));
  unpackedSize = result.unpackedSize;
}, 60_000);

describe("npm pack", () => {
  it("ships the licence, the README, the CLI and the library's entry points", () => {
    for (const path of [
      "LICENSE",
      "README.md",
      "package.json",
      "bin/convosim",
      "dist/src/cli/main.js",
      "dist/cli/main.js", // the bundle bin/convosim starts (scripts/bundle-cli.mjs)
      "dist/cli/chunks.json",
      "dist/cli/THIRD-PARTY-LICENSES.txt", // the licences of the packages inlined into the bundle
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "scripts/fetch-model.mjs",
    ]) {
      expect(files, path).toContain(path);
    }
  });

  it("ships the JSON schema when the repository has one", () => {
    const schema = "schema/convosim.schema.json";
    if (existsSync(join(ROOT, schema))) expect(files).toContain(schema);
    else expect([...files].some((path) => path.startsWith("schema/"))).toBe(false);
  });

  it("ships every local file the README links to, so its links work on npm and in node_modules", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const targets = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((match) => match[1] ?? "")
      .filter((target) => !/^[a-z]+:/i.test(target));
    expect(targets.length).toBeGreaterThan(10);
    for (const target of new Set(targets)) expect(files, target).toContain(normalize(target));
  });

  it("ships no bench, tests or TypeScript sources", () => {
    const unwanted = [...files].filter(
      (path) =>
        path.startsWith("bench/") ||
        path.startsWith("dist/bench/") ||
        path.startsWith("test/") ||
        path.startsWith("dist/test/") ||
        path.startsWith("src/") ||
        path.startsWith("node_modules/") ||
        (path.endsWith(".ts") && !path.endsWith(".d.ts")),
    );
    expect(unwanted).toEqual([]);
  });

  it("ships no source map whose sources are missing (each carries its sources or they ship too)", () => {
    const maps = [...files].filter((path) => path.endsWith(".map"));
    const broken: string[] = [];
    for (const path of maps) {
      const map = JSON.parse(readFileSync(join(ROOT, path), "utf8")) as {
        sources: string[];
        sourcesContent?: (string | null)[];
        sourceRoot?: string;
      };
      map.sources.forEach((source, i) => {
        if (typeof map.sourcesContent?.[i] === "string") return;
        const shipped = normalize(join(dirname(path), map.sourceRoot ?? "", source));
        if (!files.has(shipped)) broken.push(`${path} → ${source}`);
      });
    }
    expect(broken).toEqual([]);
  });

  it("lets CommonJS require() it where Node can require an ES module (>= 20.19), else import() works", () => {
    // Run in the repository so that "convosim" resolves to this package through its exports.
    const run = (args: string[]) =>
      execFileSync(process.execPath, args, {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
    if (major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19)) {
      expect(run(["-e", 'process.stdout.write(typeof require("convosim").generate)'])).toBe("function");
    }
    expect(
      run(["-e", 'import("convosim").then(({ generate }) => process.stdout.write(typeof generate))']),
    ).toBe("function");
  });

  it("asks for a Node.js at least as new as every runtime dependency asks for (engines.node)", () => {
    type Manifest = {
      engines?: { node?: string };
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
    /** [major, minor, patch] of a plain ">= x.y.z" range; undefined for any other form. */
    const floor = (range: string | undefined) => {
      const match = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range?.trim() ?? "");
      return match ? [1, 2, 3].map((i) => Number(match[i] ?? 0)) : undefined;
    };
    const weight = (v: number[]) => (v[0] ?? 0) * 1e6 + (v[1] ?? 0) * 1e3 + (v[2] ?? 0);
    const own = manifest(ROOT);
    const ours = floor(own.engines?.node);
    expect(ours, "package.json engines.node is a plain >= range").toBeDefined();
    const names = Object.keys({ ...own.dependencies, ...own.optionalDependencies });
    const stricter = names.filter((name) => {
      const dir = join(ROOT, "node_modules", name);
      if (!existsSync(dir)) return false;
      const theirs = floor(manifest(dir).engines?.node);
      return theirs !== undefined && weight(theirs) > weight(ours ?? []);
    });
    expect(stricter).toEqual([]);
  });

  it("stays small: under 10 MB unpacked (the models and node-llama-cpp are fetched, never shipped)", () => {
    expect(unpackedSize).toBeLessThan(10_000_000);
  });
});
