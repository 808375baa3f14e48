import { describe, expect, it } from "vitest";
import { protectedSpans } from "../../src/noise/protect.js";

const spans = (text: string) => protectedSpans(text).map((s) => [s.kind, text.slice(s.start, s.end)]);

describe("protectedSpans", () => {
  it("finds URLs, emails and paths without the sentence's own punctuation", () => {
    expect(
      spans(
        "See https://example.com/a?b=1. Mail bob.smith@corp.io about /var/log/app.log, or C:\\Users\\me\\x.txt",
      ),
    ).toEqual([
      ["url", "https://example.com/a?b=1"],
      ["email", "bob.smith@corp.io"],
      ["path", "/var/log/app.log"],
      ["path", "C:\\Users\\me\\x.txt"],
    ]);
    expect(spans("edit src/index.ts and node_modules/ on origin/main but not and/or")).toEqual([
      ["path", "src/index.ts"],
      ["path", "node_modules/"],
      ["path", "origin/main"],
    ]);
  });

  it("finds money, dates, times and numbers with their units", () => {
    expect(
      spans("It costs $1,200.50 or 30 USD on 2024-03-15 at 10:30 am, March 3rd, 2024 and 15/01/2024."),
    ).toEqual([
      ["money", "$1,200.50"],
      ["money", "30 USD"],
      ["date", "2024-03-15"],
      ["time", "10:30 am"],
      ["date", "March 3rd, 2024"],
      ["date", "15/01/2024"],
    ]);
    expect(spans("took 50ms, 3.5GB and 50% at 3pm")).toEqual([
      ["number", "50ms"],
      ["number", "3.5GB"],
      ["number", "50%"],
      ["time", "3pm"],
    ]);
  });

  it("finds code, quotes and identifiers but leaves apostrophes alone", () => {
    const text =
      "Run `npm test` then ```js\nx()\n``` with my_var, fooBar and os.path.join() — she said \"don't\", it's 'quoted'";
    expect(spans(text)).toEqual([
      ["inline_code", "`npm test`"],
      ["code_block", "```js\nx()\n```"],
      ["identifier", "my_var"],
      ["identifier", "fooBar"],
      ["identifier", "os.path.join()"],
      ["quoted", '"don\'t"'],
      ["quoted", "'quoted'"],
    ]);
    expect(spans("I don't think it's John's")).toEqual([]);
  });

  it("protects an unterminated code fence to the end", () => {
    expect(spans("fix this ```\nconst a = 1")).toEqual([["code_block", "```\nconst a = 1"]]);
  });
});
