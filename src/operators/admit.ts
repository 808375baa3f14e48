// Counts tasks into the backpressure window as they leave the source side, so that the
// persona reader pauses while the pipeline already holds enough work.
import { type MonoTypeOperatorFunction, tap } from "rxjs";

export interface SlotAdmitter {
  admitted(count?: number): void;
}

export function admit<T>(backpressure: SlotAdmitter): MonoTypeOperatorFunction<T> {
  return tap(() => backpressure.admitted());
}
