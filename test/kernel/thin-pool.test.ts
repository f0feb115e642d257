// The thin-pool handle against the real kernel: the seeds' cookbook, every kernel error code the handle
// promises, metadata snapshots read by thin_ls/thin_dump, thin_check after teardown, and resizing.
import { execFileSync } from 'node:child_process'
import { t } from 'tap'
import { DmError, type ThinPool, type ThinPoolStatus } from '../../ts'
import { devPath, dm, dmsetup, loopDevice, name, ours, readDevice, sh, sweep, writeDevice } from './helpers'

t.teardown(sweep)

const BLOCK = 128 // data block size in sectors (64 KiB)
const BLOCK_BYTES = BLOCK * 512

/** A fresh pool on two sparse loop files (a new file is zeroed, which is what an empty metadata device needs). */
async function makePool(label: string, dataMiB = 16, features = '') {
  const meta = loopDevice(8)
  const data = loopDevice(dataMiB)
  const pool = name(label)
  await dm.create(pool, `0 ${data.sectors} thin-pool ${meta.path} ${data.path} ${BLOCK} 16${features ? ` ${features}` : ''}`)
  const info = await dm.info(pool)
  return { pool, meta, data, dev: `${info.major}:${info.minor}`, handle: dm.thinPool(pool) }
}

/** The pool's typed status, which must be an active pool's. */
async function active(p: ThinPool): Promise<Extract<ThinPoolStatus, { state: 'active' }>> {
  const st: ThinPoolStatus = await p.status()
  if (st.state !== 'active') throw new Error(`pool ${p.name} is ${st.state}: ${st.params}`)
  return st
}

function pattern(byte: number, bytes = BLOCK_BYTES): Buffer {
  return Buffer.alloc(bytes, byte)
}

t.test("the seeds' cookbook: pool, thin volume, internal snapshot of an active origin, teardown", async (t) => {
  // dd if=/dev/zero of=$metadata_dev bs=4096 count=1 ... dmsetup create pool --table "0 ... thin-pool ..."
  const meta = loopDevice(8)
  const data = loopDevice(64)
  writeDevice(meta.path, 0, Buffer.alloc(4096))
  const pool = name('cookpool')
  await dm.create(pool, `0 ${data.sectors} thin-pool ${meta.path} ${data.path} ${BLOCK} 32768`)
  const p = dm.thinPool(pool)
  t.match(dmsetup('status', pool), /thin-pool 0 /, 'dmsetup sees a thin-pool at transaction 0')

  // dmsetup message pool 0 "new-thin 0 2097152" is create_thin today; the old name is gone from the kernel.
  await t.rejects(dm.message(pool, 0, 'new-thin 0 2097152'), { code: 'EINVAL', operation: 'DM_TARGET_MSG' }, 'new-thin is no longer understood')
  await p.createThin(0)
  const poolInfo = await dm.info(pool)
  const thin = name('cookthin')
  await dm.create(thin, `0 2097152 thin ${poolInfo.major}:${poolInfo.minor} 0`)
  writeDevice(devPath(thin), 0, pattern(0xa1))
  writeDevice(devPath(thin), 1024 * 1024, pattern(0xa2))

  // dmsetup suspend thin; dmsetup message pool 0 "new-snap 1 0"; dmsetup resume thin
  await p.createSnapshot(1, 0, { origin: thin })
  t.equal((await dm.info(thin)).suspended, false, 'the origin is running again')
  const snap = name('cooksnap')
  await dm.create(snap, `0 2097152 thin ${poolInfo.major}:${poolInfo.minor} 1`)
  t.same(readDevice(devPath(snap), 0, BLOCK_BYTES), pattern(0xa1), 'the snapshot holds the origin data')
  t.same(readDevice(devPath(snap), 1024 * 1024, BLOCK_BYTES), pattern(0xa2))
  writeDevice(devPath(thin), 0, pattern(0xb1))
  t.same(readDevice(devPath(snap), 0, BLOCK_BYTES), pattern(0xa1), 'writes to the origin do not reach the snapshot')
  writeDevice(devPath(snap), 1024 * 1024, pattern(0xc2))
  t.same(readDevice(devPath(thin), 1024 * 1024, BLOCK_BYTES), pattern(0xa2), 'nor the other way round')
  t.match(dmsetup('status', thin), /thin \d+ \d+/, 'dmsetup reads the thin status')

  const st = await active(p)
  t.equal(st.transactionId, 0)
  t.ok(st.usedDataBlocks! >= 3, `blocks in use: ${st.usedDataBlocks}`)
  t.equal(st.heldMetadataRoot, null, 'no metadata root held')
  t.equal(st.mode, 'rw')

  // Teardown: thin devices first, the pool last.
  await dm.remove(thin)
  await dm.remove(snap)
  await dm.remove(pool)
  t.same(ours().filter((n) => [thin, snap, pool].includes(n)), [])
  sh('thin_check', [meta.path])
})

t.test('each promised kernel error code, produced by the kernel', async (t) => {
  const { pool, dev, handle: p } = await makePool('errpool')
  const thin = name('errthin')
  await p.createThin(0)
  await dm.create(thin, `0 8192 thin ${dev} 0`)

  const kernel = { operation: 'DM_TARGET_MSG', device: pool }
  await t.rejects(p.createThin(0), { ...kernel, code: 'EEXIST', errno: 17 }, 'create_thin of an id in use: EEXIST')
  t.throws(() => p.createThinSync(0), { code: 'EEXIST' }, 'sync twin too')
  await t.rejects(p.delete(4711), { ...kernel, code: 'ENODATA', errno: 61 }, 'delete of an unknown id: ENODATA')
  await t.rejects(p.createSnapshot(2, 4711), { ...kernel, code: 'ENODATA' }, 'snapshot of an unknown origin: ENODATA')
  await t.rejects(p.delete(0), { ...kernel, code: 'EBUSY', errno: 16 }, 'delete of an active thin device: EBUSY')
  await t.rejects(p.setTransactionId(5, 6), { ...kernel, code: 'EINVAL', errno: 22 }, 'set_transaction_id with a wrong current id: EINVAL')
  await p.setTransactionId(0, 1)
  t.equal((await active(p)).transactionId, 1)
  p.setTransactionIdSync(1, 2n ** 63n)
  t.equal((await active(p)).transactionId, 2n ** 63n, 'a 64-bit transaction id round-trips as a bigint')
  await p.setTransactionId(2n ** 63n, 2)

  // A failing create_snap still resumes the active origin, and the origin keeps working.
  await p.createThin(3)
  await t.rejects(p.createSnapshot(3, 0, { origin: thin }), { code: 'EEXIST' })
  t.equal((await dm.info(thin)).suspended, false, 'origin resumed after the failed message')
  t.throws(() => p.createSnapshotSync(3, 0, { origin: thin }), { code: 'EEXIST' })
  t.equal(dm.infoSync(thin).suspended, false, 'origin resumed after the failed message (sync)')
  writeDevice(devPath(thin), 0, pattern(7))
  t.same(readDevice(devPath(thin), 0, BLOCK_BYTES), pattern(7), 'origin still takes I/O')
  // Naming the wrong device as origin is refused before anything is suspended.
  await t.rejects(p.createSnapshot(4, 3, { origin: thin }), { code: 'EINVAL', field: 'origin' })
  t.equal((await dm.info(thin)).suspended, false)

  // Metadata snapshots: one at a time; releasing none is an error.
  await p.reserveMetadataSnap()
  await t.rejects(p.reserveMetadataSnap(), { ...kernel, code: 'EBUSY' }, 'a second held root: EBUSY')
  await p.releaseMetadataSnap()
  await t.rejects(p.releaseMetadataSnap(), { ...kernel, code: 'EINVAL' }, 'nothing to release: EINVAL')

  // A read-only pool refuses every message with EOPNOTSUPP.
  const table = (await dm.table(pool))[0]
  await dm.remove(thin)
  await dm.load(pool, [{ length: table.length, type: 'thin-pool', params: `${table.params.split(' ').slice(0, 4).join(' ')} 1 read_only` }])
  await dm.resume(pool)
  t.equal((await active(p)).mode, 'ro')
  await t.rejects(p.createThin(9), { ...kernel, code: 'EOPNOTSUPP', errno: 95 }, 'create_thin on a read-only pool: EOPNOTSUPP')
  await t.rejects(p.delete(3), { code: 'EOPNOTSUPP' })
  await t.rejects(p.setTransactionId(2, 3), { code: 'EOPNOTSUPP' })
  await dm.load(pool, [{ length: table.length, type: 'thin-pool', params: table.params }])
  await dm.resume(pool)
  t.equal((await active(p)).mode, 'rw')
  await p.delete(3)
  await p.delete(0)
  p.createThinSync(0)
  p.deleteSync(0)
  await dm.remove(pool)
})

t.test('ids are checked before any ioctl; status of a device that is no pool', async (t) => {
  const { pool, handle: p } = await makePool('idpool')
  for (const bad of [-1, 2 ** 24, 1.5, NaN, '1' as unknown as number]) {
    await t.rejects(p.createThin(bad), { code: 'EINVAL', field: 'id', operation: 'createThin' })
  }
  await t.rejects(p.createSnapshot(1, 2 ** 24), { code: 'EINVAL', field: 'originId' })
  await t.rejects(p.setTransactionId(-1, 0), { code: 'EINVAL', field: 'current' })
  await p.createThin(2 ** 24 - 1)
  await p.delete(2 ** 24 - 1)
  const z = name('notapool')
  await dm.create(z, '0 8 zero')
  await t.rejects(dm.thinPool(z).status(), { code: 'EINVAL' })
  await t.rejects(dm.thinPool(z).createThin(1), { code: 'EINVAL', operation: 'DM_TARGET_MSG' }, 'the zero target has no messages')
  await dm.remove(z)
  await dm.remove(pool)
})

t.test('thin_ls on a held metadata snapshot lists exactly the ids created; thin_check accepts the metadata after teardown', async (t) => {
  const { pool, meta, dev, handle: p } = await makePool('lspool')
  const ids = [0, 1, 7, 4242, 2 ** 24 - 1]
  await p.createThin(0)
  await p.createThin(7)
  await p.createSnapshot(1, 0)
  await p.createThin(4242)
  await p.createThin(2 ** 24 - 1)
  await p.createThin(99)
  await p.delete(99) // created and deleted: must not be listed
  const thin = name('lsthin')
  await dm.create(thin, `0 4096 thin ${dev} 7`)
  writeDevice(devPath(thin), 0, pattern(1, 4 * BLOCK_BYTES))
  await p.setTransactionId(0, 42)

  await p.reserveMetadataSnap()
  const held = await active(p)
  t.type(held.heldMetadataRoot, 'number', `held root ${held.heldMetadataRoot}`)
  t.match(dmsetup('status', pool), new RegExp(` ${held.heldMetadataRoot} `), 'dmsetup shows the same held root')
  const listed = sh('thin_ls', ['--metadata-snap', '--no-headers', '-o', 'DEV,MAPPED_BLOCKS', meta.path])
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
  t.same(listed.map((r) => r[0]).sort((a, b) => a - b), ids, 'thin_ls lists exactly the ids created')
  t.equal(listed.find((r) => r[0] === 7)![1], 4, 'and the 4 blocks written to id 7')
  const dump = sh('thin_dump', ['--metadata-snap', meta.path])
  t.match(dump, /transaction="42"/, 'thin_dump sees the transaction id')
  t.same([...dump.matchAll(/dev_id="(\d+)"/g)].map((m) => Number(m[1])).sort((a, b) => a - b), ids)
  await p.releaseMetadataSnap()
  t.equal((await active(p)).heldMetadataRoot, null, 'released')

  await dm.remove(thin)
  await dm.remove(pool)
  const check = execFileSync('thin_check', [meta.path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  t.pass(`thin_check exits 0${check.trim() ? `: ${check.trim()}` : ''}`)
  // thin_check is not a rubber stamp: damaged metadata fails it.
  writeDevice(meta.path, 0, Buffer.alloc(4096, 0xff))
  t.throws(() => execFileSync('thin_check', [meta.path], { stdio: 'ignore' }), 'thin_check rejects a wiped superblock')
})

t.test('resize: grow a thin device, shrink it (the old trim, which needs a discard to free blocks); grow the pool over a bigger data device', async (t) => {
  const meta = loopDevice(8)
  const backing = loopDevice(32)
  // The data device is itself a device-mapper device, so it can grow by a table reload.
  const data = name('rsdata')
  const d = await dm.create(data, `0 ${8 * 2048} linear ${backing.path} 0`)
  const pool = name('rspool')
  await dm.create(pool, `0 ${8 * 2048} thin-pool ${meta.path} ${d.major}:${d.minor} ${BLOCK} 16`)
  const p = dm.thinPool(pool)
  const pi = await dm.info(pool)
  await p.createThin(0)
  const thin = name('rsthin')
  await dm.create(thin, `0 2048 thin ${pi.major}:${pi.minor} 0`)
  const size = (n: string): number => Number(sh('blockdev', ['--getsz', devPath(n)]).trim())
  t.equal(size(thin), 2048)

  await p.resizeThin(thin, 8192)
  t.equal(size(thin), 8192, 'grown by a reload with a longer table')
  writeDevice(devPath(thin), 6144 * 512, pattern(0x5a))
  t.same(readDevice(devPath(thin), 6144 * 512, BLOCK_BYTES), pattern(0x5a), 'the new end takes data')
  writeDevice(devPath(thin), 0, pattern(0x11))
  const used = (await active(p)).usedDataBlocks!
  await p.resizeThin(thin, 2048)
  t.equal(size(thin), 2048, 'shrunk (what the trim message did)')
  t.same(readDevice(devPath(thin), 0, BLOCK_BYTES), pattern(0x11), 'data before the end survives')
  // The seeds say shrinking loses the tail at once; on 6.1 a reload only hides it: the mappings stay.
  t.equal((await active(p)).usedDataBlocks, used, 'shrinking by reload frees nothing')
  await p.resizeThin(thin, 8192)
  t.same(readDevice(devPath(thin), 6144 * 512, BLOCK_BYTES), pattern(0x5a), 'growing again shows the old tail')
  // To free the tail for real, discard it before shrinking.
  sh('blkdiscard', ['-o', String(2048 * 512), '-l', String(6144 * 512), devPath(thin)])
  await p.resizeThin(thin, 2048)
  t.equal((await active(p)).usedDataBlocks, used - 1, 'discard, then shrink: the tail block is freed')

  t.equal((await active(p)).totalDataBlocks, 128)
  // Wrong order: the pool cannot be reloaded over a data device that has not grown yet.
  await t.rejects(p.growData(32 * 2048), { code: 'EINVAL', field: 'sectors' }, 'pool first, data device second: refused')
  t.equal((await dm.info(pool)).suspended, false, 'and the pool was left running')
  // Right order: grow the data device (load + resume), then reload and resume the pool, thin device active.
  await dm.load(data, `0 ${32 * 2048} linear ${backing.path} 0`)
  await dm.resume(data)
  await p.growData(32 * 2048)
  const grown = await active(p)
  t.equal(grown.totalDataBlocks, 512, 'the pool now maps 32 MiB')
  t.equal((await dm.info(thin)).suspended, false, 'the thin device runs on')
  t.same(readDevice(devPath(thin), 0, BLOCK_BYTES), pattern(0x11), 'and still reads its data')
  await t.rejects(p.growData(8 * 2048), { code: 'EINVAL', field: 'sectors' }, 'a pool does not shrink: refused before any ioctl')
  t.equal((await active(p)).totalDataBlocks, 512)
  t.equal((await dm.info(pool)).inactiveTable, false, 'nothing was loaded')

  await dm.remove(thin)
  await dm.remove(pool)
  await dm.remove(data)
  sh('thin_check', [meta.path])
})

t.test('a failed message is a DmError carrying the kernel code', async (t) => {
  const { pool, handle: p } = await makePool('dmerr')
  const err = await p.delete(1).catch((e: unknown) => e)
  t.type(err, DmError)
  t.match(err, { code: 'ENODATA', operation: 'DM_TARGET_MSG', device: pool })
  await dm.remove(pool)
})
