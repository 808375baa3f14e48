// `npm run schema` (and the end of `npm run build`): writes the config's JSON Schema, generated
// from the compiled zod schema, to schema/convosim.schema.json (src/config/json-schema.ts says why).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { CONFIG_SCHEMA_FILE, configJsonSchema } = await import(
  new URL("../dist/src/config/json-schema.js", import.meta.url).href
);
const target = join(root, CONFIG_SCHEMA_FILE);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, configJsonSchema());
