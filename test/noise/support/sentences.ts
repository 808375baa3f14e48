// Seeded generated user messages for calibration tests: chat-like sentences with words from the
// misspelling, confusion and textism lists, and (optionally) protected items mixed in.
import { pick, type Random, stream } from "../../../src/noise/random.js";

const OPENERS = [
  "How do I",
  "Can you help me",
  "I need to",
  "I'm trying to",
  "Could you explain how to",
  "What is the best way to",
  "Is it possible to",
  "I want to",
  "Please tell me how to",
  "Why can't I",
];
const VERBS = [
  "set up",
  "install",
  "configure",
  "write",
  "remove",
  "change",
  "fix",
  "update",
  "check",
  "schedule",
];
const OBJECTS = [
  "the database backup",
  "my email account",
  "a new user",
  "the printer",
  "their calendar",
  "a budget spreadsheet",
  "the login page",
  "my phone settings",
  "the weekly report",
  "a separate folder",
];
const TAILS = [
  "because it doesn't work anymore",
  "before the meeting tomorrow",
  "without losing any information",
  "so that people can find it",
  "and I think there is a problem with it",
  "but I really don't know where to start",
  "which is definitely necessary for work",
  "and it's probably something simple",
  "since yesterday",
  "for my team",
];
const SECOND = [
  "Thanks for your help.",
  "It worked fine last week.",
  "I already tried restarting it.",
  "Please let me know if you need more information.",
  "I don't understand what went wrong.",
  "This is really important for us.",
  "Any advice is welcome!",
  "What should I do?",
];
export const PROTECTED_ITEMS = [
  "https://example.com/docs/setup?id=42",
  "www.example.org/help",
  "bob.smith@example.com",
  "`npm run build`",
  "/var/log/syslog",
  "~/projects/app/config.yaml",
  "src/utils/parse.ts",
  "C:\\Users\\ana\\report.docx",
  "2024-03-15",
  "15/06/2024",
  "March 3rd, 2024",
  "$1,250.00",
  "€300",
  "42",
  "3.14",
  "10:30 am",
  '"permission denied"',
  "'Save as'",
  "config.yaml",
  "user_id",
];

export function sentence(random: Random, protectedItem = false): string {
  let text = `${pick(random, OPENERS)} ${pick(random, VERBS)} ${pick(random, OBJECTS)} ${pick(random, TAILS)}`;
  if (protectedItem) text += ` (see ${pick(random, PROTECTED_ITEMS)} for details)`;
  text += random() < 0.5 ? "?" : ".";
  if (random() < 0.6) text += ` ${pick(random, SECOND)}`;
  return text;
}

/** `count` messages drawn from a seeded stream. */
export function sentences(count: number, seed = 1, protectedItems = false): string[] {
  const random = stream("test-sentences", seed);
  return Array.from({ length: count }, () => sentence(random, protectedItems));
}

/** Every protected item the text contains. */
export function protectedItemsIn(text: string): string[] {
  return PROTECTED_ITEMS.filter((item) => text.includes(item));
}
