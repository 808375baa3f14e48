// The config's JSON Schema, generated from the zod schema (the one source of truth), so editors
// with the YAML language server complete keys, show each key's doc and flag a wrong value
// while the file is written. `npm run schema` (also part of `npm run build`) writes it to
// schema/convosim.schema.json, which the package ships; a test keeps the committed file equal
// to what this generates.
import { z } from "zod";
import { ConvosimConfig } from "../schema/config.js";

/** Where the schema lives inside the package. */
export const CONFIG_SCHEMA_FILE = "schema/convosim.schema.json";

/** The schema's path from a project folder where convosim is installed with npm. */
export const CONFIG_SCHEMA_RELATIVE_PATH = `./node_modules/convosim/${CONFIG_SCHEMA_FILE}`;

/** The first line of a config that editors with the YAML language server read (`convosim init` writes it). */
export const CONFIG_SCHEMA_MODELINE = `# yaml-language-server: $schema=${CONFIG_SCHEMA_RELATIVE_PATH}`;

/** The JSON Schema text, as written to CONFIG_SCHEMA_FILE (stable: same input, same bytes). */
export function configJsonSchema(): string {
  // "input": what a person writes — keys with defaults are optional, as the loader treats them.
  const schema = z.toJSONSchema(ConvosimConfig, { io: "input", unrepresentable: "any" });
  const titled = {
    $schema: schema.$schema,
    title: "convosim configuration",
    description:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config syntax, described here
      "A convosim config file (docs/configuration.md). Values may use ${VAR} or ${VAR:-default}; API keys never go in the file.",
    ...schema,
  };
  return `${JSON.stringify(titled, null, 2)}\n`;
}
