// What a driver gives the timing loop for one workload: `op` is timed, `after` (optional) undoes it untimed.
// A synchronous driver returns undefined from op, so the loop never awaits (no microtask in its timings).
export interface Steps {
  op(): void | Promise<void>
  after?(): void | Promise<void>
}
