// The real cache modules, transpiled alone into a folder (they import only node:* and each other),
// so a child process runs our code without a build: the kill -9 test and the second-writer test.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import ts from "typescript";

const SRC = join(import.meta.dirname, "..", "..", "src", "cache");
const MODULES = ["segment-cache", "segment-files", "segment-scan", "segment-index", "entry", "types"];

export async function transpileCache(into: string): Promise<void> {
  for (const name of MODULES) {
    const source = await readFile(join(SRC, `${name}.ts`), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    await writeFile(join(into, `${name}.js`), outputText);
  }
}
