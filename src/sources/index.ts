// Sources: personas from files, stdin and streams (with backpressure); tasks with stable ids.
export { Backpressure } from "./backpressure.js";
export { formatFromPath, PERSONA_FORMATS, type PersonaFormat, type PersonaInputSource } from "./open.js";
export { type ReadPersonasOptions, readPersonas } from "./read-personas.js";
export { samplePersonas, samplePersonasPath } from "./samples.js";
export {
  derivedQueryId,
  interactionId,
  personaTasks,
  queryIds,
  quotaShortfall,
  safeId,
  type ToTasksOptions,
  taskSeed,
  toTasks,
} from "./tasks.js";
