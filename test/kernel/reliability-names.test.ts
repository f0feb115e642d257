// Issue 10 in the kernel: names are bytes (two devices whose names differ only in bytes that are not UTF-8 are
// told apart, addressed exactly and the right one removed), libdm's name rules at create and rename, waitEvent
// following a rename, and a thin-pool handle on a device that is not a pool.
import { execFileSync } from 'node:child_process'
import { t } from 'tap'
import { dm, name, sweep } from './helpers'

t.teardown(sweep)

/** dmsetup with raw-byte arguments (JS strings cannot hold the byte 0xff as itself). */
function dmsetupBytes(args: Buffer[]): void {
  // printf turns \ooo into the byte; the shell passes bytes through untouched
  const quoted = args.map((a) => `"$(printf '${[...a].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}')"`)
  execFileSync('sh', ['-c', `dmsetup ${quoted.join(' ')}`], { stdio: ['ignore', 'pipe', 'pipe'] })
}

t.test('names that are not UTF-8 are listed losslessly, addressed exactly, and the right device is removed', async (t) => {
  const raw = Buffer.concat([Buffer.from(name('rb')), Buffer.from([0xff])]) // not UTF-8
  const fffd = Buffer.from(name('rb\ufffd')) // valid UTF-8 whose string form is the same as raw's lossy one
  for (const n of [raw, fffd]) dmsetupBytes([Buffer.from('create'), Buffer.from('--manglename'), Buffer.from('none'), n, Buffer.from('--table'), Buffer.from('0 8 zero')])
  const listed = (await dm.list()).filter((d) => d.name === name('rb\ufffd'))
  t.equal(listed.length, 2, 'both list with the same lossy string')
  const a = listed.find((d) => d.nameBuffer !== undefined)
  const b = listed.find((d) => d.nameBuffer === undefined)
  t.ok(a && b, 'exactly one of them carries its bytes')
  t.ok(a!.nameBuffer!.equals(raw), 'nameBuffer holds the exact bytes')
  t.notOk('nameBuffer' in b!, 'a valid UTF-8 name has no nameBuffer')

  const infoA = await dm.info(raw)
  t.match(infoA, { major: a!.major, minor: a!.minor }, 'info(Buffer) answers for that device')
  t.ok(infoA.nameBuffer?.equals(raw), 'and its info carries the bytes')
  t.equal(infoA.path, `/dev/dm-${a!.minor}`, 'its path is one that exists: /dev/dm-<minor>')
  t.match(dm.infoSync(name('rb\ufffd')), { minor: b!.minor }, 'the string names the UTF-8 one')
  t.match(dm.infoSync({ name: raw }), { minor: a!.minor })

  await dm.remove(raw)
  const left = (await dm.list()).filter((d) => d.name === name('rb\ufffd'))
  t.same(left.map((d) => d.minor), [b!.minor], 'remove(Buffer) removed exactly that device')
  dm.removeSync({ major: b!.major, minor: b!.minor })
  t.same((await dm.list()).filter((d) => d.name === name('rb\ufffd')), [])
})

t.test('waitEvent follows the device across a rename (by major:minor)', async (t) => {
  const before = name('wr-old')
  const after = name('wr-new')
  const info = await dm.create(before, '0 8 zero')
  const woken = dm.waitEvent(before, { signal: AbortSignal.timeout(20_000) })
  await dm.rename(before, after) // a rename wakes event waiters (dm_table_event)
  const got = await woken
  t.match(got, { name: after, major: info.major, minor: info.minor }, 'resolved with the device under its new name')
  await dm.remove(after)
})

t.test('a thin-pool handle on a device that is not a pool says so', async (t) => {
  const z = name('notpool')
  await dm.create(z, '0 8 zero')
  await t.rejects(dm.thinPool(z).createThin(0), { name: 'DmError', code: 'EINVAL', message: /not a thin-pool device \(its live table is zero\)/ })
  t.throws(() => dm.thinPool(z).deleteSync(0), { code: 'EINVAL', message: /not a thin-pool device/ })
  await dm.remove(z)
})
