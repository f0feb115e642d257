// Kill test, check({ repair: true }) deleting an orphan thin id (one made in the pool behind the root's back):
// a child dies at each step of the delete; the next open finishes it from the stored intent: the orphan gone
// (thin_dump), the transaction id committed once and the same in the pool (dmsetup status) and the state.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { STEPS } from '../../ts/volumes'
import { dmsetup } from './helpers'
import { crashCase, crashRoot, prepareRoot } from './volumes-crash'
import { poolIdsFromOutside } from './volumes-helpers'

const options = crashRoot('repair', 'ck')
const pool = options.poolName
const ORPHAN = 4000

function txids(): { pool: bigint; state: bigint } {
  const state = JSON.parse(readFileSync(join(options.root, 'state.json'), 'utf8')) as { transactionId: string }
  return { pool: BigInt(dmsetup('status', pool).trim().split(/\s+/)[3]), state: BigInt(state.transactionId) }
}

t.test('check({ repair }) killed at every step of an orphan delete', async (t) => {
  await prepareRoot(options)
  for (const step of STEPS.repair) {
    let before = 0n
    await crashCase(t, options, {
      step, op: 'check', args: [{ repair: true }], steps: STEPS.repair, doneFrom: 'repair.delete',
      before: async (vm) => {
        dmsetup('message', pool, '0', `create_thin ${ORPHAN}`)
        t.match(await vm.check(), { ok: false, orphanDeviceIds: [ORPHAN] }, `${step}: check sees the orphan`)
        before = txids().pool
      },
      after: async (t) => {
        t.notOk(poolIdsFromOutside(pool).includes(ORPHAN), `${step}: thin_dump: the orphan is gone`)
        t.same(txids(), { pool: before + 1n, state: before + 1n }, `${step}: committed once, pool and state agree`)
      },
    })
  }
  await (await VolumeManager.open(options)).destroy()
})
