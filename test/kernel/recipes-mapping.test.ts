// The "Device Mapper: mapping devices to devices" recipes (seed 004) through the typed API: two disks as one,
// half a disk and one and a half disks, striping, and classic snapshots (write, snapshot, overwrite the
// origin, read the old data back through the snapshot; overflow; merge back).
import { statSync } from 'node:fs'
import { t } from 'tap'
import { formatTable, linear, snapshot, snapshotOrigin, striped, type TargetInput } from '../../ts'
import { devPath, dm, dmsetup, loopDevice, name, readDevice, sh, sweep, writeDevice } from './helpers'
import { activeOf } from './narrow'

t.teardown(sweep)

const devno = (path: string) => {
  const r = statSync(path).rdev
  return `${(r >> 8) & 0xfff}:${(r & 0xff) | ((r >> 12) & 0xfff00)}`
}
const sectors = (path: string) => Number(sh('blockdev', ['--getsz', path]).trim())
const fill = (byte: number, n = 4096) => Buffer.alloc(n, byte)
const dmsetupTable = (n: string) => dmsetup('table', n).split('\n').map((l) => l.trim()).filter(Boolean).join('\n')
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('two disks as one (twoasone)', async (t) => {
  const d1 = loopDevice(2)
  const d2 = loopDevice(3)
  const [SIZE1, SIZE2] = [sectors(d1.path), sectors(d2.path)]
  writeDevice(d1.path, 0, fill(0x11))
  writeDevice(d2.path, 0, fill(0x22))
  const n = name('twoasone')
  // echo 0 $SIZE1 linear /dev/loop1 0; echo $SIZE1 $SIZE2 linear /dev/loop2 0
  const table = [linear(SIZE1, d1.path), linear(SIZE2, d2.path)]
  await dm.create(n, table)
  t.equal(sectors(devPath(n)), SIZE1 + SIZE2, 'blockdev --getsize: the sum of both devices')
  t.equal(dmsetupTable(n), `0 ${SIZE1} linear ${devno(d1.path)} 0\n${SIZE1} ${SIZE2} linear ${devno(d2.path)} 0`)
  t.same(readDevice(devPath(n), 0, 4096), fill(0x11), 'the first sectors are disk 1')
  t.same(readDevice(devPath(n), SIZE1 * 512, 4096), fill(0x22), 'sector SIZE1 is disk 2 sector 0')
  writeDevice(devPath(n), (SIZE1 + SIZE2) * 512 - 4096, fill(0x33))
  t.same(readDevice(d2.path, SIZE2 * 512 - 4096, 4096), fill(0x33), 'the last sectors land at the end of disk 2')
  await dm.remove(n)
  t.notOk(dm.listSync().some((d) => d.name === n), 'dmsetup remove twoasone')
})

t.test('half a disk and one and a half disks (halfdisk, oneahalf)', async (t) => {
  const d1 = loopDevice(2)
  const d2 = loopDevice(2)
  const [SIZE1, SIZE2] = [sectors(d1.path), sectors(d2.path)]
  const half = Math.floor(SIZE1 / 2)
  writeDevice(d1.path, half * 512, fill(0x44))
  // echo 0 $((SIZE1/2)) linear /dev/loop1 0 > halfdisk
  await dm.create(name('halfdisk'), [linear(half, d1.path)])
  // echo 0 $((SIZE1-SIZE1/2)) linear /dev/loop1 $((SIZE1/2)); echo $((SIZE1-SIZE1/2)) $SIZE2 linear /dev/loop2 0
  const oneahalf: TargetInput[] = [linear(SIZE1 - half, d1.path, half), linear(SIZE2, d2.path)]
  t.equal(formatTable(oneahalf), `0 ${SIZE1 - half} linear ${d1.path} ${half}\n${SIZE1 - half} ${SIZE2} linear ${d2.path} 0`, 'the recipe\'s table text')
  await dm.create(name('oneahalf'), oneahalf)
  t.equal(sectors(devPath(name('halfdisk'))), half)
  t.equal(sectors(devPath(name('oneahalf'))), SIZE1 - half + SIZE2)
  t.same(readDevice(devPath(name('oneahalf')), 0, 4096), fill(0x44), 'oneahalf starts in the middle of disk 1')
  t.same(await dm.table(name('oneahalf')), [
    { start: 0, length: SIZE1 - half, type: 'linear', device: devno(d1.path), offset: half, params: `${devno(d1.path)} ${half}` },
    { start: SIZE1 - half, length: SIZE2, type: 'linear', device: devno(d2.path), offset: 0, params: `${devno(d2.path)} 0` },
  ])
  await dm.remove(name('oneahalf'))
  await dm.remove(name('halfdisk'))
})

t.test('striping: chunks alternate between the disks', async (t) => {
  const d1 = loopDevice(4)
  const d2 = loopDevice(4)
  const n = name('striped')
  const chunk = 128 // sectors: 64 KiB
  await dm.create(n, [striped(16384, chunk, [{ device: d1.path, offset: 0 }, { device: d2.path, offset: 0 }])])
  for (let i = 0; i < 4; i++) writeDevice(devPath(n), i * chunk * 512, fill(0x50 + i, chunk * 512))
  t.same(readDevice(d1.path, 0, 4096), fill(0x50), 'chunk 0 on disk 1')
  t.same(readDevice(d2.path, 0, 4096), fill(0x51), 'chunk 1 on disk 2')
  t.same(readDevice(d1.path, chunk * 512, 4096), fill(0x52), 'chunk 2 on disk 1, second chunk')
  t.same(readDevice(d2.path, chunk * 512, 4096), fill(0x53), 'chunk 3 on disk 2, second chunk')
  t.match((await dm.status(n))[0], { stripes: [{ health: 'A' }, { health: 'A' }] })
})

t.test('classic snapshot: overwrite the origin, read the old data through the snapshot, merge back', async (t) => {
  const base = loopDevice(8)
  const cow = loopDevice(8)
  const size = sectors(base.path)
  writeDevice(base.path, 0, fill(0xaa, 65536))
  const origin = name('origin')
  await dm.create(origin, [snapshotOrigin(size, base.path)])
  // a snapshot is loaded with its origin suspended
  await dm.suspend(origin)
  await dm.create(name('snap'), [snapshot(size, base.path, cow.path, { persistent: 'P', chunkSize: 16 })])
  await dm.resume(origin)
  writeDevice(devPath(origin), 0, fill(0xbb, 65536))
  t.same(readDevice(devPath(origin), 0, 65536), fill(0xbb, 65536), 'the origin has the new data')
  t.same(readDevice(devPath(name('snap')), 0, 65536), fill(0xaa, 65536), 'the snapshot still has the old data')
  const st = activeOf((await dm.status(name('snap')))[0], 'snapshot')
  t.match(st, { state: 'active', totalSectors: size, metadataSectors: Number })
  t.ok((st.allocatedSectors as number) >= 128 + (st.metadataSectors as number), `64 KiB of old chunks copied: ${st.params}`)
  t.equal(dmsetup('status', name('snap')).trim(), `0 ${size} snapshot ${st.params}`)

  // merge: drop the snapshot device, put snapshot-merge under the origin, wait for the COW to drain
  await dm.suspend(origin)
  await dm.remove(name('snap'))
  await dm.load(origin, [snapshot(size, base.path, cow.path, { persistent: 'P', chunkSize: 16, merge: true })])
  await dm.resume(origin)
  let ms = (await dm.status(origin))[0]
  for (let i = 0; i < 100 && !(ms.type === 'snapshot-merge' && ms.state === 'active' && ms.merged); i++) {
    await settle(50)
    ms = (await dm.status(origin))[0]
  }
  t.match(ms, { type: 'snapshot-merge', state: 'active', merged: true }, ms.params)
  t.same(readDevice(devPath(origin), 0, 65536), fill(0xaa, 65536), 'after the merge the origin is back to the snapshot\'s data')
})

// Origin writes that the COW cannot hold invalidate the snapshot; writes to the snapshot itself that do not fit
// mark a PO snapshot overflowed instead (dm-snap.c: snapshot_map, userspace_supports_overflow).
for (const [persistent, state, into] of [['P', 'invalid', 'origin'], ['PO', 'overflow', 'snapshot']] as const) {
  t.test(`a snapshot whose COW fills up reports ${state} (${persistent}, writing the ${into})`, async (t) => {
    const base = loopDevice(8)
    const cow = loopDevice(1) // 1 MiB of COW for 4 MiB of writes
    const size = sectors(base.path)
    const origin = name(`ov-origin-${persistent}`)
    const snap = name(`ov-snap-${persistent}`)
    await dm.create(origin, [snapshotOrigin(size, base.path)])
    await dm.suspend(origin)
    await dm.create(snap, [snapshot(size, base.path, cow.path, { persistent, chunkSize: 8 })])
    await dm.resume(origin)
    t.match((await dm.status(snap))[0], { state: 'active' })
    const write = () => writeDevice(devPath(into === 'origin' ? origin : snap), 0, fill(0xcc, 4 << 20))
    if (into === 'origin') t.doesNotThrow(write, 'origin writes go on; the snapshot is dropped')
    else t.throws(write, 'the snapshot refuses writes it cannot hold')
    const [st] = await dm.status(snap)
    t.same(st, { start: 0, length: size, type: 'snapshot', params: st.params, state }, `status '${st.params}'`)
    t.equal(dmsetup('status', snap).trim(), `0 ${size} snapshot ${st.params}`)
  })
}
