import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { firstValueFrom, lastValueFrom, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import type { Persona } from "../../src/schema/persona.js";
import { type ReadPersonasOptions, readPersonas } from "../../src/sources/read-personas.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-personas-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const line = (id: string, query = `question from ${id}`) =>
  JSON.stringify({
    persona_id: id,
    persona_features: { role: "engineer" },
    queries: [{ original_query: query }],
  });

function readAll(
  input: Parameters<typeof readPersonas>[0],
  options?: ReadPersonasOptions,
): Promise<Persona[]> {
  return lastValueFrom(readPersonas(input, options).pipe(toArray()));
}

async function readError(input: Parameters<typeof readPersonas>[0], options?: ReadPersonasOptions) {
  const error = await readAll(input, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe("readPersonas: JSONL", () => {
  it("reads a file record by record, skipping blank and # comment lines", async () => {
    const path = await file("ok.jsonl", `# sample\n${line("p1")}\n\n${line("p2")}\r\n   \n${line("p3")}`);
    const personas = await readAll(path);
    expect(personas.map((p) => p.persona_id)).toEqual(["p1", "p2", "p3"]);
    expect(personas[0]).toEqual({
      persona_id: "p1",
      persona_features: { role: "engineer" },
      queries: [{ original_query: "question from p1" }],
    });
  });

  it("names the line of invalid JSON, after emitting the good records before it", async () => {
    const path = await file(
      "bad.jsonl",
      `${line("p1")}\n${line("p2")}\n{"persona_id": "p3",\n${line("p4")}\n`,
    );
    const seen: string[] = [];
    const error = await new Promise<unknown>((resolve) => {
      readPersonas(path).subscribe({
        next: (p) => seen.push(p.persona_id),
        error: resolve,
        complete: () => resolve(undefined),
      });
    });
    expect(seen).toEqual(["p1", "p2"]);
    expect(error).toBeInstanceOf(InputError);
    const input = error as InputError;
    expect(input.line).toBe(3);
    expect(input.format()).toMatch(/^.*bad\.jsonl line 3: invalid JSON \(.+\)$/);
  });

  it("names the line and field of a record that fails validation", async () => {
    const path = await file(
      "invalid.jsonl",
      `${line("p1")}\n${JSON.stringify({ persona_id: "p2", queries: [{ original_query: "ok" }, { original_query: "" }] })}\n`,
    );
    const error = await readError(path);
    expect(error.line).toBe(2);
    expect(error.field).toBe("queries[1].original_query");
    expect(error.message).toBe("must not be empty");
  });

  it("suggests the right key for a misspelt one", async () => {
    const path = await file("typo.jsonl", `${JSON.stringify({ persona_id: "p1", persona_feature: {} })}\n`);
    const error = await readError(path);
    expect(error.message).toBe("unknown key 'persona_feature' — did you mean 'persona_features'?");
  });

  it("accepts features as a synonym of persona_features, and numeric ids", async () => {
    const path = await file(
      "features.jsonl",
      `${JSON.stringify({ persona_id: 7, features: { role: "pm" } })}\n`,
    );
    const [persona] = await readAll(path);
    expect(persona).toEqual({ persona_id: "7", persona_features: { role: "pm" }, queries: [] });
  });

  it("rejects a duplicate persona_id, naming both lines", async () => {
    const path = await file("dup.jsonl", `${line("p1")}\n${line("p2")}\n${line("p1", "other")}\n`);
    const error = await readError(path);
    expect(error.line).toBe(3);
    expect(error.field).toBe("persona_id");
    expect(error.message).toBe('duplicate persona_id "p1" (first at line 1, again at line 3)');
  });

  it("rejects a duplicate query_id within a persona", async () => {
    const record = {
      persona_id: "p",
      queries: [
        { query_id: "a", original_query: "x" },
        { query_id: "a", original_query: "y" },
      ],
    };
    const error = await readError(await file("dupq.jsonl", `${JSON.stringify(record)}\n`));
    expect(error.field).toBe("queries[1].query_id");
  });
});

describe("readPersonas: JSON and YAML files", () => {
  it("reads a JSON array and points validation errors at the line", async () => {
    const good = await file(
      "ok.json",
      JSON.stringify([JSON.parse(line("a")), JSON.parse(line("b"))], null, 2),
    );
    expect((await readAll(good)).map((p) => p.persona_id)).toEqual(["a", "b"]);
    const bad = await file(
      "bad.json",
      '[\n  { "persona_id": "a" },\n  {\n    "persona_id": "b",\n    "queries": [ { "original_query": 5 } ]\n  }\n]\n',
    );
    const error = await readError(bad);
    expect(error.field).toBe("queries[0].original_query");
    expect(error.line).toBe(5);
    expect(error.message).toBe("expected text (got 5)");
  });

  it("reports malformed JSON with a line", async () => {
    const broken = '[\n  { "persona_id": "a" },\n  { "persona_id": "b", }\n]\n';
    const error = await readError(await file("broken.json", broken));
    expect(error.message).toMatch(/^invalid JSON \(Expected double-quoted property name/);
    expect([error.line, error.column]).toEqual([3, 24]);
    // V8 gives no position for some errors; the message still names the file.
    const other = await readError(await file("broken2.json", '[\n  { "persona_id": tru }\n]'));
    expect(other.format()).toMatch(/broken2\.json( line \d+, column \d+)?: invalid JSON/);
  });

  it("reads a YAML list, with features and comments", async () => {
    const path = await file(
      "personas.yaml",
      `# two personas\n- persona_id: y1\n  features: { role: student }\n  queries:\n    - original_query: What is a derivative?\n- persona_id: y2\n  queries: []\n`,
    );
    const personas = await readAll(path);
    expect(personas).toEqual([
      {
        persona_id: "y1",
        persona_features: { role: "student" },
        queries: [{ original_query: "What is a derivative?" }],
      },
      { persona_id: "y2", persona_features: {}, queries: [] },
    ]);
  });

  it("names the YAML line of an invalid item", async () => {
    const path = await file(
      "bad.yml",
      "- persona_id: y1\n- persona_id: y2\n  queries:\n    - adapted_query: hi\n",
    );
    const error = await readError(path);
    expect(error.field).toBe("queries[0].original_query");
    expect(error.message).toBe("is required");
    expect(error.line).toBe(4);
  });
});

describe("readPersonas: bad inputs", () => {
  it("names a missing file by its path", async () => {
    const missing = join(dir, "absent.jsonl");
    const error = await readError(missing);
    expect(error.format()).toBe(`${missing}: file not found`);
  });

  it("rejects a binary file", async () => {
    const path = await file(
      "image.jsonl",
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]),
    );
    const error = await readError(path);
    expect(error.message).toBe("does not look like a text file");
    const latin1 = await readError(await file("latin1.jsonl", Buffer.from([0x7b, 0xe9, 0xe8, 0x7d, 0x0a])));
    expect(latin1.message).toBe("does not look like a text file");
  });

  it("says when it cannot tell the format of unnamed input", async () => {
    const error = await readError(Readable.from(["hello there\n"]), { name: "stdin" });
    expect(error.format()).toMatch(/^stdin line 1: cannot tell whether this is JSONL, JSON or YAML/);
  });
});

describe("readPersonas: streams", () => {
  it("reads a stdin-like byte stream, sniffing JSONL, across chunk and UTF-8 boundaries", async () => {
    const text = `${line("p1", "café ☕ crème")}\n${line("p2")}\n`;
    const bytes = Buffer.from(text, "utf8");
    // Chunks of 7 bytes split lines and multi-byte characters.
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
    const personas = await readAll(Readable.from(chunks), { name: "stdin" });
    expect(personas.map((p) => p.queries[0]?.original_query)).toEqual(["café ☕ crème", "question from p2"]);
  });

  it("sniffs a JSON array and a YAML list on a stream, and errors name the stream", async () => {
    const json = await readAll(Readable.from([`[${line("a")},\n${line("b")}]`]));
    expect(json.map((p) => p.persona_id)).toEqual(["a", "b"]);
    const yaml = await readAll(Readable.from(["- persona_id: c\n"]));
    expect(yaml.map((p) => p.persona_id)).toEqual(["c"]);
    const error = await readError(Readable.from([`${line("a")}\nnot json\n`]), { name: "stdin" });
    expect(error.format()).toMatch(/^stdin line 2: invalid JSON/);
  });

  it("reads an async iterable of strings with an explicit format", async () => {
    async function* chunks() {
      yield `${line("x")}\n`;
      yield line("y");
    }
    const personas = await readAll(chunks(), { format: "jsonl" });
    expect(personas.map((p) => p.persona_id)).toEqual(["x", "y"]);
  });

  it("is cold: nothing is opened before subscribe, and each subscription reads again", async () => {
    const path = await file("cold.jsonl", `${line("p1")}\n`);
    const personas$ = readPersonas(path);
    expect(await readAll(path)).toHaveLength(1);
    expect((await lastValueFrom(personas$.pipe(toArray()))).length).toBe(1);
    // A missing file errors on subscribe, not on creation.
    const later = readPersonas(join(dir, "created-later.jsonl"));
    await file("created-later.jsonl", `${line("p9")}\n`);
    expect((await firstValueFrom(later)).persona_id).toBe("p9");
  });

  it("stops reading and destroys the stream on unsubscribe", async () => {
    const stream = new PassThrough();
    stream.write(`${line("p1")}\n${line("p2")}\n`);
    // The stream never ends: only unsubscribing can stop the reader.
    const first = await firstValueFrom(readPersonas(stream, { format: "jsonl" }));
    expect(first.persona_id).toBe("p1");
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.destroyed).toBe(true);
  });
});
