// Snapshots of snapshots: a chain of depth 10, each level taken from the active level below it, each level's
// data checked by reading every device; then a level in the middle is deleted and the rest are unaffected.
import { t } from 'tap'
import { devPath, dm, loopDevice, name, readDevice, sh, sweep, writeDevice } from './helpers'

t.teardown(sweep)

const BLOCK = 128
const BLOCK_BYTES = BLOCK * 512
const DEPTH = 10

// Level i writes its marker into block i and overwrites block 0; block j (0 < j <= i) keeps level j's marker.
const marker = (level: number): Buffer => Buffer.alloc(BLOCK_BYTES, 0x40 + level)
const zero = Buffer.alloc(BLOCK_BYTES)

t.test(`a snapshot chain of depth ${DEPTH}, every level checked by reading the devices`, async (t) => {
  t.setTimeout(180_000) // ~60 device creations, writes and reads through process spawns in a one-CPU guest
  const meta = loopDevice(8)
  const data = loopDevice(64)
  const pool = name('chainpool')
  const pi = await dm.create(pool, `0 ${data.sectors} thin-pool ${meta.path} ${data.path} ${BLOCK} 16`)
  const p = dm.thinPool(pool)
  const level = (i: number): string => name(`chain${i}`)
  const sectors = 64 * BLOCK

  await p.createThin(0)
  await dm.create(level(0), `0 ${sectors} thin ${pi.major}:${pi.minor} 0`)
  writeDevice(devPath(level(0)), 0, marker(0))
  for (let i = 1; i <= DEPTH; i++) {
    // Each snapshot is taken from the previous level while it is active (suspended around the message).
    await p.createSnapshot(i, i - 1, { origin: level(i - 1) })
    await dm.create(level(i), `0 ${sectors} thin ${pi.major}:${pi.minor} ${i}`)
    writeDevice(devPath(level(i)), 0, marker(i))
    writeDevice(devPath(level(i)), i * BLOCK_BYTES, marker(i))
  }

  const check = (i: number, deleted?: number): void => {
    // One read per level (each dd is a process spawn in a slow guest), then compared block by block.
    const all = readDevice(devPath(level(i)), 0, (DEPTH + 2) * BLOCK_BYTES)
    const block = (j: number): Buffer => all.subarray(j * BLOCK_BYTES, (j + 1) * BLOCK_BYTES)
    t.same(block(0), marker(i), `level ${i}: block 0 is its own`)
    for (let j = 1; j <= DEPTH + 1; j++) {
      const want = j <= i ? marker(j) : zero
      t.same(block(j), want, `level ${i}: block ${j} ${j <= i ? `from level ${j}` : 'unwritten'}${deleted !== undefined ? ` (level ${deleted} deleted)` : ''}`)
    }
  }
  for (let i = 0; i <= DEPTH; i++) check(i)

  // Blocks are shared, not copied: 1 block at level 0, then 2 new blocks per level.
  const st = await p.status()
  if (st.state !== 'active') throw new Error(st.params)
  t.equal(st.usedDataBlocks, 1 + 2 * DEPTH, 'each level owns only the blocks it wrote')
  await p.reserveMetadataSnap()
  const mapped = sh('thin_ls', ['--metadata-snap', '--no-headers', '-o', 'DEV,EXCLUSIVE_BLOCKS', meta.path])
  await p.releaseMetadataSnap()
  const exclusive = new Map(mapped.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number]))
  t.same([...exclusive.keys()].sort((a, b) => a - b), Array.from({ length: DEPTH + 1 }, (_, i) => i), 'thin_ls lists every level')
  t.equal(exclusive.get(DEPTH), 2, 'the top level owns exactly its two blocks')

  // Every level is an independent thin device: removing one from the middle changes nothing for the others.
  await dm.remove(level(5))
  await p.delete(5)
  for (const i of [4, 6, 10]) check(i, 5)

  for (let i = DEPTH; i >= 0; i--) if (i !== 5) await dm.remove(level(i))
  await dm.remove(pool)
  sh('thin_check', [meta.path])
})
