// The report end to end in a real browser: 30 conversations generated with the fake provider
// (a test noise hook noises some openings), the report built and opened from a file in
// headless Chromium (Debian's package, driven by playwright-core). Every network request is
// recorded and blocked; the screenshot must show a real page; the plots must be laid out; the
// filters must show exactly the conversations the data says they should.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NoiseHook } from "../../src/conversation/noise-hook.js";
import { writeReport } from "../../src/report/build.js";
import { generate } from "../../src/run/generate.js";
import { iterateInteractions } from "../../src/run/output-reader.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { Interaction } from "../../src/schema/interaction.js";
import { summariseColours } from "./png.js";

const CHROMIUM = "/usr/bin/chromium";
const XSS = '<img src=x onerror=alert(1)><script>alert("feature")</script>';

// Noises the opening of every third conversation (by a hash of its id): "How" → "hwo".
const testNoise: NoiseHook = (input) => {
  const hash = [...input.interaction_id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  if (!input.is_initial || hash % 3 !== 0) return { text: input.text, applied: false };
  const text = input.text.replace(/^How/, "hwo");
  return {
    text,
    applied: text !== input.text,
    details: {
      layer: "surface_noise",
      layers: ["L1_spelling"],
      applied_strategies: ["transposition"],
      edits: [],
    },
  };
};

function personas(): string {
  const topics = ["organise a team", "bake bread", "learn Rust", "plan a trip", "fix a leaking tap"];
  return Array.from({ length: 10 }, (_, p) =>
    JSON.stringify({
      persona_id: `persona_${p}`,
      persona_features: {
        role: p % 2 ? "engineer" : "teacher",
        tech_proficiency: ["beginner", "intermediate", "expert"][p % 3],
        ...(p === 3 ? { motto: XSS } : {}),
      },
      queries: [0, 1, 2].map((q) => ({
        original_query: `How do I ${topics[(p + q) % topics.length]} with ${q + 2} people?`,
      })),
    }),
  ).join("\n");
}

let dir: string;
let reportUrl: string;
let data: Interaction[];
let browser: Browser;
let page: Page;
const requests: string[] = [];
const dialogs: string[] = [];
const errors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: the report's browser test needs Debian's chromium. Install it with scripts/setup-chromium.sh (as root).`,
    );
  dir = await mkdtemp(join(tmpdir(), "convosim-report-browser-"));
  const personaFile = join(dir, "personas.jsonl");
  await writeFile(personaFile, personas());
  const config = ConvosimConfig.parse({
    interaction_generation: {
      min_turns: 1,
      max_turns: 3,
      max_workers: 4,
      seed: 3,
      assistant_model: {
        provider: "fake",
        model: "fake-a",
        model_pool: [
          { provider: "fake", model: "fake-a", weight: 1 },
          { provider: "fake", model: "fake-b", weight: 1 },
        ],
      },
      user_model: { provider: "fake", model: "fake-user" },
    },
  });
  const out = join(dir, "run");
  await generate({ config, personas: personaFile, out, cache: false, noise: testNoise });
  data = [];
  for await (const interaction of iterateInteractions(out)) data.push(interaction);
  const file = join(dir, "report.html");
  await writeReport(out, file);
  reportUrl = pathToFileURL(file).href;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  // Record every request the page makes; let only the report itself through.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    requests.push(url);
    return url === reportUrl ? route.continue() : route.abort();
  });
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(reportUrl, { waitUntil: "load" });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const shown = async () => Number(await page.locator("#shown-count").textContent());
const visible = () => page.locator("#conversation-list > details.conv:not([hidden])").count();

async function expectShown(expected: number): Promise<void> {
  expect(await shown()).toBe(expected);
  expect(await visible()).toBe(expected);
}

describe("the report in headless Chromium", { timeout: 60_000 }, () => {
  it("had 30 conversations to show, some noised, over two models and more than one stop reason", () => {
    expect(data).toHaveLength(30);
    const noised = data.filter((i) => i.metadata.distractor_applied).length;
    expect(noised).toBeGreaterThan(0);
    expect(noised).toBeLessThan(30);
    expect(new Set(data.map((i) => i.metadata.assistant_model.model))).toEqual(new Set(["fake-a", "fake-b"]));
    expect(new Set(data.map((i) => i.metadata.stop_reason)).size).toBeGreaterThan(1);
  });

  it("loads from the file alone: no other request, no script error, no injected dialog", async () => {
    expect(requests).toEqual([reportUrl]);
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
  });

  it("renders at least three plots with real size, and a screenshot that is not blank", async () => {
    const boxes = await page.$$eval("svg.chart", (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        return { width: box.width, height: box.height, shapes: svg.querySelectorAll("rect").length };
      }),
    );
    expect(boxes.length).toBeGreaterThanOrEqual(3);
    for (const box of boxes) {
      expect(box.width).toBeGreaterThan(100);
      expect(box.height).toBeGreaterThan(50);
      expect(box.shapes).toBeGreaterThan(0);
    }
    const png = await page.screenshot({ path: join(dir, "report.png") });
    expect(png.length).toBeGreaterThan(20_000);
    const colours = summariseColours(png);
    expect(colours.width).toBe(1400);
    expect(colours.distinctColours).toBeGreaterThan(20);
    expect(colours.dominantShare).toBeLessThan(0.97);
  });

  it("filters by stop reason, model, noise and persona feature to the counts the data gives", async () => {
    await expectShown(30);
    const reasons = [...new Set(data.map((i) => i.metadata.stop_reason))].sort();
    for (const reason of reasons) {
      await page.selectOption("#f-stop", reason);
      await expectShown(data.filter((i) => i.metadata.stop_reason === reason).length);
    }
    await page.click("#f-reset");
    await expectShown(30);

    await page.selectOption("#f-model", "fake/fake-b");
    const b = data.filter((i) => i.metadata.assistant_model.model === "fake-b");
    await expectShown(b.length);
    await page.selectOption("#f-noise", "noised");
    await expectShown(b.filter((i) => i.metadata.distractor_applied).length);
    await page.selectOption("#f-model", "");
    await expectShown(data.filter((i) => i.metadata.distractor_applied).length);
    await page.selectOption("#f-noise", "clean");
    await expectShown(data.filter((i) => !i.metadata.distractor_applied).length);
    await page.click("#f-reset");

    await page.selectOption("#f-feature", { label: "role = teacher" });
    await expectShown(data.filter((i) => i.persona_features.role === "teacher").length);
    await page.selectOption("#f-feature", { label: "tech_proficiency = expert" });
    await expectShown(data.filter((i) => i.persona_features.tech_proficiency === "expert").length);
    await page.click("#f-reset");

    const one = data[7]?.interaction_id ?? "";
    await page.fill("#f-text", one);
    await expectShown(1);
    await page.click("#f-reset");
    await expectShown(30);
  });

  it("shows a noised opening clean and noisy side by side, and hostile text as text", async () => {
    const noised = data.find((i) => i.metadata.distractor_applied);
    const opening = noised?.messages[0];
    expect(opening?.metadata.clean_content).toBeTypeOf("string");
    await page.selectOption("#f-noise", "noised");
    await page.click("#f-expand");
    const conversation = page.locator("details.conv", { hasText: noised?.interaction_id ?? "" });
    expect(await conversation.locator(".text.clean").first().textContent()).toBe(
      opening?.metadata.clean_content,
    );
    expect(await conversation.locator(".text.noisy").first().textContent()).toBe(opening?.content);
    expect(await conversation.locator(".text.noisy mark").first().textContent()).toBe("hwo");

    await page.click("#f-reset");
    await page.selectOption("#f-feature", { label: "role = engineer" });
    await page.click("#f-expand");
    const hostile = page.locator("details.conv", { hasText: "persona_3" }).first();
    expect(await hostile.locator(".meta").textContent()).toContain(XSS);
    expect(dialogs).toEqual([]);
    expect(requests).toEqual([reportUrl]);
  });
});
