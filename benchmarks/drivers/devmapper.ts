// devmapper itself, three ways: the promise API (one thread-pool hop per call), the sync API, and
// "sync-in-promise" – the sync call inside an async function, which is what the promise API would cost if a
// command skipped the hop. Each workload uses the public facade exactly as an application would.
import { randomFill, randomFillSync } from 'node:crypto'
import { DeviceMapper, Flags } from '../../ts'
import { native } from '../../ts/core/native'
import type { Fixture } from '../fixtures'
import { removeQuietly, SNAPSHOT_BATCH } from '../fixtures'
import type { Steps } from './types'

const dm = new DeviceMapper()
const ZERO = [{ start: 0, length: 2048, type: 'zero', params: '' }]
const NAMES64 = Array.from({ length: 64 }, (_, k) => `bench-c-${String(k).padStart(2, '0')}`)
const byte = Buffer.alloc(1)

function removeAll64(): void {
  for (const n of NAMES64) removeQuietly(dm, n)
}

/** Snapshot ids 200..200+count-1 made by one batch, deleted untimed after it. */
function deleteSnapshots(pool: string, count: number): void {
  for (let k = 0; k < count; k++) dm.messageSync(pool, 0, `delete ${200 + k}`)
}

export function asyncSteps(workload: string, fx: Fixture): Steps | undefined {
  const linear = [{ start: 0, length: 2048, type: 'linear', params: `${fx.loopDev} 0` }]
  const thin = [{ start: 0, length: 2097152, type: 'thin', params: `${fx.poolDev} 100` }]
  switch (workload) {
    case 'threadpool-hop':
      // An (almost) empty job on the same libuv pool: the hop alone.
      return { op: () => new Promise<void>((done) => randomFill(byte, () => done())) }
    case 'version':
      return { op: async () => void (await dm.version()) }
    case 'info':
      return { op: async () => void (await dm.info(fx.one)) }
    case 'status':
      return { op: async () => void (await dm.status(fx.one)) }
    case 'list-1000':
      return { op: async () => void (await dm.list()) }
    case 'status-all-1000':
      return { op: async () => void (await dm.statusAll()) }
    case 'create-zero':
      return { op: async () => { await dm.create('bench-t-0', ZERO); await dm.remove('bench-t-0') } }
    case 'create-linear':
      return { op: async () => { await dm.create('bench-t-0', linear); await dm.remove('bench-t-0') } }
    case 'thin':
      return {
        op: async () => {
          await dm.message(fx.pool, 0, 'create_thin 100')
          await dm.create('bench-t-0', thin)
          await dm.remove('bench-t-0')
          await dm.message(fx.pool, 0, 'delete 100')
        },
      }
    case 'snapshot':
      return {
        // suspend, create_snap, resume: one native call (what ThinPool.createSnapshot sends for an active origin)
        op: async (k) => void (await dm.messageSuspended(fx.origin, fx.pool, 0, `create_snap ${200 + k} 0`)),
        after: (count) => deleteSnapshots(fx.pool, count),
        maxBatch: SNAPSHOT_BATCH,
      }
    case 'create64-sequential':
      return { op: async () => { for (const n of NAMES64) await dm.create(n, ZERO) }, after: removeAll64, maxBatch: 1 }
    case 'create64-concurrent':
      return { op: async () => void (await Promise.all(NAMES64.map((n) => dm.create(n, ZERO)))), after: removeAll64, maxBatch: 1 }
  }
  return undefined
}

export function syncSteps(workload: string, fx: Fixture): Steps | undefined {
  const linear = [{ start: 0, length: 2048, type: 'linear', params: `${fx.loopDev} 0` }]
  const thin = [{ start: 0, length: 2097152, type: 'thin', params: `${fx.poolDev} 100` }]
  switch (workload) {
    case 'threadpool-hop':
      return { op: () => void randomFillSync(byte) }
    case 'version':
      return { op: () => void dm.versionSync() }
    case 'info':
      return { op: () => void dm.infoSync(fx.one) }
    case 'status':
      return { op: () => void dm.statusSync(fx.one) }
    case 'list-1000':
      return { op: () => void dm.listSync() }
    case 'status-all-1000':
      return { op: () => void dm.statusAllSync() }
    case 'create-zero':
      return { op: () => { dm.createSync('bench-t-0', ZERO); dm.removeSync('bench-t-0') } }
    case 'create-linear':
      return { op: () => { dm.createSync('bench-t-0', linear); dm.removeSync('bench-t-0') } }
    case 'thin':
      return {
        op: () => {
          dm.messageSync(fx.pool, 0, 'create_thin 100')
          dm.createSync('bench-t-0', thin)
          dm.removeSync('bench-t-0')
          dm.messageSync(fx.pool, 0, 'delete 100')
        },
      }
    case 'snapshot':
      return {
        op: (k) => void dm.messageSuspendedSync(fx.origin, fx.pool, 0, `create_snap ${200 + k} 0`),
        after: (count) => deleteSnapshots(fx.pool, count),
        maxBatch: SNAPSHOT_BATCH,
      }
    case 'create64-sequential':
      return { op: () => { for (const n of NAMES64) dm.createSync(n, ZERO) }, after: removeAll64, maxBatch: 1 }
  }
  return undefined
}

/** The no-hop alternative for commands that never block: the sync call, resolved through a promise. */
export function syncInPromiseSteps(workload: string, fx: Fixture): Steps | undefined {
  if (!['version', 'info', 'status', 'list-1000', 'status-all-1000'].includes(workload)) return undefined
  const sync = syncSteps(workload, fx)!
  return { op: async (k) => sync.op(k) }
}

/**
 * The addon's sync calls without the facade (no validation, no reply shaping), for the cheap workloads: splits
 * the sync API's distance from raw C into what the native layer costs and what the TypeScript facade adds.
 */
export function nativeSyncSteps(workload: string, fx: Fixture): Steps | undefined {
  const control = new native.Control('/dev/mapper/control')
  const one = { name: fx.one }
  switch (workload) {
    case 'version':
      return { op: () => void control.versionSync() }
    case 'info':
      return { op: () => void control.devStatusSync(one) }
    case 'status':
      return { op: () => void control.tableStatusSync(one) }
    case 'list-1000':
      return { op: () => void control.listDevicesSync({ flags: Flags.UUID }) }
    case 'status-all-1000':
      return { op: () => void control.statusAllSync(0) }
  }
  return undefined
}
