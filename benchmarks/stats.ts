// Medians and the per-trial summary every driver prints.

export interface TrialSummary {
  /** iterations timed */
  n: number
  /** batches timed, and iterations per batch (one clock read per batch) */
  batches?: number
  batch?: number
  /** median over batches of a batch's time per iteration */
  medianNs: number
  meanNs: number
  minNs: number
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** `samples`: per-iteration times of each batch; `n` iterations in batches of `batch`. */
export function summarize(samples: readonly number[], n: number, batch: number): TrialSummary {
  return {
    n,
    batches: samples.length,
    batch,
    medianNs: Math.round(median(samples)),
    meanNs: Math.round(samples.reduce((a, b) => a + b, 0) / samples.length),
    minNs: Math.round(Math.min(...samples)),
  }
}
