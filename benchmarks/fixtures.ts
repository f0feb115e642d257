// The devices every trial works against, made once per run inside the guest (by devmapper, untimed): a thin
// pool on two sparse loop files with an active thin origin, a zero device to query, a loop device for linear
// tables, and on demand 1,000 filler devices. Trials get them through BENCH_* environment variables.
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DeviceMapper, loop, type LoopInfo } from '../ts'
import { FILL_COUNT } from './workloads'

export interface Fixture {
  pool: string
  /** major:minor of the pool, for thin tables */
  poolDev: string
  /** major:minor of a 16 MiB loop device, for linear tables */
  loopDev: string
  /** an active thin device (thin id 0) to snapshot */
  origin: string
  /** a zero device for info and status */
  one: string
}

interface Made extends Fixture {
  dir: string
  loops: string[]
}

const MiB = 2048 // sectors
const FILL_PREFIX = 'bench-fill-'

function sparse(path: string, bytes: number, zeroFirstBlock = false): void {
  writeFileSync(path, zeroFirstBlock ? Buffer.alloc(4096) : '')
  truncateSync(path, bytes)
}

export function setUp(dm: DeviceMapper): Made {
  const dir = mkdtempSync('/tmp/devmapper-bench-')
  sparse(join(dir, 'meta.img'), 16 * 1024 * 1024, true) // a zeroed first block means "empty metadata"
  sparse(join(dir, 'data.img'), 256 * 1024 * 1024)
  sparse(join(dir, 'linear.img'), 16 * 1024 * 1024)
  const loops: LoopInfo[] = ['meta.img', 'data.img', 'linear.img'].map((f) => loop.attachSync(join(dir, f)))
  const pool = dm.createSync('bench-pool', `0 ${256 * MiB} thin-pool ${loops[0].path} ${loops[1].path} 128 16`)
  const poolDev = `${pool.major}:${pool.minor}`
  dm.messageSync('bench-pool', 0, 'create_thin 0')
  const origin = dm.createSync('bench-origin', `0 ${1024 * MiB} thin ${poolDev} 0`)
  // Some mapped blocks, so that a snapshot shares data with its origin.
  const fd = openSync(`/dev/dm-${origin.minor}`, 'r+')
  writeSync(fd, Buffer.alloc(4 * 1024 * 1024, 'bench'), 0, 4 * 1024 * 1024, 0)
  closeSync(fd)
  dm.createSync('bench-one', '0 2048 zero')
  return { pool: 'bench-pool', poolDev, loopDev: `${loops[2].major}:${loops[2].minor}`, origin: 'bench-origin', one: 'bench-one', dir, loops: loops.map((l) => l.path) }
}

export function toEnv(fx: Fixture): Record<string, string> {
  return { BENCH_POOL: fx.pool, BENCH_POOL_DEV: fx.poolDev, BENCH_LOOP_DEV: fx.loopDev, BENCH_ORIGIN: fx.origin, BENCH_ONE: fx.one }
}

export function fromEnv(): Fixture {
  const get = (k: string): string => {
    const v = process.env[k]
    if (!v) throw new Error(`${k} is not set: trials run under benchmarks/guest.ts`)
    return v
  }
  return { pool: get('BENCH_POOL'), poolDev: get('BENCH_POOL_DEV'), loopDev: get('BENCH_LOOP_DEV'), origin: get('BENCH_ORIGIN'), one: get('BENCH_ONE') }
}

/** Removes a device and the /dev/mapper node libdm or dmsetup may have made for it (no udev in the guest). */
export function removeQuietly(dm: DeviceMapper, name: string): void {
  try {
    dm.removeSync(name)
  } catch {
    // already gone
  }
  rmSync(`/dev/mapper/${name}`, { force: true })
}

/** Puts the pool and device set back to the fixtures alone, whatever a failed trial left behind. */
export function reset(dm: DeviceMapper, fx: Fixture): void {
  for (const d of dm.listSync()) if (/^bench-[tc]-/.test(d.name)) removeQuietly(dm, d.name)
  for (const id of [100, 200]) {
    try {
      dm.messageSync(fx.pool, 0, `delete ${id}`)
    } catch {
      // not there: the trial cleaned up after itself
    }
  }
  if (dm.infoSync(fx.origin).suspended) dm.resumeSync(fx.origin)
}

export function fill(dm: DeviceMapper): void {
  for (let i = 0; i < FILL_COUNT; i++) dm.createSync(`${FILL_PREFIX}${String(i).padStart(4, '0')}`, '0 2048 zero')
}

export function unfill(dm: DeviceMapper): void {
  for (const d of dm.listSync()) if (d.name.startsWith(FILL_PREFIX)) removeQuietly(dm, d.name)
}

export function tearDown(dm: DeviceMapper, fx: Made): void {
  reset(dm, fx)
  unfill(dm)
  for (const n of [fx.one, fx.origin, fx.pool]) removeQuietly(dm, n)
  for (const l of fx.loops) loop.detachSync(l)
  rmSync(fx.dir, { recursive: true, force: true })
}
