// The reference's output layout as a sink: DIR/interactions/<id>.json per interaction,
// DIR/failures.ndjson, DIR/usage.ndjson and DIR/index.json — all through InteractionStorage.
import type { OperatorFunction } from "rxjs";
import type { ConversationResult } from "../schema/interaction.js";
import { InteractionStorage, type InteractionStorageOptions } from "./interaction-storage.js";
import { type PersistOptions, persistEach } from "./persist.js";

export interface FilesSinkOptions extends InteractionStorageOptions, PersistOptions {}

/**
 * Saves each result (an interaction file, or a failures.ndjson line; each preceded by its
 * usage.ndjson line) and re-emits it once written. Completion waits for the final index.
 *
 * Given a directory, the sink owns its storage: one per subscription, closed at the end.
 * Given an InteractionStorage, the caller owns it: the sink flushes the index at the end but
 * leaves the storage open (close it yourself).
 */
export function filesSink(
  target: string | InteractionStorage,
  options: FilesSinkOptions = {},
): OperatorFunction<ConversationResult, ConversationResult> {
  return persistEach<ConversationResult>(
    () => {
      const owned = typeof target === "string";
      const storage = owned ? new InteractionStorage(target, options) : target;
      return {
        write: async (result) => {
          if (result.kind === "interaction") await storage.save(result.interaction);
          else await storage.saveFailure(result.failure);
        },
        close: () => (owned ? storage.close() : storage.flush()),
      };
    },
    // Distinct interaction files are written side by side; a few are enough to hide latency
    // without crowding libuv's four threads (which DNS lookups for API calls also use).
    { concurrency: options.concurrency ?? 16 },
  );
}
