// The builder functions verity(), mirror(), raid() and snapshotMerge() loaded into the kernel: dm.table() gives
// back the typed fields built (devices as major:minor), dmsetup prints the same line, and the devices work.
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { statSync } from 'node:fs'
import { t, type Test } from 'tap'
import { formatTable, mirror, raid, snapshotMerge, verity, type TargetInput } from '../../ts'
import { devPath, dm, dmsetup, loopDevice, name, sweep, writeDevice } from './helpers'

t.teardown(sweep)

/** 'major:minor' of a block device node. */
function devno(path: string): string {
  const rdev = statSync(path).rdev
  return `${(rdev >> 8) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`
}

async function roundTrip(t: Test, n: string, table: TargetInput[], expected: Record<string, unknown>[], readOnly = false): Promise<void> {
  await dm.create(n, table, { readOnly })
  t.same((await dm.table(n)).map(({ params: _, ...typed }) => typed), expected, `${n}: dm.table() is what was built`)
  const printed = dmsetup('table', n).split('\n').map((l) => l.trim()).filter(Boolean).join('\n')
  t.equal(printed, formatTable(expected as TargetInput[]), `${n}: dmsetup table prints the same line`)
}

t.test('builder functions verity, mirror, raid, snapshotMerge: loaded, read back equal, same line as dmsetup', async (t) => {
  // verity with the builder's defaults (format 1, 4 KiB blocks, sha256, no salt): digest = sha256(block)
  const data = loopDevice(1)
  const hash = loopDevice(1)
  const content = randomBytes(8 * 4096)
  writeDevice(data.path, 0, content)
  const level = Buffer.alloc(4096)
  for (let i = 0; i < 8; i++) createHash('sha256').update(content.subarray(i * 4096, (i + 1) * 4096)).digest().copy(level, i * 32)
  writeDevice(hash.path, 0, level)
  const v = verity(64, data.path, hash.path, createHash('sha256').update(level).digest('hex'))
  await roundTrip(t, name('b-verity'), [v], [{ ...v, start: 0, dataDevice: devno(data.path), hashDevice: devno(hash.path) }], true)
  const block = execFileSync('dd', [`if=${devPath(name('b-verity'))}`, 'bs=4096', 'skip=5', 'count=1', 'iflag=direct', 'status=none'])
  t.same(block, content.subarray(5 * 4096, 6 * 4096), 'a block verifies against the built root digest')
  t.match((await dm.status(name('b-verity')))[0], { type: 'verity', state: 'verified' })

  const [a, b] = [loopDevice(4), loopDevice(4)]
  const m = mirror(8192, [{ device: a.path }, { device: b.path }])
  await roundTrip(t, name('b-mirror'), [m], [{ ...m, start: 0, mirrors: [{ device: devno(a.path), offset: 0 }, { device: devno(b.path), offset: 0 }] }])

  const [m1, d1, m2, d2] = [loopDevice(4), loopDevice(8), loopDevice(4), loopDevice(8)]
  const r = raid(8192, 'raid1', [{ metadata: m1.path, data: d1.path }, { metadata: m2.path, data: d2.path }], { options: ['region_size', '1024'] })
  await roundTrip(t, name('b-raid'), [r], [{ ...r, start: 0, devices: [{ metadata: devno(m1.path), data: devno(d1.path) }, { metadata: devno(m2.path), data: devno(d2.path) }] }])

  // snapshot-merge over a fresh persistent COW: nothing to merge, so it reports merged at once
  const [base, cow] = [loopDevice(4), loopDevice(4)]
  const sm = snapshotMerge(8192, base.path, cow.path)
  await roundTrip(t, name('b-merge'), [sm], [{ ...sm, start: 0, origin: devno(base.path), cow: devno(cow.path) }])
  t.match((await dm.status(name('b-merge')))[0], { type: 'snapshot-merge', state: 'active', merged: true })
})
