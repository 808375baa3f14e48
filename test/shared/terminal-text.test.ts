// Terminal escapes from personas, queries and model output are shown, never acted on.
import { describe, expect, it } from "vitest";
import { terminalJson, terminalLine, terminalText } from "../../src/shared/terminal-text.js";

/** Anything a terminal would act on: C0 except \n and \t, DEL, C1, bidi overrides and isolates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe("terminalText", () => {
  it.each<[string, string, string]>([
    ["clear screen", "a\x1b[2Jb", "a\\x1b[2Jb"],
    ["OSC title ended by BEL", "\x1b]0;pwned\x07x", "\\x1b]0;pwned\\x07x"],
    ["C1 CSI", "a\x9b31mb", "a\\x9b31mb"],
    ["carriage return (overwrites the line)", "ok\rFAKE", "ok\\x0dFAKE"],
    ["NUL and DEL", "\x00\x7f", "\\x00\\x7f"],
    ["right-to-left override", "abc\u202Egnp.exe", "abc\\u{202e}gnp.exe"],
    ["first strong isolate", "\u2068x\u2069", "\\u{2068}x\\u{2069}"],
  ])("%s", (_name, input, shown) => {
    expect(terminalText(input)).toBe(shown);
    expect(terminalText(input)).not.toMatch(ACTIVE);
  });

  it("keeps newlines, tabs, accents, emoji and other scripts as they are", () => {
    const text = "line one\n\tcafé — naïve 日本語 🙂 עברית";
    expect(terminalText(text)).toBe(text);
  });

  it("makes every one of the 65 C0/C1 controls and DEL visible, except \\n and \\t", () => {
    const all = Array.from({ length: 0xa0 }, (_, code) => String.fromCharCode(code)).join("");
    const shown = terminalText(all);
    expect(shown.replace(/[\n\t]/g, "")).not.toMatch(ACTIVE);
    expect(shown).toContain("\n");
    expect(shown).toContain("\t");
  });
});

describe("terminalLine", () => {
  it("also escapes newlines and tabs, so a failure reason or a persona id stays on one line", () => {
    expect(terminalLine("a\nb\tc\x1b[2J")).toBe("a\\nb\\tc\\x1b[2J");
  });
});

describe("terminalJson", () => {
  it("writes what JSON.stringify leaves raw (DEL, C1, bidi overrides) as \\u escapes: harmless, equal once parsed", () => {
    const value = { text: "a\x1b[2J b\x9b31m c\u202e d\x7f", nested: ["\x85\u2066"] };
    const json = terminalJson(JSON.stringify(value));
    expect(json).not.toMatch(ACTIVE);
    expect(json).toContain("\\u009b");
    expect(JSON.parse(json)).toEqual(value);
  });

  it("leaves JSON without such characters as it is", () => {
    const json = JSON.stringify({ text: "café 日本語 🙂", n: 1 });
    expect(terminalJson(json)).toBe(json);
  });
});
