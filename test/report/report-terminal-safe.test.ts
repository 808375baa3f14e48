// The HTML report is a file people also `cat`, `less` or `grep` in a terminal: conversation text,
// persona features and model names holding terminal escapes must not reach it raw. The page shows
// them as visible escapes; the JSON the page reads back parses to the exact text.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport } from "../../src/report/build.js";
import { escapeHtml, jsonForScript } from "../../src/report/escape.js";
import { assistantMessage, makeInteraction, tempDir, userMessage, writeRun } from "../run/stats-fixtures.js";

const CLEAR = "\x1b[2J";
const TITLE = "\x1b]0;pwned\x07";
const C1_CSI = "\x9b31m";
const RLO = "\u202e";
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe("report escaping", () => {
  it("escapeHtml shows terminal controls as visible escapes, after escaping HTML", () => {
    expect(escapeHtml(`<b>${CLEAR}</b>${C1_CSI}${RLO}`)).toBe("&lt;b&gt;\\x1b[2J&lt;/b&gt;\\x9b31m\\u{202e}");
  });

  it("jsonForScript leaves no raw control character and parses back to the exact text", () => {
    const value = { text: `${CLEAR}${TITLE}${C1_CSI}${RLO}</script>` };
    const json = jsonForScript(value);
    expect(json).not.toMatch(RAW);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe("a report on a folder with escapes everywhere", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("convosim-report-escapes-"));
    await writeRun(dir, [
      makeInteraction({
        id: "i1",
        persona: `p${TITLE}`,
        features: { role: `eng${C1_CSI}`, nickname: `a${RLO}b` },
        assistant: { provider: "openai", model: `gpt${CLEAR}` },
        messages: [userMessage(`how ${CLEAR}${TITLE}`), assistantMessage(`answer ${TITLE}${C1_CSI}${RLO}`)],
      }),
    ]);
  });
  afterAll(async () => cleanup());

  it("holds no raw terminal control in the whole HTML file", async () => {
    const report = await buildReport(dir);
    expect(report.html).not.toMatch(RAW);
    expect(report.html).toContain("gpt\\x1b[2J");
  });
});
