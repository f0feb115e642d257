// Loop devices by ioctl against the real kernel, every call and option checked from the other side with
// `losetup --list --json` (and blockdev, sysfs, dmsetup): attach through LOOP_CONFIGURE and through the legacy
// LOOP_SET_FD path, info/list/find/resize/detach and their Sync twins, 64 concurrent attaches, long paths,
// renames, direct I/O on ext4 and its refusal on tmpfs, autoclear, a thin pool grown through its loop device.
import { execFileSync, spawn } from 'node:child_process'
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { t, type Test } from 'tap'
import { DmError, loop, type LoopInfo } from '../../ts'
import { native } from '../../ts/core/native'
import { dm, dmsetup, name, readDevice, sh, sweep, writeDevice } from './helpers'

const MiB = 1024 * 1024
t.setTimeout(240_000) // 64 devices made and torn down, an ext4 made: more than tap's default 30 s in UML
const scratch = mkdtempSync('/tmp/devmapper-loop-test-')
const mine = new Set<string>() // backing files this file made; the teardown detaches whatever still uses them

t.teardown(() => {
  sweep()
  for (const file of mine) {
    try {
      for (const l of loop.findSync(file)) loop.detachSync(l.path)
    } catch {
      // gone already
    }
  }
  try {
    sh('umount', ['-l', join(scratch, 'ext4')])
  } catch {
    // not mounted
  }
  rmSync(scratch, { recursive: true, force: true })
})

function file(label: string, bytes: number, dir = scratch): string {
  const f = join(dir, `${label}.img`)
  writeFileSync(f, '')
  truncateSync(f, bytes)
  mine.add(f)
  return f
}

interface LosetupRow {
  name: string
  'back-file': string | null
  offset: number | string
  sizelimit: number | string
  ro: boolean | string
  autoclear: boolean | string
  dio: boolean | string
  partscan: boolean | string
  'log-sec': number | string
  'maj:min': string
  'back-ino': number | string
  'back-maj:min': string
}

/** losetup's view of one device (undefined if it does not list it), fields normalised to strings. */
function losetup(path: string): Record<string, string> | undefined {
  const out = sh('losetup', ['--list', '--json', '-O', 'NAME,BACK-FILE,OFFSET,SIZELIMIT,RO,AUTOCLEAR,DIO,PARTSCAN,LOG-SEC,MAJ:MIN,BACK-INO,BACK-MAJ:MIN'])
  if (out.trim() === '') return undefined
  const rows = (JSON.parse(out) as { loopdevices: LosetupRow[] }).loopdevices
  const row = rows.find((r) => r.name === path)
  if (!row) return undefined
  const flag = (v: boolean | string): string => (v === true || v === '1' ? '1' : '0')
  return {
    backFile: String(row['back-file']).replace(/\s+$/, ''),
    offset: String(row.offset),
    sizelimit: String(row.sizelimit),
    ro: flag(row.ro),
    autoclear: flag(row.autoclear),
    dio: flag(row.dio),
    partscan: flag(row.partscan),
    logSec: String(row['log-sec']),
    majMin: String(row['maj:min']).trim(),
    backIno: String(row['back-ino']),
    backMajMin: String(row['back-maj:min']).trim(),
  }
}

/** Our info and losetup's agree on every column both have. */
function agrees(t: Test, info: LoopInfo, what: string): void {
  const row = losetup(info.path)
  if (!row) {
    t.fail(`${what}: losetup does not list ${info.path}`)
    return
  }
  t.same(
    row,
    {
      backFile: info.backingFile,
      offset: String(info.offset),
      sizelimit: String(info.sizeLimit),
      ro: info.readOnly ? '1' : '0',
      autoclear: info.autoclear ? '1' : '0',
      dio: info.directIo ? '1' : '0',
      partscan: info.partscan ? '1' : '0',
      logSec: String(info.blockSize),
      majMin: `${info.major}:${info.minor}`,
      backIno: String(info.backingInode),
      backMajMin: info.backingDevice,
    },
    `${what}: losetup --list --json agrees`,
  )
  t.equal(Number(sh('blockdev', ['--getsize64', info.path]).trim()), info.sizeBytes, `${what}: blockdev --getsize64 agrees`)
}

/** Waits (up to 10 s) until the kernel has unbound the device (its sysfs `loop` group goes at clear): udev's
 * blkid may hold it a moment after a detach, and the kernel then detaches at that last close. */
async function gone(path: string): Promise<boolean> {
  const group = `/sys/block/${path.replace('/dev/', '')}/loop`
  for (let i = 0; i < 200; i++) {
    if (!existsSync(group)) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

function attachedCount(): number {
  // With udev running, its probe of a fresh loop device can hold it open for a moment: LOOP_CLR_FD then frees
  // the device at that last close, so let udev finish first.
  if (process.env.DEVMAPPER_UDEV === '1') execFileSync('udevadm', ['settle'])
  return loop.listSync().length
}

t.test('attach with defaults; info by path and number; list; detach; a second detach is a DmError', async (t) => {
  const f = file('plain', 4 * MiB)
  const l = await loop.attach(f)
  t.match(l, {
    path: /^\/dev\/loop\d+$/, major: 7, backingFile: f, offset: 0, sizeLimit: 0,
    readOnly: false, autoclear: false, directIo: false, partscan: false, sizeBytes: 4 * MiB, blockSize: 512,
  })
  t.equal(l.path, `/dev/loop${l.number}`)
  t.equal(l.backingInode, statSync(f).ino)
  agrees(t, l, 'attach')
  t.same(await loop.info(l.path), l, 'info by path')
  t.same(await loop.info(l.number), l, 'info by number')
  t.same(loop.infoSync(l.number), l, 'infoSync')
  t.ok((await loop.list()).some((d) => d.path === l.path), 'list has it')
  t.same(loop.listSync().map((d) => d.path), (await loop.list()).map((d) => d.path), 'listSync = list')
  t.same(
    loop.listSync().map((d) => d.path).sort(),
    (JSON.parse(sh('losetup', ['--list', '--json']) || '{"loopdevices":[]}') as { loopdevices: { name: string }[] }).loopdevices.map((d) => d.name).sort(),
    'list = every device losetup lists',
  )
  writeDevice(l.path, 512, Buffer.alloc(512, 0x3c))
  t.same(readDevice(l.path, 512, 512), Buffer.alloc(512, 0x3c), 'reads back what was written')

  await loop.detach(l.path)
  t.ok(await gone(l.path), 'unbound')
  t.equal(losetup(l.path), undefined, 'losetup no longer lists it')
  await t.rejects(loop.detach(l.path), { name: 'DmError', code: 'ENXIO', operation: 'LOOP_CLR_FD', device: l.path }, 'second detach')
  t.throws(() => loop.detachSync(l.number), { code: 'ENXIO', operation: 'LOOP_CLR_FD' }, 'second detachSync')
  await t.rejects(loop.info(l.path), { code: 'ENXIO', operation: 'LOOP_GET_STATUS64' }, 'info of a detached device')
})

for (const legacyConfigure of [false, true]) {
  const how = legacyConfigure ? 'LOOP_SET_FD + LOOP_SET_STATUS64' : 'LOOP_CONFIGURE'
  t.test(`every option through ${how}: offset, sizeLimit, readOnly, blockSize, partscan`, async (t) => {
    const f = file(`opts-${legacyConfigure}`, 8 * MiB)
    // An MBR with one partition at 1 MiB, 1 MiB long, so partscan has something to find.
    const mbr = Buffer.alloc(512)
    mbr[446 + 4] = 0x83
    mbr.writeUInt32LE(2048, 446 + 8)
    mbr.writeUInt32LE(2048, 446 + 12)
    mbr.writeUInt16LE(0xaa55, 510)
    const fd = openSync(f, 'r+')
    writeSync(fd, mbr, 0, 512, 0)
    writeSync(fd, Buffer.alloc(4096, 0x77), 0, 4096, 4096)
    closeSync(fd)

    const plain = loop.attachSync(f, { partscan: true, legacyConfigure })
    t.match(plain, { partscan: true, offset: 0, sizeBytes: 8 * MiB })
    agrees(t, plain, 'partscan')
    t.ok(existsSync(`/sys/block/loop${plain.number}/loop${plain.number}p1`), 'the partition was found')
    loop.detachSync(plain.path)

    const l = loop.attachSync(f, { offset: 4096, sizeLimit: 2 * MiB, readOnly: true, blockSize: 4096, legacyConfigure })
    t.match(l, { offset: 4096, sizeLimit: 2 * MiB, readOnly: true, blockSize: 4096, sizeBytes: 2 * MiB, partscan: false, autoclear: false })
    agrees(t, l, 'offset/sizeLimit/readOnly/blockSize')
    // 4096-byte sectors: direct I/O in whole blocks
    const first = execFileSync('dd', [`if=${l.path}`, 'bs=4096', 'count=1', 'iflag=direct', 'status=none'])
    t.same(first, Buffer.alloc(4096, 0x77), 'byte 0 of the device is byte 4096 of the file')
    t.throws(
      () => execFileSync('dd', [`of=${l.path}`, 'bs=4096', 'count=1', 'oflag=direct', 'conv=notrunc', 'status=none'], { input: Buffer.alloc(4096), stdio: ['pipe', 'pipe', 'pipe'] }),
      /Operation not permitted|Read-only/,
      'a read-only device refuses writes',
    )
    t.equal(sh('blockdev', ['--getss', l.path]).trim(), '4096', 'logical sector size 4096')
    t.equal(sh('blockdev', ['--getro', l.path]).trim(), '1')
    await loop.detach(l.number)
    t.ok(await gone(l.path))

    // sizeLimit past the end of the file: the end of the file wins.
    const long = await loop.attach(f, { offset: 7 * MiB, sizeLimit: 4 * MiB, legacyConfigure })
    t.equal(long.sizeBytes, 1 * MiB)
    agrees(t, long, 'sizeLimit beyond the end')
    loop.detachSync(long.path)
  })
}

t.test('bad input is refused before any ioctl, naming the field; nothing is left attached', async (t) => {
  const f = file('bad', 1 * MiB)
  mkdirSync(join(scratch, 'adir'), { recursive: true })
  const before = attachedCount()
  await t.rejects(loop.attach(join(scratch, 'missing.img')), { name: 'DmError', code: 'ENOENT', field: 'file' })
  t.throws(() => loop.attachSync(join(scratch, 'adir')), { code: 'EINVAL', field: 'file' })
  await t.rejects(loop.attach(f, { offset: -512 }), { code: 'EINVAL', field: 'offset' })
  await t.rejects(loop.attach(f, { offset: 1 * MiB }), { code: 'EINVAL', field: 'offset' }, 'offset at the end')
  await t.rejects(loop.attach(f, { offset: 2 * MiB }), { code: 'EINVAL', field: 'offset' }, 'offset past the end')
  await t.rejects(loop.attach(f, { sizeLimit: -1 }), { code: 'EINVAL', field: 'sizeLimit' })
  await t.rejects(loop.attach(f, { blockSize: 1000 }), { code: 'EINVAL', field: 'blockSize' })
  await t.rejects(loop.attach(f, { blockSize: 8192 }), { code: 'EINVAL', field: 'blockSize' })
  await t.rejects(loop.attach(f, { readOnly: 'yes' as unknown as boolean }), { code: 'EINVAL', field: 'readOnly' })
  t.equal(attachedCount(), before, 'no device was attached')
  await t.rejects(loop.info('/dev/null'), { code: 'EINVAL', field: 'device' }, 'not a loop device')
  await t.rejects(loop.info(-1), { code: 'EINVAL', field: 'device' })
  await t.rejects(loop.info(1048575), { code: 'ENXIO' }, 'a loop number the kernel does not have')
  await t.rejects(loop.find(join(scratch, 'missing.img')), { name: 'DmError', code: 'ENOENT' }, 'find of a missing file')
  t.throws(() => loop.findSync(join(scratch, 'missing.img')), { code: 'ENOENT' })
})

t.test('directIo: refused on tmpfs (no O_DIRECT) and on an unaligned offset; on ext4 it is on', async (t) => {
  const f = file('dio-tmpfs', 1 * MiB)
  const before = attachedCount()
  const err = await loop.attach(f, { directIo: true }).catch((e: unknown) => e)
  t.ok(err instanceof DmError, 'a DmError')
  t.match(err, { code: 'EINVAL', field: 'directIo' })
  t.equal(attachedCount(), before, 'nothing attached')

  // An ext4 file system on a loop device of our own, and a file on it.
  const disk = loop.attachSync(file('ext4disk', 64 * MiB))
  execFileSync('mkfs.ext4', ['-q', '-F', disk.path], { stdio: 'ignore' })
  const mnt = join(scratch, 'ext4')
  mkdirSync(mnt, { recursive: true })
  sh('mount', ['-t', 'ext4', disk.path, mnt])
  try {
    const g = file('dio', 8 * MiB, mnt)
    for (const legacyConfigure of [false, true]) {
      const l = await loop.attach(g, { directIo: true, legacyConfigure })
      t.equal(l.directIo, true, `direct I/O on (${legacyConfigure ? 'LOOP_SET_DIRECT_IO' : 'LOOP_CONFIGURE'})`)
      agrees(t, l, 'directIo')
      t.equal(sh('cat', [`/sys/block/loop${l.number}/loop/dio`]).trim(), '1')
      writeDevice(l.path, 0, Buffer.alloc(4096, 0x11))
      t.same(readDevice(l.path, 0, 4096), Buffer.alloc(4096, 0x11))
      await loop.detach(l.path)
      t.ok(await gone(l.path))
    }
    // The kernel quietly drops direct I/O when the offset is not aligned to the backing block size.
    const mid = attachedCount()
    await t.rejects(loop.attach(g, { directIo: true, offset: 100 }), { name: 'DmError', code: 'EINVAL', field: 'directIo' })
    t.equal(attachedCount(), mid, 'the half-attached device was detached again')
    t.same(await loop.find(g), [], 'no device uses the file')
  } finally {
    sh('umount', [mnt])
    loop.detachSync(disk.path)
  }
})

t.test('64 concurrent attaches get 64 distinct devices', async (t) => {
  // The guest's loop.ko starts with 8 devices (CONFIG_BLK_DEV_LOOP_MIN_COUNT); LOOP_CTL_GET_FREE adds the rest.
  const files = Array.from({ length: 64 }, (_, i) => file(`many${i}`, 64 * 1024))
  const started = Date.now()
  const all = await Promise.all(files.map((f) => loop.attach(f)))
  t.comment(`64 attaches: ${Date.now() - started} ms`)
  t.equal(new Set(all.map((l) => l.path)).size, 64, '64 different devices')
  t.same(all.map((l) => l.backingFile), files, 'each on its own file')
  const listed = JSON.parse(sh('losetup', ['--list', '--json'])) as { loopdevices: { name: string; 'back-file': string }[] }
  for (const l of all) {
    const row = listed.loopdevices.find((r) => r.name === l.path)
    if (row?.['back-file'].trim() !== l.backingFile) t.fail(`losetup shows ${l.path} on ${row?.['back-file']}`)
  }
  t.pass('losetup lists every one on its file')
  await Promise.all(all.map((l) => loop.detach(l.path)))
  for (const l of all) if (!(await gone(l.path))) t.fail(`${l.path} still attached`)
  t.same(files.flatMap((f) => loop.findSync(f)), [], 'all detached')
  const after = (JSON.parse(sh('losetup', ['--list', '--json']) || '{"loopdevices":[]}') as { loopdevices: { name: string }[] }).loopdevices
  t.notOk(after.some((r) => all.some((l) => l.path === r.name)), 'losetup lists none of them')
})

t.test('EBUSY between LOOP_CTL_GET_FREE and LOOP_CONFIGURE is retried, boundedly; nothing is left behind', async (t) => {
  // Someone else binding the free device first looks like EBUSY from LOOP_CONFIGURE: simulate it for a while.
  const real = { configure: native.loop.configure, configureSync: native.loop.configureSync }
  let busy = 0
  let calls = 0
  native.loop.configure = (...args) => (++calls <= busy ? Promise.resolve(16) : real.configure(...args))
  native.loop.configureSync = (...args) => (++calls <= busy ? 16 : real.configureSync(...args))
  t.teardown(() => Object.assign(native.loop, real))
  const f = file('busy', 1 * MiB)
  busy = 3
  const l = await loop.attach(f)
  t.equal(calls, 4, 'three EBUSY, then bound')
  agrees(t, l, 'after retries')
  loop.detachSync(l.path)
  calls = 0
  busy = 1000
  const before = attachedCount()
  t.throws(() => loop.attachSync(f), { name: 'DmError', code: 'EBUSY', operation: 'LOOP_CONFIGURE' }, 'gives up')
  t.equal(calls, 32, 'after 32 attempts')
  t.equal(attachedCount(), before, 'nothing attached')
  Object.assign(native.loop, real)

  // The real race: two other processes attach through devmapper while this one does.
  const script = `const { loop } = require(${JSON.stringify(join(__dirname, '..', '..', 'ts'))});
    const out = []; for (const f of process.argv.slice(1)) out.push(loop.attachSync(f).path); console.log(JSON.stringify(out))`
  const sets = [0, 1, 2].map((k) => Array.from({ length: 12 }, (_, i) => file(`race${k}-${i}`, 64 * 1024)))
  const children = sets.slice(1).map((group) => new Promise<string[]>((done, fail) => {
    const c = spawn(process.execPath, ['-e', script, ...group], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    c.stdout.on('data', (d: Buffer) => (out += d.toString()))
    c.on('close', (code) => (code === 0 ? done(JSON.parse(out) as string[]) : fail(new Error(`child exited ${code}`))))
  }))
  const ours = Promise.all(sets[0].map((f) => loop.attach(f))).then((ls) => ls.map((l) => l.path))
  const paths = await Promise.all([ours, ...children])
  t.equal(new Set(paths.flat()).size, 36, '36 distinct devices across three processes')
  sets.forEach((group, k) => group.forEach((f, i) => {
    const found = loop.findSync(f).map((l) => l.path)
    if (found.length !== 1 || found[0] !== paths[k][i]) t.fail(`${f}: ${found.join(', ')} instead of ${paths[k][i]}`)
  }))
  t.pass('each on its own file')
  for (const p of paths.flat()) loop.detachSync(p)
})

t.test('a backing path of 200+ bytes comes back whole (sysfs, not the 64-byte lo_file_name)', async (t) => {
  let dir = scratch
  for (let i = 0; i < 4; i++) dir = join(dir, `a-rather-long-directory-name-number-${i}-${'x'.repeat(20)}`)
  mkdirSync(dir, { recursive: true })
  const f = file('long-file-name-' + 'y'.repeat(40), 1 * MiB, dir)
  t.ok(Buffer.byteLength(f) > 200, `${Buffer.byteLength(f)} bytes`)
  const l = await loop.attach(f)
  t.equal(l.backingFile, f)
  agrees(t, l, 'long path')
  t.same((await loop.find(f)).map((d) => d.path), [l.path])
  await loop.detach(l.path)
})

t.test('find matches by device and inode, and follows a rename', async (t) => {
  const f = file('before-rename', 1 * MiB)
  const a = await loop.attach(f)
  const b = await loop.attach(f, { offset: 4096, readOnly: true })
  t.same((await loop.find(f)).map((d) => d.path).sort(), [a.path, b.path].sort(), 'both devices on the file')
  t.same(loop.findSync(f).map((d) => d.path).sort(), [a.path, b.path].sort(), 'findSync')
  const moved = join(scratch, 'after-rename.img')
  renameSync(f, moved)
  mine.add(moved)
  const found = await loop.find(moved)
  t.same(found.map((d) => d.path).sort(), [a.path, b.path].sort(), 'found under the new name')
  t.same(found.map((d) => d.backingFile), [moved, moved], 'backingFile is the new name')
  agrees(t, found[0], 'after rename')
  await t.rejects(loop.find(f), { code: 'ENOENT' }, 'the old name is gone')
  t.same(await loop.find(file('unrelated', 4096)), [], 'a file nobody uses')
  await loop.detach(a.path)
  loop.detachSync(b.path)
})

t.test('autoclear: the kernel detaches at the last close', async (t) => {
  // No other opener: attach's own close is the last one, so the device is free when attach returns.
  const f = file('autoclear', 1 * MiB)
  const l = await loop.attach(f, { autoclear: true })
  t.match(l, { autoclear: true, backingFile: f, sizeBytes: 1 * MiB }, 'the info read before the close')
  t.ok(await gone(l.path), 'and then the device is free')
  t.equal(losetup(l.path), undefined, 'losetup agrees')
  t.same(await loop.find(f), [])

  // With an opener: detach only marks the device; it goes at that opener's close.
  const g = file('held', 1 * MiB)
  const h = loop.attachSync(g)
  const fd = openSync(h.path, constants.O_RDONLY)
  try {
    await loop.detach(h.path)
    const still = await loop.info(h.path)
    t.equal(still.autoclear, true, 'held open: detach turned autoclear on')
    t.equal(losetup(h.path)?.autoclear, '1', 'losetup sees autoclear')
  } finally {
    closeSync(fd)
  }
  t.ok(await gone(h.path), 'freed at the last close')
})

t.test('a missing /dev/loopN node is made (block 7:N)', async (t) => {
  const f = file('node', 1 * MiB)
  const l = loop.attachSync(f)
  unlinkSync(l.path)
  t.notOk(existsSync(l.path))
  const again = await loop.info(l.number)
  t.equal(again.path, l.path)
  const st = statSync(l.path)
  t.ok(st.isBlockDevice(), 'a block node again')
  t.equal(st.rdev, l.major * 256 + l.minor, `${l.major}:${l.minor}`)
  loop.detachSync(l.path)
  // attach makes the node of the device LOOP_CTL_GET_FREE names, if it is missing.
  const next = Number(/loop(\d+)/.exec(sh('losetup', ['--find']).trim())![1])
  rmSync(`/dev/loop${next}`, { force: true })
  const m = await loop.attach(f)
  t.equal(m.number, next, 'the free device losetup predicted')
  t.ok(statSync(m.path).isBlockDevice())
  agrees(t, m, 'on a node made by attach')
  await loop.detach(m.path)
})

t.test("resize after truncate grows a thin pool's data device; then pool.growData", async (t) => {
  const meta = await loop.attach(file('pool-meta', 8 * MiB))
  const dataFile = file('pool-data', 8 * MiB)
  const data = loop.attachSync(dataFile)
  const pool = name('lpool')
  await dm.create(pool, `0 ${8 * 2048} thin-pool ${meta.path} ${data.path} 128 16`)
  const p = dm.thinPool(pool)
  const st = await p.status()
  t.match(st, { state: 'active', totalDataBlocks: 128 })

  truncateSync(dataFile, 32 * MiB)
  t.equal((await loop.info(data.path)).sizeBytes, 8 * MiB, 'the device keeps its size until told')
  const grown = await loop.resize(data.path)
  t.equal(grown.sizeBytes, 32 * MiB, 'LOOP_SET_CAPACITY took the new size')
  agrees(t, grown, 'after resize')
  await p.growData(32 * 2048)
  t.match(await p.status(), { state: 'active', totalDataBlocks: 512 }, 'the pool maps the whole data device')
  t.match(dmsetup('table', pool), new RegExp(`^0 ${32 * 2048} thin-pool`), 'dmsetup sees the longer table')

  truncateSync(dataFile, 48 * MiB)
  t.equal(loop.resizeSync(data.number).sizeBytes, 48 * MiB, 'resizeSync')
  await dm.remove(pool)
  await t.rejects(loop.resize(1048575), { code: 'ENXIO' })
  await loop.detach(data.path)
  t.ok(await gone(data.path))
  await t.rejects(loop.resize(data.path), { code: 'ENXIO', operation: 'LOOP_SET_CAPACITY' }, 'resize of a detached device')
  await loop.detach(meta.path)
})
