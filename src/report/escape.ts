// Escaping for the report: every piece of text that reaches the page goes through one of
// these. Conversation text is untrusted (a user message may well contain "<script>").
// The file is also read in terminals (cat, less, grep): no terminal control reaches it raw.
import { terminalJson, terminalText } from "../shared/terminal-text.js";

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Text for element content or a quoted attribute value (HTML and inline SVG alike). Terminal
 * controls and bidi overrides are shown as visible escapes (`\x1b`), as `convosim show` does.
 */
export function escapeHtml(text: string): string {
  return terminalText(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * JSON for a `<script type="application/json">` block. "<", ">" and "&" become \u escapes so
 * no "</script>" or "<!--" can end or confuse the block; U+2028/2029 too, for old parsers.
 * JSON.parse restores the exact text.
 */
export function jsonForScript(value: unknown): string {
  // terminalJson: C1 controls and bidi overrides as \u escapes too (JSON.stringify escapes C0).
  return terminalJson(JSON.stringify(value))
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Shortens a label for a chart axis; the full text goes into a <title> tooltip. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
