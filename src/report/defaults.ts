// The report's defaults, in a module that imports nothing: `convosim report --help` names them
// without loading the report's renderer.
export const DEFAULT_SAMPLE_SIZE = 200;
