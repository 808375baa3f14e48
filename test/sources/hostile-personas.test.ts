// Hostile persona input is bad input, never a crash or an endless read: deep nesting, alias
// bombs, oversized documents, invalid UTF-8 (named at its real line), empty inputs; and ids are
// treated alike (numbers accepted and kept as text for persona_id and query_id).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { lastValueFrom, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import type { Persona } from "../../src/schema/persona.js";
import { type ReadPersonasOptions, readPersonas } from "../../src/sources/read-personas.js";
import { MAX_DOCUMENT_CHARS } from "../../src/sources/records.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-hostile-personas-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const good = (id: string) =>
  JSON.stringify({
    persona_id: id,
    persona_features: { role: "pm" },
    queries: [{ original_query: `hi from ${id}` }],
  });

function readAll(
  input: Parameters<typeof readPersonas>[0],
  options?: ReadPersonasOptions,
): Promise<Persona[]> {
  return lastValueFrom(readPersonas(input, options).pipe(toArray()));
}

async function readError(
  input: Parameters<typeof readPersonas>[0],
  options?: ReadPersonasOptions,
): Promise<InputError> {
  const error = await readAll(input, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

const deepJson = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;

describe("nesting", () => {
  it("refuses a JSONL record nested 5,000 levels deep, naming its line", async () => {
    const deep = JSON.stringify({
      persona_id: "d",
      persona_features: { x: "PLACEHOLDER" },
      queries: [],
    }).replace('"PLACEHOLDER"', deepJson(5000));
    const error = await readError(await file("deep.jsonl", `${good("a")}\n${deep}\n`));
    expect(error.line).toBe(2);
    expect(error.message).toMatch(/nested more than 64 levels/);
  });

  it("refuses deep JSON and YAML documents", async () => {
    const json = await readError(
      await file("deep.json", `[\n${good("a")},\n{"persona_id": "b", "x": ${deepJson(5000)}}\n]\n`),
    );
    expect(json.message).toMatch(/nested more than 64 levels/);
    expect(json.line).toBe(3);
    const yaml = await readError(
      await file("deep.yaml", `- persona_id: a\n  persona_features: ${deepJson(5000)}\n`),
    );
    expect(yaml.message).toMatch(/nested more than 64 levels/);
  });

  it("keeps brackets inside strings out of the count", async () => {
    const persona = JSON.stringify({
      persona_id: "s",
      persona_features: { note: "[".repeat(500) },
      queries: [{ original_query: "q" }],
    });
    const [read] = await readAll(await file("strings.jsonl", `${persona}\n`));
    expect(read?.persona_features.note).toBe("[".repeat(500));
  });
});

describe("YAML aliases", () => {
  it("refuses an alias bomb in a personas file as bad input", async () => {
    const levels = [
      '- persona_id: a\n  persona_features:\n    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(
        `    ${name}: &${name} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`,
      );
    }
    const error = await readError(await file("bomb.yaml", `${levels.join("\n")}\n`));
    expect(error.message).toMatch(/alias/i);
    expect(error.file).toMatch(/bomb\.yaml$/);
  });
});

describe("document size", () => {
  /** A stream of `[` then spaces for ever, counting what was pulled from it. */
  function endlessJsonArray(chunk = 1024 * 1024) {
    const spaces = Buffer.alloc(chunk, " ");
    const state = { pulled: 0 };
    const stream = Readable.from(
      (function* () {
        yield Buffer.from("[\n");
        for (;;) {
          state.pulled += spaces.length;
          yield Buffer.concat([spaces, Buffer.from("\n")]);
        }
      })(),
    );
    return { stream, state };
  }

  it("stops reading a JSON document past its cap and says so", async () => {
    const { stream, state } = endlessJsonArray();
    const error = await readError(stream, { format: "json", name: "stdin" });
    expect(error.message).toMatch(/larger than 64 MiB/);
    expect(error.hint).toMatch(/JSONL/);
    expect(state.pulled).toBeLessThan(MAX_DOCUMENT_CHARS.json + 4 * 1024 * 1024);
  });

  it("caps a YAML document lower", async () => {
    const { stream, state } = endlessJsonArray();
    const error = await readError(stream, { format: "yaml", name: "stdin" });
    expect(error.message).toMatch(/larger than 16 MiB/);
    expect(state.pulled).toBeLessThan(MAX_DOCUMENT_CHARS.yaml + 4 * 1024 * 1024);
  });
});

describe("invalid UTF-8", () => {
  const bad = Buffer.from([0xc3, 0x28]);

  it("names the real line, well after the first kilobyte", async () => {
    const lines = Array.from({ length: 40 }, (_, i) => good(`p${i}`)).join("\n");
    const error = await readError(
      await file(
        "utf8.jsonl",
        Buffer.concat([Buffer.from(`${lines}\n{"persona_id": "x`), bad, Buffer.from('"}\n')]),
      ),
    );
    expect(error.message).toMatch(/invalid UTF-8/);
    expect(error.line).toBe(41);
  });

  it("names the right line when the input arrives in small chunks split inside characters", async () => {
    const text = Buffer.concat([
      Buffer.from(`${Array.from({ length: 30 }, (_, i) => good(`é${i}`)).join("\n")}\n${good("ü")}\n`),
      Buffer.from('{"persona_id": "'),
      bad,
      Buffer.from('"}\n'),
    ]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < text.length; i += 7) chunks.push(text.subarray(i, i + 7));
    const error = await readError(Readable.from(chunks), { name: "stdin" });
    expect(error.line).toBe(32);
  });
});

describe("ids are treated alike", () => {
  it("accepts numeric persona_id and query_id, kept as text", async () => {
    const [persona] = await readAll(
      await file(
        "numeric.jsonl",
        `${JSON.stringify({
          persona_id: 7,
          queries: [
            { query_id: 42, original_query: "q1" },
            { query_id: "43", original_query: "q2" },
          ],
        })}\n`,
      ),
    );
    expect(persona?.persona_id).toBe("7");
    expect(persona?.queries.map((q) => q.query_id)).toEqual(["42", "43"]);
    const [yaml] = await readAll(
      await file("numeric.yaml", "- persona_id: 8\n  queries:\n    - query_id: 1\n      original_query: q\n"),
    );
    expect(yaml?.queries[0]?.query_id).toBe("1");
  });

  it("still refuses a numeric query_id repeated as text", async () => {
    const error = await readError(
      await file(
        "dup.jsonl",
        `${JSON.stringify({
          persona_id: "d",
          queries: [
            { query_id: 1, original_query: "a" },
            { query_id: "1", original_query: "b" },
          ],
        })}\n`,
      ),
    );
    expect(error.message).toMatch(/duplicate query_id "1"/);
  });
});

describe("nothing to do", () => {
  it.each([
    ["empty.jsonl", ""],
    ["blank.jsonl", "\n\n"],
    ["comments.jsonl", "# nothing yet\n"],
    ["empty.json", "[]\n"],
    ["empty.yaml", "# only a comment\n"],
    ["list.yaml", "[]\n"],
  ])("%s: with requireAny, 'no personas in FILE'", async (name, content) => {
    const path = await file(name, content);
    expect(await readAll(path)).toEqual([]);
    const error = await readError(path, { requireAny: true });
    expect(error.message).toBe(`no personas in ${path}`);
  });

  it("an empty stream says so too", async () => {
    const error = await readError(Readable.from([]), { name: "stdin", requireAny: true });
    expect(error.message).toBe("no personas in stdin");
  });
});
