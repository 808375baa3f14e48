// Configuration: loading, validation errors that name the field, model_pool weights.

export { applyEndpointEnvironment, ENDPOINT_VARIABLES } from "./endpoint-env.js";
export { loadEnvFile } from "./env-file.js";
export { InputError, type InputErrorDetails, isInputError } from "./errors.js";
export { describeValue, type Problem, problemsToInputError, zodErrorToInputError } from "./issues.js";
export {
  CONFIG_SCHEMA_FILE,
  CONFIG_SCHEMA_MODELINE,
  CONFIG_SCHEMA_RELATIVE_PATH,
  configJsonSchema,
} from "./json-schema.js";
export { COMMAND_LINE, type ConfigOverrides, loadConfig, MAX_CONFIG_BYTES } from "./load.js";
export { assertModelBlocks } from "./model-blocks.js";
export { normalisePoolWeights } from "./pool.js";
export { closestMatch } from "./suggest.js";
export { parseYaml } from "./yaml.js";
