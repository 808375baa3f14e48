// The changed middle of two sequences (strings or token arrays): the common prefix and suffix
// trimmed off. Edit distances and change highlighting both start here, since noise changes little.

export interface ChangedMiddle {
  /** First index where the two differ. */
  start: number;
  /** End (exclusive) of the differing part in `a` and in `b`. */
  endA: number;
  endB: number;
}

export function changedMiddle<T>(a: ArrayLike<T>, b: ArrayLike<T>): ChangedMiddle {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  return { start, endA, endB };
}
