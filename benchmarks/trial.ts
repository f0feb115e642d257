// One trial in its own process (run by benchmarks/guest.ts): node build/benchmarks/trial.js <driver> <workload>
// <warmup> <minIters> <maxIters> <budgetMs>. Prints one JSON line, the same shape as the C drivers print.
import { asyncSteps, nativeSyncSteps, syncInPromiseSteps, syncSteps } from './drivers/devmapper'
import { dmsetupSteps } from './drivers/dmsetup'
import { volumeSteps } from './drivers/volumes'
import type { Steps } from './drivers/types'
import { fromEnv } from './fixtures'
import { summarize } from './stats'

const DRIVERS: Record<string, (workload: string, fx: ReturnType<typeof fromEnv>) => Steps | undefined> = {
  'devmapper-async': asyncSteps,
  'devmapper-sync': syncSteps,
  'sync-in-promise': syncInPromiseSteps,
  'native-sync': nativeSyncSteps,
  dmsetup: dmsetupSteps,
}

/** A batch lasts about this long: one clock read (~17 us in the guest, no vDSO) is then under 1% of it. */
const BATCH_NS = 5_000_000

async function main(): Promise<void> {
  const [driver, workload, ...nums] = process.argv.slice(2)
  const [warmup, minIters, maxIters, budgetMs] = nums.map(Number)
  const steps = workload === 'volume-lifecycle' && driver === 'devmapper-async' ? volumeSteps() : DRIVERS[driver]?.(workload, fromEnv())
  if (!steps) {
    console.log(JSON.stringify({ unsupported: true }))
    return
  }
  const budget = budgetMs * 1e6
  const now = (): number => Number(process.hrtime.bigint())
  // Same policy as benchmarks/c/bench.h: warm-up by count or a fifth of the budget, at least one iteration;
  // it also sizes the batch. Then batches, one clock read each, until maxIters or the budget.
  let t0 = now()
  let t = t0
  let i = 0
  do {
    const r = steps.op(0)
    if (r) await r
    const a = steps.after?.(1)
    if (a) await a
    i++
    t = now()
  } while (i < warmup && t - t0 < budget / 5)
  const per = (t - t0) / i
  let batch = per >= BATCH_NS ? 1 : Math.floor(BATCH_NS / Math.max(per, 1))
  if (steps.maxBatch) batch = Math.min(batch, steps.maxBatch)

  const samples: number[] = []
  let iters = 0
  t0 = now()
  let prev = t0
  while (iters < maxIters && (iters < minIters || prev - t0 < budget)) {
    const b = Math.min(batch, maxIters - iters)
    for (let k = 0; k < b; k++) {
      const r = steps.op(k)
      if (r) await r
    }
    t = now()
    samples.push((t - prev) / b)
    iters += b
    prev = t
    if (steps.after) {
      const a = steps.after(b)
      if (a) await a
      prev = now() // the untimed undo is left out of the next batch
    }
  }
  console.log(JSON.stringify(summarize(samples, iters, batch)))
}

main().catch((err: Error) => {
  console.error(`trial ${process.argv.slice(2, 4).join(' ')}: ${err.stack ?? err.message}`)
  process.exitCode = 1
})
