// The real file writers (src/sinks/atomic-file.ts, writer-thread.ts), transpiled alone into a
// folder of ES modules (they import only node:* and each other), so a child process runs our
// code without a build: the kill -9 tests and the writer thread's process-exit test.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import ts from "typescript";

const SINKS = join(import.meta.dirname, "..", "..", "src", "sinks");

/**
 * The real modules, transpiled alone (they import only node:* and each other), so the child runs
 * our code: atomic-file.js and writer-thread.js in a folder of ES modules.
 */
export async function transpileWriters(into: string): Promise<string> {
  const folder = join(into, "modules");
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, "package.json"), '{ "type": "module" }\n');
  for (const name of ["atomic-file", "writer-thread"]) {
    const source = await readFile(join(SINKS, `${name}.ts`), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    await writeFile(join(folder, `${name}.js`), outputText);
  }
  return folder;
}
