// What Node scripts do today: spawn `dmsetup` once per operation with child_process and wait for it. Untimed
// cleanup goes through devmapper, since it is not what is measured.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { DeviceMapper } from '../../ts'
import type { Fixture } from '../fixtures'
import { removeQuietly } from '../fixtures'
import type { Steps } from './types'

const run = promisify(execFile)
const NAMES64 = Array.from({ length: 64 }, (_, k) => `bench-c-${String(k).padStart(2, '0')}`)

async function dmsetup(...args: string[]): Promise<void> {
  await run('dmsetup', args)
}

export function dmsetupSteps(workload: string, fx: Fixture): Steps | undefined {
  const dm = new DeviceMapper()
  const removeAll64 = (): void => NAMES64.forEach((n) => removeQuietly(dm, n))
  const zero = '0 2048 zero'
  switch (workload) {
    case 'version':
      return { op: () => dmsetup('version') }
    case 'info':
      return { op: () => dmsetup('info', fx.one) }
    case 'status':
      return { op: () => dmsetup('status', fx.one) }
    case 'list-1000':
      return { op: () => dmsetup('ls') }
    case 'status-all-1000':
      return { op: () => dmsetup('status') }
    case 'create-zero':
      return { op: async () => { await dmsetup('create', 'bench-t-0', '--table', zero); await dmsetup('remove', 'bench-t-0') } }
    case 'create-linear':
      return {
        op: async () => {
          await dmsetup('create', 'bench-t-0', '--table', `0 2048 linear ${fx.loopDev} 0`)
          await dmsetup('remove', 'bench-t-0')
        },
      }
    case 'thin':
      return {
        op: async () => {
          await dmsetup('message', fx.pool, '0', 'create_thin 100')
          await dmsetup('create', 'bench-t-0', '--table', `0 2097152 thin ${fx.poolDev} 100`)
          await dmsetup('remove', 'bench-t-0')
          await dmsetup('message', fx.pool, '0', 'delete 100')
        },
      }
    case 'snapshot':
      return {
        op: async () => {
          await dmsetup('suspend', fx.origin)
          try {
            await dmsetup('message', fx.pool, '0', 'create_snap 200 0')
          } finally {
            await dmsetup('resume', fx.origin)
          }
        },
        after: () => void dm.messageSync(fx.pool, 0, 'delete 200'),
      }
    case 'volume-lifecycle':
      // containerd's snapshotter: the same kernel steps as the volume manager, one dmsetup exec each
      return {
        op: async () => {
          await dmsetup('message', fx.pool, '0', 'create_thin 300')
          await dmsetup('create', 'bench-v', '--table', `0 2097152 thin ${fx.poolDev} 300`)
          await dmsetup('suspend', 'bench-v')
          try {
            await dmsetup('message', fx.pool, '0', 'create_snap 301 300')
          } finally {
            await dmsetup('resume', 'bench-v')
          }
          await dmsetup('message', fx.pool, '0', 'delete 301')
          await dmsetup('remove', 'bench-v')
          await dmsetup('message', fx.pool, '0', 'delete 300')
        },
      }
    case 'create64-sequential':
      return { op: async () => { for (const n of NAMES64) await dmsetup('create', n, '--table', zero) }, after: removeAll64 }
    case 'create64-concurrent':
      return { op: async () => void (await Promise.all(NAMES64.map((n) => dmsetup('create', n, '--table', zero)))), after: removeAll64 }
  }
  return undefined
}
