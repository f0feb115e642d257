// The kernel's thin-provisioning cookbook (seed 003) through the API, with today's message names (the seed's
// new-thin/new-snap/trans-id are gone: create_thin, create_snap, set_transaction_id), and the thin-pool
// status in the states that matter: rw with usage, a held metadata root, a full pool out of data space.
import { t } from 'tap'
import { thin, thinPool } from '../../ts'
import { devPath, dm, dmsetup, loopDevice, name, readDevice, sweep, writeDevice } from './helpers'
import { activeOf, tableOf } from './narrow'

t.teardown(sweep)

const fill = (byte: number, n: number) => Buffer.alloc(n, byte)

t.test('cookbook: fresh pool, thin volume, internal snapshot, teardown with the pool last', async (t) => {
  const meta = loopDevice(8)
  const data = loopDevice(64)
  // dd if=/dev/zero of=$metadata_dev bs=4096 count=1
  writeDevice(meta.path, 0, fill(0, 4096))
  const pool = name('pool')
  // dmsetup create pool --table "0 <data sectors> thin-pool $metadata_dev $data_dev $data_block_size $low_water_mark"
  await dm.create(pool, `0 ${data.sectors} thin-pool ${meta.path} ${data.path} 128 32`)
  const table = tableOf((await dm.table(pool))[0], 'thin-pool')
  t.match(table, { type: 'thin-pool', dataBlockSize: 128, lowWaterMark: 32, features: [] })
  t.equal(dmsetup('table', pool).trim(), `0 ${data.sectors} thin-pool ${table.metadataDevice} ${table.dataDevice} 128 32 0`)

  await t.rejects(dm.message(pool, 0, 'new-thin 0'), { code: 'EINVAL' }, "the seed's new-thin message is gone from current kernels")
  await dm.message(pool, 0, 'create_thin 0')
  const vol = name('thin')
  await dm.create(vol, [thin(2097152, devPath(pool), 0)])
  t.match((await dm.status(vol))[0], { state: 'active', mappedSectors: 0, highestMappedSector: null })

  writeDevice(devPath(vol), 0, fill(0x5a, 1 << 20))
  const [vs] = await dm.status(vol)
  t.match(vs, { state: 'active', mappedSectors: 2048, highestMappedSector: 2047 }, `thin status '${vs.params}'`)
  const ps = activeOf((await dm.status(pool))[0], 'thin-pool')
  t.match(ps, {
    state: 'active', transactionId: 0, usedDataBlocks: 16, totalDataBlocks: data.sectors / 128, heldMetadataRoot: null,
    mode: 'rw', discards: 'discard_passdown', noSpacePolicy: 'queue', needsCheck: false, metadataLowWatermark: Number,
  }, `pool status '${ps.params}'`)
  t.ok((ps.usedMetadataBlocks as number) > 0 && (ps.usedMetadataBlocks as number) < (ps.totalMetadataBlocks as number))
  t.equal(dmsetup('status', '--noflush', pool).trim(), `0 ${data.sectors} thin-pool ${(await dm.status(pool, { noFlush: true }))[0].params}`)

  // internal snapshot: suspend the origin, create_snap, resume
  await dm.suspend(vol)
  await dm.message(pool, 0, 'create_snap 1 0')
  await dm.resume(vol)
  const snap = name('snap')
  await dm.create(snap, [thin(2097152, devPath(pool), 1)])
  writeDevice(devPath(vol), 0, fill(0xa5, 65536))
  t.same(readDevice(devPath(snap), 0, 65536), fill(0x5a, 65536), 'the snapshot keeps the data from before')
  t.same(readDevice(devPath(vol), 0, 65536), fill(0xa5, 65536))
  t.match((await dm.status(snap))[0], { mappedSectors: 2048 }, 'the snapshot shares all of the origin\'s blocks')

  await dm.message(pool, 0, 'set_transaction_id 0 1')
  t.match((await dm.status(pool))[0], { transactionId: 1 })
  await dm.message(pool, 0, 'reserve_metadata_snap')
  const held = activeOf((await dm.status(pool))[0], 'thin-pool')
  t.ok(typeof held.heldMetadataRoot === 'number' && held.heldMetadataRoot > 0, `held metadata root ${held.heldMetadataRoot}`)
  await dm.message(pool, 0, 'release_metadata_snap')
  t.match((await dm.status(pool))[0], { heldMetadataRoot: null })

  // dmsetup remove thin; dmsetup remove snap; dmsetup remove pool
  await dm.remove(vol)
  await dm.remove(snap)
  await dm.remove(pool)
  t.same(dm.listSync().filter((d) => [vol, snap, pool].includes(d.name)), [])
})

t.test('a full pool with error_if_no_space: writes fail, status out_of_data_space', async (t) => {
  const meta = loopDevice(4)
  const data = loopDevice(1) // 16 blocks of 64 KiB
  writeDevice(meta.path, 0, fill(0, 4096))
  const pool = name('full')
  await dm.create(pool, [thinPool(data.sectors, meta.path, data.path, { dataBlockSize: 128, lowWaterMark: 4, features: ['error_if_no_space'] })])
  await dm.message(pool, 0, 'create_thin 3')
  const vol = name('fullthin')
  await dm.create(vol, [thin(8192, devPath(pool), 3)])
  t.throws(() => writeDevice(devPath(vol), 0, fill(0x77, 2 << 20)), 'a write past the pool\'s space fails')
  const [ps] = await dm.status(pool)
  t.match(ps, { state: 'active', mode: 'out_of_data_space', noSpacePolicy: 'error', usedDataBlocks: 16, totalDataBlocks: 16 }, `pool status '${ps.params}'`)
  t.match((await dm.status(vol))[0], { state: 'active', mappedSectors: 2048, highestMappedSector: 2047 })
  t.equal(dmsetup('status', '--noflush', pool).trim(), `0 ${data.sectors} thin-pool ${(await dm.status(pool, { noFlush: true }))[0].params}`)
})

t.test('thin ids and block sizes are checked before any ioctl', async (t) => {
  const before = dm.listSync().length
  t.throws(() => dm.createSync(name('bad'), [thin(8, '7:0', 2 ** 24)]), { code: 'EINVAL', field: 'table[0].deviceId' })
  t.throws(() => dm.createSync(name('bad'), [thinPool(128, '7:0', '7:1', { dataBlockSize: 100 })]), { code: 'EINVAL', field: 'table[0].dataBlockSize' })
  t.equal(dm.listSync().length, before, 'nothing was created')
})
