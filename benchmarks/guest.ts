// Runs inside the sandbox guest (benchmarks/run.ts boots it): makes the fixtures, runs every (workload,
// driver) trial in its own process – in rounds, each round in a rotated driver order, so slow drift in the
// guest and after-effects of the previous trial spread over all drivers alike. The memory check runs first
// (with 100 devices present); everything is written as JSON to $BENCH_OUT on the host's filesystem.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { DeviceMapper } from '../ts'
import { fill, reset, setUp, tearDown, toEnv } from './fixtures'
import type { TrialSummary } from './stats'
import { FILL_COUNT, WORKLOADS, type DriverName, type Policy } from './workloads'

const HERE = __dirname // build/benchmarks
const BIN = join(HERE, 'bin')

export interface RawResults {
  kernelRelease: string
  interfaceVersion: string
  node: string
  trialsPerCell: number
  durationMs: number
  workloads: { name: string; trials: Partial<Record<DriverName, TrialSummary[]>> }[]
  memory: Record<string, unknown>[]
}

function log(s: string): void {
  process.stderr.write(`bench: ${s}\n`)
}

function trialCommand(driver: DriverName, args: string[]): [string, string[]] {
  if (driver === 'raw-c') return [join(BIN, 'raw'), args]
  if (driver === 'libdm') return [join(BIN, 'libdm'), args]
  return [process.execPath, [join(HERE, 'trial.js'), driver, ...args]]
}

function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv, what: string): Record<string, unknown> {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 })
  const line = r.stdout?.trim().split('\n').pop() ?? ''
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${what} failed (status ${r.status}): ${r.stdout}`)
  return JSON.parse(line) as Record<string, unknown>
}

function quickPolicy(p: Policy): Policy {
  return { warmup: Math.ceil(p.warmup / 5), minIters: Math.min(p.minIters, 5), maxIters: Math.ceil(p.maxIters / 5), budgetMs: Math.ceil(p.budgetMs / 5) }
}

function main(): void {
  const out = process.env.BENCH_OUT
  if (!out) throw new Error('BENCH_OUT is not set')
  const trials = Number(process.env.BENCH_TRIALS ?? 3)
  const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',') : undefined
  const quick = process.env.BENCH_QUICK === '1'
  const drivers = process.env.BENCH_DRIVERS ? process.env.BENCH_DRIVERS.split(',') : undefined
  const wanted = (d: DriverName): boolean => (drivers ? drivers.includes(d) : !(quick && d === 'dmsetup'))
  const started = Date.now()
  const dm = new DeviceMapper()
  const v = dm.versionSync()
  const fx = setUp(dm)
  const env = { ...process.env, ...toEnv(fx) }
  const results: RawResults = {
    kernelRelease: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    interfaceVersion: `${v.major}.${v.minor}.${v.patch}`,
    node: process.version,
    trialsPerCell: trials,
    durationMs: 0,
    workloads: [],
    memory: [],
  }
  // The memory check runs first, with 100 devices present (3 fixtures + 97 fillers) for its statusAll part.
  const MEMORY_DEVICES = 100
  const memFill = MEMORY_DEVICES - dm.listSync().length
  let filled = false
  try {
    fill(dm, 0, memFill)
    if (only ? only.includes('memory') : !quick) {
      for (const mode of ['sync', 'async', 'statusAll-sync', 'statusAll-async']) {
        reset(dm, fx)
        const r = runJson(process.execPath, ['--expose-gc', join(HERE, 'memory.js'), mode], env, `memory ${mode}`)
        log(`memory ${mode}: RSS grew ${r.growthBytes} bytes from ${r.first} to ${r.calls} calls over ${r.devices} devices`)
        results.memory.push(r)
      }
    }
    for (const w of WORKLOADS) {
      if (only && !only.includes(w.name)) continue
      if (w.needsFill && !filled) {
        log(`creating ${FILL_COUNT} filler devices`)
        fill(dm, memFill)
        filled = true
      }
      const cell: RawResults['workloads'][number] = { name: w.name, trials: {} }
      const p = quick ? quickPolicy(w.policy) : w.policy
      const args = [w.name, String(p.warmup), String(p.minIters), String(p.maxIters), String(p.budgetMs)]
      for (let t = 0; t < trials; t++) {
        // Each round starts with a different driver, so no driver always runs first after a workload change.
        const ds = w.drivers.filter(wanted)
        const order = ds.map((_, k) => ds[(k + t) % ds.length])
        for (const d of order) {
          reset(dm, fx)
          const [cmd, argv] = trialCommand(d, args)
          const r = runJson(cmd, argv, env, `${w.name}/${d}`) as unknown as TrialSummary & { unsupported?: boolean }
          if (r.unsupported) throw new Error(`${d} does not implement ${w.name}`)
          ;(cell.trials[d] ??= []).push(r)
          log(`${w.name} ${d} trial ${t + 1}: median ${(r.medianNs / 1000).toFixed(1)} us over ${r.n}`)
        }
      }
      results.workloads.push(cell)
    }
  } finally {
    tearDown(dm, fx)
  }
  results.durationMs = Date.now() - started
  writeFileSync(resolve(out), JSON.stringify(results, null, 2))
}

try {
  main()
} catch (err) {
  log((err as Error).stack ?? String(err))
  process.exitCode = 1
}
