// Counts tasks into the backpressure window as they leave the source side, so that the
// persona reader pauses while the pipeline already holds enough work. After the stop signal
// (a first Ctrl-C) nothing more is admitted: a task still on its way is dropped here, uncounted.
import { filter, type MonoTypeOperatorFunction, tap } from "rxjs";

export interface SlotAdmitter {
  admitted(count?: number): void;
}

export function admit<T>(backpressure: SlotAdmitter, stopSignal?: AbortSignal): MonoTypeOperatorFunction<T> {
  const count = tap<T>(() => backpressure.admitted());
  if (!stopSignal) return count;
  return (source) =>
    source.pipe(
      filter(() => !stopSignal.aborted),
      count,
    );
}
