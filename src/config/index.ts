// Configuration: loading, validation errors that name the field, model_pool weights.
export { InputError, type InputErrorDetails, isInputError } from "./errors.js";
export { describeValue, type Problem, problemsToInputError, zodErrorToInputError } from "./issues.js";
export { COMMAND_LINE, type ConfigOverrides, loadConfig, MAX_CONFIG_BYTES } from "./load.js";
export { assertModelBlocks } from "./model-blocks.js";
export { normalisePoolWeights } from "./pool.js";
export { closestMatch } from "./suggest.js";
export { parseYaml } from "./yaml.js";
