// No secret in any output: a base_url carrying a password (user:secret@host), a key-like query
// parameter and the API key itself must reach no file of the output folder, no progress line,
// no summary failure line and no stderr line — whatever the SDK's error says. The config object
// is built directly, so the load-time refusal of credentials in base_url does not stop the run.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { of } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportError } from "../../src/cli/fail.js";
import { formatProgress, type ProgressSnapshot } from "../../src/operators/progress.js";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { Persona } from "../../src/schema/persona.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

const PASSWORD = "pw-SECRET-4711";
const QUERY_TOKEN = "qt-SECRET-0815";
const API_KEY = "sk-probe-SECRET-key-99";
const KEY_ENV = "CONVOSIM_SCRUB_TEST_KEY";

/** A port nothing listens on: bound, noted, closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const persona: Persona = {
  persona_id: "p-scrub",
  persona_features: { role: "engineer" },
  queries: [{ original_query: "How do I rotate a leaked credential safely?" }],
} as Persona;

function configWith(baseUrl: string, provider = "openai") {
  const model = {
    provider,
    model: "m",
    base_url: "http://placeholder.invalid/v1",
    api_key_env: KEY_ENV,
  };
  const config = ConvosimConfig.parse({
    interaction_generation: {
      min_turns: 1,
      max_turns: 1,
      max_retries: 0,
      retry_delay: 0,
      call_retries: { count: 1, base_delay: 0.01, max_delay: 0.02 },
      assistant_model: model,
      user_model: model,
    },
  });
  // Set after validation: the schema refuses credentials in base_url, and this test is about
  // what happens when such a URL gets through anyway (a library caller, a future code path).
  const ig = config.interaction_generation;
  ig.assistant_model = { ...ig.assistant_model, base_url: baseUrl };
  ig.user_model = { ...ig.user_model, base_url: baseUrl };
  return config;
}

async function everyFileText(dir: string): Promise<string> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(
    names.filter((e) => e.isFile()).map((e) => readFile(join(e.parentPath, e.name), "utf8")),
  );
  return texts.join("\n");
}

/** Runs one conversation and returns everything a person or a file could see of it. */
async function runAndCollect(baseUrl: string, out: string, provider?: string) {
  const progress: string[] = [];
  const summary = await generate({
    config: configWith(baseUrl, provider),
    personas: of(persona),
    out,
    cache: false,
    progressIntervalMs: 5,
    onProgress: (s: ProgressSnapshot) => progress.push(formatProgress(s, 1)),
  });
  const stderr: string[] = [];
  const sink = { write: (chunk: string) => stderr.push(chunk) } as unknown as NodeJS.WritableStream;
  for (const failure of summary.failures) reportError(new Error(failure.reason), sink);
  return { summary, files: await everyFileText(out), shown: [...progress, ...stderr].join("\n") };
}

let dir: string;
let previousKey: string | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-scrub-"));
  previousKey = process.env[KEY_ENV];
  process.env[KEY_ENV] = API_KEY;
});
afterAll(async () => {
  if (previousKey === undefined) delete process.env[KEY_ENV];
  else process.env[KEY_ENV] = previousKey;
  await rm(dir, { recursive: true, force: true });
});

describe("secrets in base_url never reach an output", () => {
  it.each(["openai", "anthropic"])(
    "%s, a closed port: the failure names the host, never the password or the query token",
    async (provider) => {
      const port = await closedPort();
      const out = join(dir, `closed-${provider}`);
      const url = `http://user:${PASSWORD}@127.0.0.1:${port}/v1?api_key=${QUERY_TOKEN}`;
      const { summary, files, shown } = await runAndCollect(url, out, provider);
      expect(summary.failed).toBe(1);
      const reason = summary.failures[0]?.reason ?? "";
      expect(reason).not.toBe("");
      for (const secret of [PASSWORD, QUERY_TOKEN, API_KEY]) {
        expect(reason).not.toContain(secret);
        expect(files).not.toContain(secret);
        expect(shown).not.toContain(secret);
      }
      // Still useful: the reason says which endpoint failed, credentials masked.
      expect(reason).toContain("***@127.0.0.1");
    },
  );

  it("a server echoing the URL and the key back in its error body: both are scrubbed", async () => {
    let server: LoopbackServer | undefined;
    server = await startLoopbackServer(() => ({
      status: 400,
      body: {
        error: {
          message: `bad request to ${server?.url}/v1?token=${QUERY_TOKEN} with key ${API_KEY} as http://admin:${PASSWORD}@internal/x`,
        },
      },
    }));
    try {
      const out = join(dir, "echo");
      const { summary, files, shown } = await runAndCollect(`${server.url}/v1`, out);
      expect(server.requests.length).toBeGreaterThan(0);
      expect(summary.failed).toBe(1);
      for (const secret of [PASSWORD, QUERY_TOKEN, API_KEY]) {
        expect(files).not.toContain(secret);
        expect(shown).not.toContain(secret);
      }
      expect(summary.failures[0]?.reason).toContain("http://***@internal/x");
    } finally {
      await server.close();
    }
  });
});
