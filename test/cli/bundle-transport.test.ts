// The bundle's undici (scripts/bundle-cli.mjs, leanUndici): the lean transport there loads
// undici's agents and request API only, and the rest of undici on a first fetch of a rare shape.
// Checked on the bundle itself: a generate run through HTTP_PROXY (EnvHttpProxyAgent), and the
// bundled transport's fallback fetch (a Blob body) against a loopback server.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { requireBuild, runCli } from "../support/cli.js";
import { ROOT } from "../support/dist-freshness.js";
import { type LoopbackProxy, startLoopbackProxy } from "../support/loopback-proxy.js";

let dir: string;
let standIn: StandInServer;
let proxy: LoopbackProxy;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-bundle-transport-"));
  standIn = await startStandInServer();
  proxy = await startLoopbackProxy();
});
afterAll(async () => {
  await proxy?.close();
  await standIn?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The bundle's chunk holding src/providers/transport.ts (dist/cli/chunks.json). */
async function transportChunk(): Promise<string> {
  const chunks = JSON.parse(await readFile(join(ROOT, "dist/cli/chunks.json"), "utf8")) as Record<
    string,
    string[]
  >;
  const name = Object.keys(chunks).find((chunk) =>
    chunks[chunk]?.includes("dist/src/providers/transport.js"),
  );
  if (!name) throw new Error("no chunk holds dist/src/providers/transport.js: rebuild");
  return join(ROOT, "dist/cli", name);
}

describe("the bundled CLI's undici", () => {
  it("a generate run goes through HTTP_PROXY", async () => {
    expect(existsSync(join(ROOT, "dist/cli/main.js"))).toBe(true); // bin/convosim starts the bundle
    const config = join(dir, "config.yaml");
    const model = `{provider: openai, model: stand-in, base_url: "${standIn.url}"}`;
    await writeFile(
      config,
      `interaction_generation:\n  min_turns: 1\n  max_turns: 1\n  assistant_model: ${model}\n  user_model: ${model}\n`,
    );
    const { CONVOSIM_UNBUNDLED: _, NO_PROXY: __, no_proxy: ___, ...env } = process.env;
    const result = await runCli(
      ["generate", "-c", config, "--out", join(dir, "out"), "--limit", "1", "--no-cache", "--quiet"],
      { env: { ...env, HTTP_PROXY: proxy.url, OPENAI_API_KEY: "sk-test" } },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(proxy.forwarded.length).toBeGreaterThan(0);
    expect(proxy.forwarded.every((url) => url.startsWith(standIn.url))).toBe(true);
  });

  it("a request of a rare shape (a Blob body) falls back to undici's fetch, loaded then", async () => {
    let received = "";
    const server: Server = createServer((req, res) => {
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        received += chunk;
      });
      req.on("end", () => res.end("ok"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { sharedLeanTransport } = (await import(await transportChunk())) as {
      sharedLeanTransport: () => { fetch: typeof fetch; close(): Promise<void> };
    };
    const transport = sharedLeanTransport();
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const response = await transport.fetch(url, { method: "POST", body: new Blob(["blob body"]) });
      expect(await response.text()).toBe("ok");
      expect(received).toBe("blob body");
    } finally {
      await transport.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
