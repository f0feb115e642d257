// The workloads and drivers compared, and how long each is measured. Shared by the guest orchestrator (which
// trials to run), the trial programs (names) and the report (titles, per-op normalisation).

export type DriverName =
  | 'raw-c' | 'libdm' | 'native-sync' | 'devmapper-sync' | 'devmapper-async' | 'sync-in-promise' | 'dmsetup'

export const DRIVERS: { name: DriverName; title: string }[] = [
  { name: 'raw-c', title: 'raw C ioctl' },
  { name: 'libdm', title: 'C libdevmapper' },
  { name: 'native-sync', title: 'addon sync, no facade' },
  { name: 'devmapper-sync', title: 'devmapper sync' },
  { name: 'devmapper-async', title: 'devmapper async' },
  { name: 'sync-in-promise', title: 'async without hop (emulated)' },
  { name: 'dmsetup', title: 'dmsetup exec' },
]

/**
 * Iteration policy of one trial process: warm-up (up to `warmup` iterations or a fifth of the budget, at least
 * one), then timed iterations until `maxIters`, or until `budgetMs` is spent once `minIters` are done.
 */
export interface Policy {
  warmup: number
  minIters: number
  maxIters: number
  budgetMs: number
}

export interface Workload {
  name: string
  title: string
  /** kernel operations one timed iteration stands for; medians are reported per operation */
  opsPerIteration: number
  drivers: DriverName[]
  /** run with the 1,000 filler devices present */
  needsFill?: boolean
  policy: Policy
}

const ALL: DriverName[] = ['raw-c', 'libdm', 'devmapper-sync', 'devmapper-async', 'dmsetup']
// Commands that never block in the kernel: the candidates for skipping the thread-pool hop. They also get the
// addon without the facade, to show where the sync API's distance from raw C goes.
const CHEAP: DriverName[] = [...ALL, 'sync-in-promise', 'native-sync']
const FAST: Policy = { warmup: 200, minIters: 30, maxIters: 20_000, budgetMs: 1000 }
const SLOW: Policy = { warmup: 5, minIters: 10, maxIters: 2_000, budgetMs: 1200 }

export const FILL_COUNT = 1000

export const WORKLOADS: Workload[] = [
  { name: 'threadpool-hop', title: 'thread-pool round trip, no ioctl', opsPerIteration: 1, drivers: ['devmapper-sync', 'devmapper-async'], policy: FAST },
  { name: 'version', title: 'version round trip', opsPerIteration: 1, drivers: CHEAP, policy: FAST },
  { name: 'info', title: 'info of one device', opsPerIteration: 1, drivers: CHEAP, policy: FAST },
  { name: 'status', title: 'status of one device', opsPerIteration: 1, drivers: CHEAP, policy: FAST },
  { name: 'create-zero', title: 'create+load+resume+remove, zero', opsPerIteration: 1, drivers: ALL, policy: SLOW },
  { name: 'create-linear', title: 'create+load+resume+remove, linear', opsPerIteration: 1, drivers: ALL, policy: SLOW },
  { name: 'thin', title: 'thin create_thin+activate+remove+delete', opsPerIteration: 1, drivers: ALL, policy: SLOW },
  { name: 'snapshot', title: 'snapshot of an active thin device', opsPerIteration: 1, drivers: ALL, policy: SLOW },
  {
    name: 'create64-sequential', title: '64 creates, sequential (per create)', opsPerIteration: 64, drivers: ALL,
    policy: { warmup: 1, minIters: 2, maxIters: 50, budgetMs: 1500 },
  },
  {
    name: 'create64-concurrent', title: '64 creates, concurrent from JS (per create)', opsPerIteration: 64,
    drivers: ['devmapper-async', 'dmsetup'], policy: { warmup: 1, minIters: 2, maxIters: 50, budgetMs: 1500 },
  },
  {
    name: 'volume-lifecycle', title: 'volume: create+activate+snapshot (active)+remove x2, no fs', opsPerIteration: 1,
    drivers: ['devmapper-async', 'dmsetup'], policy: SLOW,
  },
  { name: 'list-1000', title: 'list, 1,000 devices present', opsPerIteration: 1, drivers: CHEAP, needsFill: true, policy: { ...FAST, warmup: 20, budgetMs: 1500 } },
  {
    name: 'list-1000-regrow', title: 'list, 1,000 devices, buffer from 16 KiB each call (diagnostic)', opsPerIteration: 1,
    drivers: ['raw-c'], needsFill: true, policy: { ...FAST, warmup: 20 },
  },
  {
    name: 'status-all-1000', title: 'status of all 1,000 devices', opsPerIteration: 1, drivers: CHEAP, needsFill: true,
    policy: { warmup: 1, minIters: 5, maxIters: 200, budgetMs: 2000 },
  },
]
