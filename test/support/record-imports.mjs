// Preloaded into a CLI run under test (NODE_OPTIONS=--import=<this file>): registers a module
// hook that appends the URL of every module the run loads, one per line, to the file named by
// CONVOSIM_TEST_IMPORT_LOG. ESM and the entry of every package imported from it go through the
// hook; a CommonJS package's own require()s do not, which is enough to see which packages load.
import { register } from "node:module";

register(new URL("./record-imports-hook.mjs", import.meta.url), {
  data: { log: process.env.CONVOSIM_TEST_IMPORT_LOG },
});
