// What a driver gives the timing loop for one workload: `op(k)` is timed (k: its index in the current batch);
// `after(count)` (optional) runs untimed after each batch of `count` iterations and undoes them; `maxBatch` caps
// a batch when `after` must undo iterations one by one (snapshot ids). A synchronous driver returns undefined
// from op, so the loop never awaits (no microtask in its timings).
export interface Steps {
  op(k: number): void | Promise<void>
  after?(count: number): void | Promise<void>
  maxBatch?: number
}
