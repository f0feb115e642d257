// Issue 10 and 14 in the kernel, for the facade: libdm's name rules, the node decided before the kernel call
// (manual mode: a directory or file at /dev/mapper/<name>), half-made devices explained and swept by their
// uuid mark, EBUSY naming holders and openers, rename/setUuid returning what the kernel has, and table errors
// checked before the ioctl or explained from the kernel log afterwards.
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { t } from 'tap'
import { DeviceMapper } from '../../ts'
import { dm, dmsetup, loopDevice, name, prefix, sweep, sweepKilledCookies } from './helpers'

t.teardown(() => {
  sweep()
  sweepKilledCookies() // the SIGKILL test kills creates that may wait on udev
})

const manual = new DeviceMapper({ udev: 'manual' })
const ours = () => dm.listSync().filter((d) => d.name.startsWith(prefix)).map((d) => d.name)
const inKernel = (n: string): boolean => {
  try {
    dmsetup('info', n)
    return true
  } catch {
    return false
  }
}

t.test("create and rename follow libdm's name rules; 'hex' mangles as dmsetup does", async (t) => {
  for (const bad of ['a b', 'a*b', 'a%b', 'a\nb']) {
    t.throws(() => dm.createSync(name(bad), '0 8 zero'), { code: 'EINVAL', field: 'name' }, JSON.stringify(bad))
  }
  t.same(ours(), [], 'nothing was created')
  const ok = name('rule-ok')
  await dm.create(ok, '0 8 zero')
  await t.rejects(dm.rename(ok, name('with space')), { code: 'EINVAL', field: 'newName' })
  t.ok(inKernel(ok), 'not renamed')
  await dm.remove(ok)

  const hex = new DeviceMapper({ nameMangling: 'hex' })
  const spaced = name('sp ace')
  const info = await hex.create(spaced, '0 8 zero')
  t.equal(info.name, name('sp\\x20ace'), "the kernel has libdm's mangled form")
  t.equal(dmsetup('info', '-c', '--noheadings', '-o', 'minor', spaced).trim(), String(info.minor), 'dmsetup finds it by the unmangled name')
  t.match(await hex.info(spaced), { minor: info.minor }, 'so does devmapper in hex mode')
  await hex.remove(spaced)
  t.same(ours(), [])
})

t.test('manual mode: something that is not a node at /dev/mapper/<name> is refused before the kernel call', async (t) => {
  const n = name('nodedir')
  const path = `/dev/mapper/${n}`
  mkdirSync(path)
  t.teardown(() => rmSync(path, { recursive: true, force: true }))
  t.throws(() => manual.createSync(n, '0 8 zero'), { code: 'EEXIST', message: /not a block device node or symlink.*nothing was changed/ })
  await t.rejects(manual.create(n, '0 8 zero'), { code: 'EEXIST' })
  t.notOk(inKernel(n), 'no device was created')
  rmdirSync(path)
  writeFileSync(path, 'a regular file')
  t.throws(() => manual.createSync(n, '0 8 zero'), { code: 'EEXIST' })
  t.notOk(inKernel(n), 'no device was created (regular file)')
  rmSync(path)
  const info = await manual.create(n, '0 8 zero')
  t.ok(existsSync(path), 'with the path free, create works and makes the node')

  const to = name('nodedir-to')
  mkdirSync(`/dev/mapper/${to}`)
  t.teardown(() => rmSync(`/dev/mapper/${to}`, { recursive: true, force: true }))
  await t.rejects(manual.rename(n, to), { code: 'EEXIST' })
  t.ok(inKernel(n) && !inKernel(to), 'the kernel name stayed')
  t.ok(existsSync(path), 'and so did the old node')
  rmdirSync(`/dev/mapper/${to}`)
  const renamed = await manual.rename(n, to)
  t.match(renamed, { name: to, path: `/dev/mapper/${to}`, minor: info.minor }, 'rename resolves with the name the kernel now has')
  t.notOk(existsSync(path), 'the old node went')
  await manual.remove(to)
})

t.test('a half-made device (no live table) is named as such; removeHalfMade sweeps the marked ones', async (t) => {
  const p = `DMT${process.pid}-`
  const marked = new DeviceMapper({ uuidPrefix: p })
  const h = name('half')
  // what a SIGKILL between DEV_CREATE and TABLE_LOAD leaves behind, with devmapper's mark
  dmsetup('create', '--notable', '-u', `${p}killed`, h)
  await t.rejects(marked.create(h, '0 8 zero'), { code: 'EBUSY', message: /already exists half-made \(no live table.*remove\(/ })
  const h2 = name('half-inactive')
  dmsetup('create', '--notable', '-u', `${p}killed2`, h2)
  dmsetup('load', h2, '--table', '0 8 zero') // killed between TABLE_LOAD and the resume
  await t.rejects(marked.create(h2, '0 8 zero'), { code: 'EBUSY', message: /half-made \(no live table, an inactive one loaded/ })
  const foreign = name('half-foreign')
  dmsetup('create', '--notable', '-u', `OTHER-${process.pid}`, foreign)
  const live = await marked.create(name('live'), '0 8 zero')
  t.match(live.uuid, new RegExp(`^${p}`), 'creates carry the mark')
  t.same((await marked.removeHalfMade()).sort(), [h, h2].sort(), 'exactly the marked half-made devices')
  t.ok(inKernel(foreign) && inKernel(name('live')), 'unmarked and live devices stay')
  t.notOk(inKernel(h) || inKernel(h2))
  await dm.remove(foreign)
  await dm.remove(name('live'))
})

t.test('EBUSY on remove names the holder by its dm name and the process and fd that have it open', async (t) => {
  const base = name('busy-base')
  const top = name('busy-top')
  const b = await dm.create(base, '0 64 zero')
  const top1 = await dm.create(top, `0 64 linear ${b.major}:${b.minor} 0`)
  await t.rejects(dm.remove(base, { retries: 0 }), { code: 'EBUSY', message: new RegExp(`held by ${top} \\(dm-${top1.minor}\\)`) })
  const fd = openSync(`/dev/dm-${top1.minor}`, 'r')
  try {
    await t.rejects(dm.remove(top, { retries: 0 }), { code: 'EBUSY', message: new RegExp(`open in pid ${process.pid} \\(node\\) fd ${fd}`) })
  } finally {
    closeSync(fd)
  }
  await dm.remove(top)
  await dm.remove(base)
})

t.test('setUuid resolves with the uuid the kernel has; a second one says it is already set', async (t) => {
  const n = name('uuid')
  await dm.create(n, '0 8 zero')
  const info = await dm.setUuid(n, `U-${process.pid}`)
  t.equal(info.uuid, `U-${process.pid}`)
  t.equal(dmsetup('info', '-c', '--noheadings', '-o', 'uuid', n).trim(), `U-${process.pid}`)
  t.throws(() => dm.setUuidSync(n, 'another'), { code: 'EINVAL', message: new RegExp(`already has uuid 'U-${process.pid}'`) })
  await dm.remove(n)
})

t.test('table errors: checked before the ioctl where knowable, explained from the kernel log otherwise', async (t) => {
  const n = name('tbl')
  const loop = loopDevice(1)
  t.throws(() => dm.createSync(n, '0 8 linear /dev/loop-no-such 0'), { code: 'ENODEV', field: 'table[0].params', message: /does not exist/ })
  t.throws(() => dm.createSync(n, `0 8 linear ${loop.file} 0`), { code: 'ENODEV', message: /not a block device \(a regular file/ })
  t.throws(() => dm.createSync(n, '0 8 linear 259:999 0'), { code: 'ENXIO', message: /no block device 259:999/ })
  t.throws(() => dm.createSync(n, '0 8 nosuchtarget'), { code: 'EINVAL', field: 'table[0].type', message: /not a target type this kernel knows/ })
  t.same(ours(), [], 'nothing was created, nothing left behind')
  // the kernel's own complaint: linear wants 2 arguments
  const err = await dm.create(n, `0 8 zero\n8 8 linear ${loop.path}`).catch((e: unknown) => e)
  t.match(err, { code: 'EINVAL', operation: 'DM_TABLE_LOAD', field: 'table[1]', message: /the kernel refused table\[1\] \(linear\): .*argument/i })
  t.same(ours(), [], 'the half-made device was removed')
  await dm.create(n, '0 8 zero')
  t.throws(() => dm.loadSync(n, `0 8 linear ${loop.path}`), { code: 'EINVAL', message: /the kernel refused table\[0\] \(linear\)/ })
  const missing = (() => {
    try {
      dm.loadSync(name('missing'), '0 8 zero')
    } catch (e) {
      return e as Error
    }
  })()
  t.match(missing, { code: 'ENXIO', operation: 'DM_TABLE_LOAD' }, 'a missing dm device is ENXIO')
  t.notMatch(missing?.message, /a device in the table/, 'and is not blamed on the table')
  await dm.remove(n)
})

t.test('SIGKILL during creates: whatever is left half-made is named at create and swept by removeHalfMade', async (t) => {
  const mark = `KILL${process.pid}-`
  const entry = join(__dirname, '..', '..', 'ts', 'index.js')
  // a child that creates and removes marked devices as fast as it can, until it is killed
  const script = `
    const { DeviceMapper } = require(${JSON.stringify(entry)})
    const dm = new DeviceMapper({ uuidPrefix: ${JSON.stringify(mark)}, udev: 'manual' })
    process.stdout.write('ready\\n')
    for (let i = 0; ; i++) { const n = ${JSON.stringify(name('k'))} + (i % 4); try { dm.createSync(n, '0 8 zero'); dm.removeSync(n) } catch {} }`
  for (let round = 0; round < 8; round++) {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise((ready) => child.stdout.once('data', ready))
    await sleep(20 + round * 15)
    child.kill('SIGKILL')
    await new Promise((exited) => child.once('exit', exited))
  }
  const marked = new DeviceMapper({ uuidPrefix: mark, udev: 'manual' })
  const left = dm.listSync().filter((d) => d.uuid?.startsWith(mark))
  const half = left.filter((d) => !dm.infoSync({ major: d.major, minor: d.minor }).activeTable).map((d) => d.name)
  for (const n of half) t.throws(() => marked.createSync(n, '0 8 zero'), { code: 'EBUSY', message: /half-made/ }, `create of ${n} names it half-made`)
  t.same((await marked.removeHalfMade()).sort(), half.sort(), `removeHalfMade removed the ${half.length} half-made device(s)`)
  t.ok(dm.listSync().filter((d) => d.uuid?.startsWith(mark)).every((d) => dm.infoSync({ major: d.major, minor: d.minor }).activeTable), 'no marked device without a live table is left')
  for (const d of dm.listSync().filter((x) => x.uuid?.startsWith(mark))) await marked.remove(d.name)
})
