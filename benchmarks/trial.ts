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

async function step(s: Steps): Promise<void> {
  const r = s.op()
  if (r) await r
  const a = s.after?.()
  if (a) await a
}

async function main(): Promise<void> {
  const [driver, workload, ...nums] = process.argv.slice(2)
  const [warmup, minIters, maxIters, budgetMs] = nums.map(Number)
  const steps = workload === 'volume-lifecycle' && driver === 'devmapper-async' ? volumeSteps() : DRIVERS[driver]?.(workload, fromEnv())
  if (!steps) {
    console.log(JSON.stringify({ unsupported: true }))
    return
  }
  const budget = BigInt(budgetMs) * 1_000_000n
  // Same policy as benchmarks/c/bench.h: warm-up by count or a fifth of the budget, at least one iteration.
  let t0 = process.hrtime.bigint()
  let i = 0
  do {
    await step(steps)
    i++
  } while (i < warmup && process.hrtime.bigint() - t0 < budget / 5n)

  const samples: number[] = []
  t0 = process.hrtime.bigint()
  while (samples.length < maxIters && (samples.length < minIters || process.hrtime.bigint() - t0 < budget)) {
    const s = process.hrtime.bigint()
    const r = steps.op()
    if (r) await r
    samples.push(Number(process.hrtime.bigint() - s))
    const a = steps.after?.()
    if (a) await a
  }
  console.log(JSON.stringify(summarize(samples)))
}

main().catch((err: Error) => {
  console.error(`trial ${process.argv.slice(2, 4).join(' ')}: ${err.stack ?? err.message}`)
  process.exitCode = 1
})
