// Kill test, the purge of a queued delete (deferredDeletion): a volume is removed while another device maps its
// thin id, so its delete waits; the holder goes; the next call (here a child's open + listVolumes) deletes it and
// dies at each step of that. The next open finishes it: the id gone from the pool (thin_dump), nothing queued,
// the transaction id committed once (dmsetup status against the state).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { STEPS } from '../../ts/volumes'
import { dm, dmsetup, name } from './helpers'
import { crashCase, crashRoot, prepareRoot } from './volumes-crash'
import { poolIdsFromOutside } from './volumes-helpers'

const options = { ...crashRoot('purge', 'cp'), deferredDeletion: true }
const pool = options.poolName

function txids(): { pool: bigint; state: bigint } {
  const state = JSON.parse(readFileSync(join(options.root, 'state.json'), 'utf8')) as { transactionId: string }
  return { pool: BigInt(dmsetup('status', pool).trim().split(/\s+/)[3]), state: BigInt(state.transactionId) }
}

t.test('the purge of a queued delete killed at every step', async (t) => {
  await prepareRoot(options)
  for (const step of STEPS.purge) {
    let id = -1
    let before = 0n
    await crashCase(t, options, {
      step, op: 'listVolumes', args: [], steps: STEPS.purge, doneFrom: 'purge.delete',
      before: async (vm) => {
        const p = await vm.createVolume('p', { fs: 'none', size: '4M' })
        id = p.deviceId
        const { major, minor } = dm.infoSync(pool)
        const holder = name('purge-holder')
        dmsetup('create', holder, '--table', `0 8192 thin ${major}:${minor} ${id}`)
        await vm.removeVolume('p')
        t.same((await vm.status()).internalDeviceIds, [id], `${step}: the delete waits`)
        dmsetup('remove', holder)
        before = txids().pool
      },
      after: async (t, vm, done) => {
        t.ok(done, `${step}: every purge step rolls forward`)
        t.same((await vm.status()).internalDeviceIds, [], `${step}: nothing queued`)
        t.notOk(poolIdsFromOutside(pool).includes(id), `${step}: thin_dump: id ${id} is gone`)
        t.same(txids(), { pool: before + 1n, state: before + 1n }, `${step}: committed once, pool and state agree`)
        t.equal(await vm.volume('p'), undefined)
      },
    })
  }
  await (await VolumeManager.open(options)).destroy()
})
