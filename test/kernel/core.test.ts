// Every core command against the real kernel, checked from the other side with dmsetup.
import { openSync, closeSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { t } from 'tap'
import { DeviceMapper, DmError } from '../../ts'
import { devPath, dm, dmsetup, loopDevice, name, ours, sh, sweep, writeDevice } from './helpers'

t.teardown(sweep)

t.test('version and target versions match dmsetup', async (t) => {
  const v = await dm.version()
  const fromDmsetup = /Driver version:\s+(\d+)\.(\d+)\.(\d+)/.exec(dmsetup('version'))!
  t.same(v, { major: +fromDmsetup[1], minor: +fromDmsetup[2], patch: +fromDmsetup[3] })
  t.same(dm.versionSync(), v)
  const targets = await dm.targetVersions()
  for (const type of ['linear', 'striped', 'zero', 'error', 'snapshot', 'thin-pool']) {
    t.ok(targets.some((x) => x.name === type), `${type} is registered`)
  }
  const zero = targets.find((x) => x.name === 'zero')!
  t.same(await dm.targetVersion('zero'), zero.version)
  t.same(dm.targetVersionSync('zero'), zero.version)
  const listed = dmsetup('targets')
  t.match(listed, new RegExp(`zero\\s+v${zero.version.join('\\.')}`))
  await t.rejects(dm.targetVersion('no-such-target'), { code: 'EINVAL', operation: 'DM_GET_TARGET_VERSION' })
})

t.test('create, info, table, status, list agree with dmsetup', async (t) => {
  const n = name('zero')
  const info = await dm.create(n, [{ start: 0, length: 2048, type: 'zero' }], { uuid: `${n}-uuid` })
  t.equal(info.name, n)
  t.equal(info.uuid, `${n}-uuid`)
  t.equal(info.suspended, false)
  t.equal(info.activeTable, true)
  t.equal(info.inactiveTable, false)
  t.equal(info.targetCount, 1)
  t.equal(info.openCount, 0)
  const d = dmsetup('info', '-c', '--noheadings', '--separator', '|', '-o', 'name,major,minor,uuid,attr,segments', n).trim().split('|')
  t.same(d, [n, String(info.major), String(info.minor), `${n}-uuid`, 'L--w', '1'])
  t.same(await dm.table(n), [{ start: 0, length: 2048, type: 'zero', params: '' }])
  t.equal(dmsetup('table', n).trim(), '0 2048 zero')
  t.same(
    (await dm.status(n)).map((x) => ({ start: x.start, length: x.length, type: x.type })),
    [{ start: 0, length: 2048, type: 'zero' }],
  )
  t.equal(dmsetup('status', n).trim(), '0 2048 zero')
  const listed = (await dm.list()).find((x) => x.name === n)!
  t.same(listed, { name: n, major: info.major, minor: info.minor, uuid: `${n}-uuid`, eventNr: info.eventNr })
  t.same(await dm.info({ uuid: `${n}-uuid` }), info)
  t.same(await dm.info({ major: info.major, minor: info.minor }), info)
  await dm.remove(n)
  t.notOk(ours().includes(n), 'removed')
  t.throws(() => dmsetup('info', n), 'dmsetup no longer sees it')
})

t.test('a device made by dmsetup reads correctly through devmapper', async (t) => {
  const loop = loopDevice(4)
  const n = name('bydmsetup')
  dmsetup('create', n, '-u', `${n}-u`, '--table', `0 4096 linear ${loop.path} 2048\n4096 2048 zero`)
  const info = await dm.info(n)
  t.equal(info.uuid, `${n}-u`)
  t.equal(info.targetCount, 2)
  const [maj, min] = dmsetup('info', '-c', '--noheadings', '-o', 'major,minor', n).trim().split(':').map(Number)
  t.same([info.major, info.minor], [maj, min])
  const table = await dm.table(n)
  const loopDev = dmsetup('deps', '-o', 'devno', n).match(/\((\d+), (\d+)\)/)!
  t.same(table, [
    { start: 0, length: 4096, type: 'linear', params: `${loopDev[1]}:${loopDev[2]} 2048` },
    { start: 4096, length: 2048, type: 'zero', params: '' },
  ].map((x) => ({ ...table.find((y) => y.start === x.start), ...x })))
  t.same(await dm.deps(n), [{ major: +loopDev[1], minor: +loopDev[2] }])
  t.same(dm.depsSync(n), await dm.deps(n))
  dmsetup('remove', n)
})

t.test('validation: every rule rejects before any ioctl, naming the field', async (t) => {
  const before = ours()
  const zero = [{ length: 8, type: 'zero' }]
  const cases: [string, () => unknown, string][] = [
    ['empty name', () => dm.createSync('', zero), 'name'],
    ['128-byte name', () => dm.createSync('x'.repeat(128), zero), 'name'],
    ['slash', () => dm.createSync(name('a/b'), zero), 'name'],
    ['dot', () => dm.createSync('.', zero), 'name'],
    ['dotdot', () => dm.createSync('..', zero), 'name'],
    ['control', () => dm.createSync('control', zero), 'name'],
    ['129-byte uuid', () => dm.createSync(name('u'), zero, { uuid: 'u'.repeat(129) }), 'uuid'],
    ['16-char type', () => dm.createSync(name('t'), [{ length: 8, type: 'abcdefghijklmnop' }]), 'table[0].type'],
    ['gap', () => dm.createSync(name('g'), [{ length: 8, type: 'zero' }, { start: 9, length: 8, type: 'zero' }]), 'table[1].start'],
    ['not from 0', () => dm.createSync(name('s'), [{ start: 1, length: 8, type: 'zero' }]), 'table[0].start'],
    ['zero length', () => dm.createSync(name('l'), [{ length: 0, type: 'zero' }]), 'table[0].length'],
    ['negative length', () => dm.createSync(name('n'), [{ length: -8, type: 'zero' }]), 'table[0].length'],
    ['unsafe integer', () => dm.createSync(name('i'), [{ length: 2 ** 53, type: 'zero' }]), 'table[0].length'],
    ['newline in params', () => dm.createSync(name('p'), [{ length: 8, type: 'linear', params: '/dev/x 0\n0 8 zero' }]), 'table[0].params'],
    ['NUL in params', () => dm.createSync(name('q'), [{ length: 8, type: 'linear', params: '/dev/x\0 0' }]), 'table[0].params'],
    ['empty table', () => dm.createSync(name('e'), []), 'table'],
    ['bad text line', () => dm.createSync(name('x'), '0 eight zero'), 'table line 1 length'],
  ]
  for (const [what, fn, field] of cases) {
    const err = (() => {
      try {
        fn()
      } catch (e) {
        return e
      }
    })()
    t.type(err, DmError, `${what}: DmError`)
    t.match(err, { code: 'EINVAL', errno: 22, field }, `${what}: EINVAL naming ${field}`)
    t.ok((err as Error).message.includes(field), `${what}: message names the field`)
  }
  await t.rejects(dm.create('', zero), { code: 'EINVAL', field: 'name' }, 'async twin rejects too')
  await t.rejects(dm.rename(name('none'), 'a/b'), { code: 'EINVAL', field: 'newName' })
  await t.rejects(dm.message(name('none'), 0, ''), { code: 'EINVAL', field: 'text' })
  t.same(ours(), before, 'nothing was created')
})

t.test('kernel errors: ENXIO, duplicate name, bad table leaves nothing behind', async (t) => {
  const n = name('dup')
  await t.rejects(dm.info(name('missing')), { code: 'ENXIO', errno: 6, operation: 'DM_DEV_STATUS', device: name('missing') })
  await t.rejects(dm.remove(name('missing')), { code: 'ENXIO' })
  await dm.create(n, '0 8 zero')
  await t.rejects(dm.create(n, '0 16 zero'), { code: 'EBUSY', operation: 'DM_DEV_CREATE' })
  t.same(await dm.table(n), [{ start: 0, length: 8, type: 'zero', params: '' }], 'the first device is untouched')
  await dm.remove(n)

  const bad = name('badtable')
  // what can be known is checked before any ioctl (issue 14): a missing device path, an unknown target type
  await t.rejects(dm.create(bad, '0 8 linear /dev/does-not-exist 0'), { name: 'DmError', code: 'ENODEV', operation: 'create', field: 'table[0].params' })
  t.throws(() => dm.createSync(bad, '0 8 no-such-target'), { name: 'DmError', code: 'EINVAL', field: 'table[0].type' })
  t.notOk(ours().includes(bad), 'nothing was created')
  // what only the kernel knows (zero takes no arguments): the load fails and the half-made device goes
  const err = await dm.create(bad, '0 8 zero junk').catch((e: DmError) => e)
  t.type(err, DmError)
  t.match(err, { code: 'EINVAL', operation: 'DM_TABLE_LOAD', device: bad })
  t.notOk(ours().includes(bad), 'the half-made device was removed')
  t.throws(() => dm.createSync(bad, '0 8 zero junk'), { name: 'DmError', operation: 'DM_TABLE_LOAD' })
  t.notOk(ours().includes(bad), 'the half-made device was removed (sync)')
})

t.test('duplicate uuid is EBUSY', async (t) => {
  await dm.create(name('u1'), '0 8 zero', { uuid: name('same') })
  await t.rejects(dm.create(name('u2'), '0 8 zero', { uuid: name('same') }), { code: 'EBUSY' })
  t.notOk(ours().includes(name('u2')))
  await dm.remove(name('u1'))
})

t.test('remove: EBUSY while open, with open count; retries succeed once closed; deferred', async (t) => {
  const n = name('busy')
  await dm.create(n, '0 2048 zero')
  const fd = openSync(devPath(n), 'r')
  const err = await dm.remove(n, { retries: 0 }).catch((e: DmError) => e)
  t.match(err, { code: 'EBUSY', errno: 16, operation: 'DM_DEV_REMOVE', device: n })
  t.match((err as Error).message, /open count 1/)
  t.throws(() => dm.removeSync(n, { retries: 1 }), { code: 'EBUSY' })
  setTimeout(() => closeSync(fd), 100)
  await dm.remove(n, { retries: 10 })
  t.notOk(ours().includes(n), 'removed after the retry')

  const d = name('deferred')
  await dm.create(d, '0 2048 zero')
  const fd2 = openSync(devPath(d), 'r')
  await dm.remove(d, { deferred: true })
  const info = await dm.info(d)
  t.equal(info.deferredRemove, true, 'marked for deferred removal')
  closeSync(fd2)
  // The kernel removes it from a workqueue after the last close: give it a moment.
  for (let i = 0; i < 100 && ours().includes(d); i++) await new Promise((r) => setTimeout(r, 20))
  t.notOk(ours().includes(d), 'gone at last close')
})

t.test('rename and setUuid, seen by dmsetup', async (t) => {
  const a = name('old')
  const b = name('new')
  await dm.create(a, '0 8 zero')
  const renamed = await dm.rename(a, b)
  t.equal(renamed.name, b, 'rename resolves with the name the kernel now has')
  t.equal(renamed.path, `/dev/mapper/${b}`)
  t.equal((await dm.info(b)).name, b)
  await t.rejects(dm.info(a), { code: 'ENXIO' })
  await dm.setUuid(b, `${b}-uuid`)
  t.equal(dmsetup('info', '-c', '--noheadings', '-o', 'uuid', b).trim(), `${b}-uuid`)
  await t.rejects(dm.setUuid(b, 'another'), { code: 'EINVAL', operation: 'DM_DEV_RENAME' }, 'a uuid is set once')
  dm.renameSync(b, a)
  t.equal(dm.infoSync(a).uuid, `${b}-uuid`)
  await dm.create(b, '0 8 zero')
  await t.rejects(dm.rename(a, b), { code: 'EBUSY' }, 'rename onto an existing name')
  await dm.remove(a)
  await dm.remove(b)
})

t.test('suspend, load into the inactive slot, resume, clear', async (t) => {
  const n = name('reload')
  await dm.create(n, '0 8 zero', { readOnly: true })
  t.equal((await dm.info(n)).readOnly, true)
  t.match(dmsetup('info', n), /State:\s+ACTIVE \(READ-ONLY\)/)
  const s = await dm.suspend(n, { noFlush: true, skipLockfs: true })
  t.equal(s.suspended, true)
  t.match(dmsetup('info', n), /SUSPENDED/)
  await dm.resume(n)
  await dm.load(n, [{ length: 16, type: 'zero' }])
  const info = await dm.info(n)
  t.equal(info.inactiveTable, true)
  t.same(await dm.table(n, { inactive: true }), [{ start: 0, length: 16, type: 'zero', params: '' }])
  t.equal(dmsetup('table', '--inactive', n).trim(), '0 16 zero')
  await dm.clear(n)
  t.equal((await dm.info(n)).inactiveTable, false)
  dm.loadSync(n, '0 32 zero')
  dm.resumeSync(n)
  t.same(dm.tableSync(n), [{ start: 0, length: 32, type: 'zero', params: '' }])
  t.equal(dm.infoSync(n).readOnly, false, 'the new table is writable')
  dm.removeSync(n)
})

t.test('message: a target that answers (@stats)', async (t) => {
  const n = name('stats')
  await dm.create(n, '0 2048 zero')
  t.equal(await dm.message(n, 0, '@stats_create - /1'), '0')
  const list = await dm.message(n, 0, '@stats_list')
  t.match(list, /^0: 0\+2048 2048/)
  t.equal(dmsetup('message', n, '0', '@stats_list').trim(), list!.trim())
  t.equal(dm.messageSync(n, 0, '@stats_delete 0'), undefined, 'no reply')
  await t.rejects(dm.message(n, 0, 'no-such-message'), { code: 'EINVAL', operation: 'DM_TARGET_MSG' })
  await dm.remove(n)
})

t.test('waitEvent is woken by a real event', async (t) => {
  // A snapshot whose COW store fills up invalidates itself, which raises a device event.
  const loop = loopDevice(8)
  const half = loop.sectors / 2
  const origin = name('evorigin')
  const cow = name('evcow')
  const snap = name('evsnap')
  const o = await dm.create(origin, `0 ${half} linear ${loop.path} 0`)
  const c = await dm.create(cow, `0 64 linear ${loop.path} ${half}`)
  const before = await dm.create(snap, `0 ${half} snapshot ${o.major}:${o.minor} ${c.major}:${c.minor} N 8`)
  const woken = dm.waitEvent(snap)
  // The write itself fails part-way (EIO) once the snapshot is invalidated: that is the point.
  t.throws(() => writeDevice(`/dev/dm-${before.minor}`, 0, Buffer.alloc(256 * 1024, 1)))
  const after = await woken
  t.ok(after.eventNr > before.eventNr, `event counter moved ${before.eventNr} -> ${after.eventNr}`)
  t.equal((await dm.status(snap))[0].params, 'Invalid')
  const again = dm.waitEventSync(snap, before.eventNr)
  t.equal(again.eventNr, after.eventNr, 'waiting on an older counter returns at once')
  await dm.remove(snap)
  await dm.remove(cow)
  await dm.remove(origin)
})

t.test('list with hundreds of devices grows the buffer', async (t) => {
  // 300 records of ~200 bytes (name, uuid, event_nr) cannot fit the first 16 KiB buffer.
  const count = 300
  // No udev waits here (each costs ~0.15 s under the stock rules): this test is about the list buffer.
  const bulk = new DeviceMapper({ udev: 'none' })
  for (let i = 0; i < count; i++) bulk.createSync(name(`many-${i}-${'x'.repeat(60)}`), '0 8 zero', { uuid: name(`uuid-${i}-${'y'.repeat(60)}`) })
  const listed = (await dm.list()).filter((d) => d.name.startsWith(name('many-')))
  t.equal(listed.length, count)
  t.ok(listed.every((d) => d.uuid?.startsWith(name('uuid-'))), 'every uuid came back')
  const fromDmsetup = dmsetup('ls').split('\n').filter((l) => l.startsWith(name('many-'))).length
  t.equal(fromDmsetup, count)
  for (const d of listed) bulk.removeSync(d.name)
  bulk.close()
})

t.test('list survives a foreign device with an odd name', async (t) => {
  const odd = `${name('odd')} \u00e9\u00e8 \u2603`
  dmsetup('create', odd, '--manglename', 'none', '--table', '0 8 zero')
  const listed = await dm.list()
  t.ok(listed.some((d) => d.name === odd), 'the odd name is listed exactly')
  t.equal((await dm.info(odd)).name, odd)
  await dm.remove(odd)
  // Bytes that are not UTF-8 at all: listing still works (the name comes back with U+FFFD in place).
  const raw = `${name('raw')}`
  sh('sh', ['-c', `dmsetup create "$(printf '${raw}\\377')" --manglename none --table '0 8 zero'`])
  const found = (await dm.list()).filter((d) => d.name.startsWith(raw))
  t.equal(found.length, 1)
  t.equal(found[0].name, `${raw}\ufffd`)
  sh('sh', ['-c', `dmsetup remove --manglename none "$(printf '${raw}\\377')"`])
  t.same(ours().filter((n) => n.startsWith(raw)), [])
})

t.test('geometry, arm-poll, removeAll', async (t) => {
  const n = name('geo')
  await dm.create(n, '0 2048 zero')
  await dm.setGeometry(n, { cylinders: 1, heads: 64, sectors: 32, start: 0 })
  t.throws(() => dm.setGeometrySync(n, { cylinders: 1, heads: 256, sectors: 32, start: 0 }), { code: 'EINVAL', field: 'heads' })
  await dm.armPoll()
  dm.armPollSync()
  t.ok(dm.controlFd() > 2)
  await dm.create(name('all2'), '0 8 zero')
  await dm.removeAll()
  t.same(ours(), [], 'removeAll removed every unopened device')
})

t.test('errors from open, close and reopen, worker threads', async (t) => {
  const bad = new DeviceMapper({ controlPath: '/nonexistent/control' })
  t.throws(() => bad.versionSync(), { code: 'ENOENT', operation: 'open', device: '/nonexistent/control' })
  await t.rejects(bad.version(), { code: 'ENOENT' })
  const own = new DeviceMapper()
  const v = await own.version()
  own.close()
  t.same(await own.version(), v, 'reopens after close')
  const pending = own.list()
  own.close()
  t.ok(Array.isArray(await pending), 'a call in flight survives close')
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads')
    const { DeviceMapper } = require(${JSON.stringify(require.resolve('../../ts'))})
    new DeviceMapper().version().then((v) => parentPort.postMessage(v))
  `, { eval: true })
  t.same(await new Promise((r) => worker.once('message', r)), v, 'loads and runs in a worker thread')
  await worker.terminate()
})
