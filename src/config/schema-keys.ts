// Walks a zod schema to answer "which keys are allowed here?" and "where else does this key
// live?", so that an unknown key can be answered with the closest known key, or with the
// place it belongs (`min_turns` at the top level → `interaction_generation.min_turns`).
// Only the wrapper kinds our schemas use are unwrapped; anything else ends the walk.
import type { z } from "zod";

type Schema = z.core.$ZodType;
type PathKey = PropertyKey;

/** Strips optional/default/prefault/nullable/pipe wrappers down to the schema that holds the shape. */
function unwrap(schema: Schema): Schema {
  let current = schema;
  for (let depth = 0; depth < 20; depth++) {
    const def = current._zod.def;
    switch (def.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "readonly":
      case "catch":
        current = (def as z.core.$ZodOptionalDef).innerType;
        break;
      case "pipe":
        // A transform pipeline validates its input side; that is where the keys are.
        current = (def as z.core.$ZodPipeDef).in;
        break;
      default:
        return current;
    }
  }
  return current;
}

function objectShape(schema: Schema): Record<string, Schema> | undefined {
  const inner = unwrap(schema);
  if (inner._zod.def.type !== "object") return undefined;
  return (inner._zod.def as z.core.$ZodObjectDef).shape;
}

/** The schema of one child: an object's key, an array's element, a record's value. */
function child(schema: Schema, key: PathKey): Schema | undefined {
  const inner = unwrap(schema);
  const def = inner._zod.def;
  if (def.type === "object") return (def as z.core.$ZodObjectDef).shape[String(key)];
  if (def.type === "array") return (def as z.core.$ZodArrayDef).element;
  if (def.type === "record") return (def as z.core.$ZodRecordDef).valueType;
  return undefined;
}

export function schemaAt(schema: Schema, path: readonly PathKey[]): Schema | undefined {
  let current: Schema | undefined = schema;
  for (const key of path) {
    if (!current) return undefined;
    current = child(current, key);
  }
  return current;
}

/** The keys an object at `path` accepts, or undefined when `path` is not an object. */
export function knownKeysAt(schema: Schema, path: readonly PathKey[]): string[] | undefined {
  const at = schemaAt(schema, path);
  const shape = at ? objectShape(at) : undefined;
  return shape ? Object.keys(shape) : undefined;
}

/**
 * Every object path (as key lists) under which `key` is a known key, breadth first, so the
 * shallowest placement comes first. Arrays are entered as index 0.
 */
export function pathsDefiningKey(schema: Schema, key: string, maxDepth = 4): PathKey[][] {
  const found: PathKey[][] = [];
  let frontier: Array<{ path: PathKey[]; schema: Schema }> = [{ path: [], schema }];
  for (let depth = 0; depth <= maxDepth && frontier.length > 0; depth++) {
    const next: typeof frontier = [];
    for (const node of frontier) {
      const inner = unwrap(node.schema);
      const def = inner._zod.def;
      if (def.type === "object") {
        const shape = (def as z.core.$ZodObjectDef).shape;
        if (key in shape) found.push(node.path);
        for (const [name, value] of Object.entries(shape))
          next.push({ path: [...node.path, name], schema: value });
      } else if (def.type === "array") {
        next.push({ path: [...node.path, 0], schema: (def as z.core.$ZodArrayDef).element });
      }
    }
    frontier = next;
  }
  return found;
}

/** `interaction_generation.assistant_model.model_pool[2].weight`; odd keys are quoted. */
export function formatPath(path: readonly PathKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(key)))
      out += out === "" ? String(key) : `.${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}
