// The one shape every sink shares: persist each value, re-emit it only once it is written
// (so a downstream "done" count never runs ahead of the disk), complete only after the final
// flush, and close files on error or unsubscribe too.
import {
  catchError,
  concatWith,
  defer,
  finalize,
  from,
  ignoreElements,
  map,
  mergeMap,
  type Observable,
  type OperatorFunction,
  throwError,
} from "rxjs";

export interface Persister<T> {
  /** Resolves once `value` is durably written. Called concurrently; the persister serialises per file. */
  write(value: T): Promise<void>;
  /** Waits for writes in flight, flushes, releases handles. Must be idempotent. */
  close(): Promise<void>;
}

export interface PersistOptions {
  /** Writes in flight at once (distinct files may be written side by side). */
  concurrency?: number;
}

/**
 * Builds a sink operator. `open` runs once per subscription (no work before subscribe), so one
 * sink value can be reused in several pipelines, each with its own files and state.
 *
 * Order: values whose writes go through one serial queue (an NDJSON file) come out in arrival
 * order; writes to distinct files (one file per interaction) may finish, and so re-emit, out
 * of order.
 */
export function persistEach<T>(
  open: () => Persister<T>,
  options: PersistOptions = {},
): OperatorFunction<T, T> {
  const concurrency = options.concurrency ?? 64;
  return (source: Observable<T>) =>
    defer(() => {
      const persister = open();
      let closing: Promise<void> | undefined;
      const close = (): Promise<void> => {
        closing ??= persister.close();
        return closing;
      };
      return source.pipe(
        mergeMap((value) => from(persister.write(value)).pipe(map(() => value)), concurrency),
        // Completion waits for the final flush (index, file handles) …
        concatWith(defer(() => from(close())).pipe(ignoreElements())),
        // … and so does an error, so files are consistent when the error reaches the caller.
        catchError((error: unknown) =>
          from(close().catch(() => undefined)).pipe(mergeMap(() => throwError(() => error))),
        ),
        // Unsubscribe cannot wait; closing still runs to the end in the background, and the
        // persister finishes any write already handed to it before it closes the file.
        finalize(() => {
          void close().catch(() => undefined);
        }),
      );
    });
}
