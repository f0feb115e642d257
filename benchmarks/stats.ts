// Medians and the per-trial summary every driver prints.

export interface TrialSummary {
  n: number
  medianNs: number
  meanNs: number
  minNs: number
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export function summarize(samples: readonly number[]): TrialSummary {
  return {
    n: samples.length,
    medianNs: Math.round(median(samples)),
    meanNs: Math.round(samples.reduce((a, b) => a + b, 0) / samples.length),
    minNs: Math.min(...samples),
  }
}
