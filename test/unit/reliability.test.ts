// Host-only checks of issue 10/14 items that need no kernel: libdm's name rules and mangling, names as bytes,
// option and signal validation, value quoting in messages, printed DmErrors, hints on opening the control device,
// parser precision past 2^53, and the watch iterator's misuse.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { t } from 'tap'
import { DeviceMapper, DmError, parseTable, parseTypedTable, targetType } from '../../ts'
import { address, label } from '../../ts/core/address'
import { checkNewName, checkSectors, mangleName, printable } from '../../ts/core/validate'
import { DeviceWatch } from '../../ts/events/watch'
import { lastTableError, parseKmsgRecord } from '../../ts/core/kmsg'
import type { EventPoller } from '../../ts/events/event-poller'
import { FakeControl } from '../fakes/control'
import { explainLoadError } from '../../ts/core/table-checks'

const nowhere = (): DeviceMapper => new DeviceMapper({ controlPath: '/nonexistent/dm-control' })

t.test("new names follow libdm's rules: whitelisted characters only, unless mangled or asked for", async (t) => {
  for (const ok of ['vol', 'a-b_c.d', 'x#+-.:=@_9', 'UPPER']) t.equal(checkNewName(ok, 'create', 'name', 'reject'), ok)
  for (const bad of ['a b', 'a*b', 'a%b', 'a\nb', 'caf\u00e9', 'a\\x20b', 'tab\there']) {
    t.throws(() => checkNewName(bad, 'create', 'name', 'reject'), { name: 'DmError', code: 'EINVAL', field: 'name' }, JSON.stringify(bad))
  }
  t.equal(checkNewName('a b', 'create', 'name', 'none'), 'a b')
})

t.test("'hex' mangles exactly as libdm's auto mode", async (t) => {
  t.equal(mangleName('a b', 'create'), 'a\\x20b')
  t.equal(mangleName('caf\u00e9', 'create'), 'caf\\xc3\\xa9')
  t.equal(mangleName('plain', 'create'), 'plain')
  t.equal(mangleName('a\\x20b', 'create'), 'a\\x20b', 'an already mangled name is kept')
  t.throws(() => mangleName('a\\x20b c', 'create'), { code: 'EINVAL' }, 'mangled then unmangled: refused like libdm')
  t.throws(() => mangleName('a b\\x20c', 'create'), { code: 'EINVAL' }, 'unmangled then mangled: refused like libdm')
  // addressing in 'hex' mode looks the mangled name up, as dmsetup does
  t.same(address('a b', 'info', 'hex'), { name: 'a\\x20b' })
  t.same(address('a b', 'info'), { name: 'a b' }, 'existing devices are addressed as named by default')
})

t.test('names are bytes: Buffer names are addressed exactly, lone surrogates refused', async (t) => {
  const raw = Buffer.from([0x72, 0x62, 0xff])
  const req = address(raw, 'info')
  t.ok(Buffer.isBuffer(req.name) && req.name.equals(raw))
  t.same(address({ name: raw }, 'remove').name, raw)
  t.equal(label(req), 'rb\\xff')
  t.equal(printable('a b'), 'a b')
  t.throws(() => address('rb\ud800', 'info'), { code: 'EINVAL', field: 'name' }, 'a lone surrogate would be sent as U+FFFD')
  t.throws(() => address(Buffer.from('a/b'), 'info'), { code: 'EINVAL', field: 'name' })
  t.throws(() => address(Buffer.alloc(0), 'info'), { code: 'EINVAL', field: 'name' })
  t.throws(() => address(Buffer.from([0x61, 0]), 'info'), { code: 'EINVAL', field: 'name' })
  t.same(address('rb\ufffd', 'info'), { name: 'rb\ufffd' }, 'U+FFFD itself is a valid name')
})

t.test('signal options are AbortSignals, checked before anything is opened', async (t) => {
  const dm = nowhere()
  await t.rejects(dm.waitEvent('x', { signal: {} as AbortSignal }), { name: 'DmError', code: 'EINVAL', field: 'signal' })
  t.throws(() => dm.watch({ signal: {} as AbortSignal }), { name: 'DmError', code: 'EINVAL', field: 'signal' })
  t.throws(() => dm.watch(null as never), { name: 'DmError', code: 'EINVAL', field: 'options' })
})

t.test('watch().next() twice is a DmError naming next', async (t) => {
  const poller = { subscribe: () => () => undefined, listSync: () => [] } as unknown as EventPoller
  const w = new DeviceWatch(poller)
  const first = w.next()
  await t.rejects(w.next(), { name: 'DmError', code: 'EINVAL', field: 'next' })
  await w.return()
  t.same(await first, { value: undefined, done: true })
})

t.test('parseTable and parseTypedTable take only strings', async (t) => {
  for (const bad of [123, null, undefined, {}, ['0 8 zero']]) {
    t.throws(() => parseTable(bad as never), { name: 'DmError', code: 'EINVAL', field: 'text' })
    t.throws(() => parseTypedTable(bad as never), { name: 'DmError', code: 'EINVAL', field: 'text' })
  }
})

t.test("values in messages show their type: '8' and 8n are not 8", async (t) => {
  const msg = (v: unknown): string => {
    try {
      checkSectors(v, 'create', 'length')
    } catch (err) {
      return (err as Error).message
    }
    return ''
  }
  t.match(msg('4096'), "got '4096' (a string)")
  t.match(msg(8n), 'got 8n (a bigint)')
  t.match(msg(1.5), 'got 1.5')
})

t.test('a printed DmError has no field: undefined', async (t) => {
  const e = new DmError({ message: 'm', code: 'EBUSY', operation: 'DM_DEV_REMOVE', device: 'x' })
  t.notOk(Object.hasOwn(e, 'field'))
  t.notMatch(inspect(e), /field: undefined/)
  try {
    nowhere().versionSync()
  } catch (err) {
    t.notMatch(inspect(err), /field: undefined/)
  }
})

t.test('opening a control node with no device-mapper behind it says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'devmapper-ctl-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // misc major 10 with a minor nobody registered: what /dev/mapper/control is on a kernel without dm_mod
  execFileSync('mknod', [join(dir, 'control'), 'c', '10', '250'])
  const dm = new DeviceMapper({ controlPath: join(dir, 'control') })
  t.throws(() => dm.versionSync(), { name: 'DmError', code: 'ENODEV', operation: 'open', message: /this kernel has no device-mapper \(load dm_mod/ })
  t.throws(() => nowhere().versionSync(), { code: 'ENOENT', message: /modprobe dm_mod/ })
})

t.test('numbers past 2^53 are never rounded', async (t) => {
  const snap = targetType('snapshot')!.parseStatus!('0/0 18446744073709551615')
  t.same(snap, { state: 'unknown', text: '0/0 18446744073709551615' }, 'the line stays raw and exact')
  t.same(targetType('snapshot')!.parseStatus!('16/2048 16'), { state: 'active', allocatedSectors: 16, totalSectors: 2048, metadataSectors: 16 })
  const raid = targetType('raid')!.parseParams!('raid1 1 99999999999999999999 2 - 7:0 - 7:1')
  t.same(raid, {}, 'a raid chunk size past 2^53 is not read as 1e20')
})

t.test('kmsg records: parsed as documented, the device\'s last table error picked', async (t) => {
  t.same(parseKmsgRecord('3,1234,5678901,-;device-mapper: table: 253:3: linear: Device lookup failed (-ENXIO)\n SUBSYSTEM=block\n'), {
    seq: 1234, usec: 5678901, text: 'device-mapper: table: 253:3: linear: Device lookup failed (-ENXIO)',
  })
  t.equal(parseKmsgRecord('garbage'), undefined)
  const records = [
    { seq: 1, usec: 1_000, text: 'device-mapper: table: 253:3: zero: old error' },
    { seq: 2, usec: 9_000_000, text: 'device-mapper: table: 253:4: linear: someone else' },
    { seq: 3, usec: 9_000_100, text: 'device-mapper: table: 253:3: striped: Invalid stripe count' },
    { seq: 4, usec: 9_000_200, text: 'device-mapper: ioctl: error adding target to table' },
  ]
  t.equal(lastTableError(records, 253, 3, 9_000_000), 'striped: Invalid stripe count')
  t.equal(lastTableError(records, 253, 5, 9_000_000), undefined)
  t.equal(lastTableError(records.slice(0, 1), 253, 3, 9_000_000), undefined, 'a line from long before the call is not ours')
})

// ---- the facade, on the fake control (test/fakes/control.ts): what is decided before any ioctl ----------------

function fakeDm(options: Record<string, unknown> = {}) {
  const fake = new FakeControl()
  const dm = new DeviceMapper({ control: fake.asControl(), udev: 'none', removeRetryDelayMs: 0, ...options })
  return { fake, dm }
}

const halfMade = (name: string, minor: number, uuid = '') =>
  ({ name, uuid, minor, live: false, inactive: false, suspended: false, openCount: 0, eventNr: 0, table: [] })

t.test('options = null is a DmError naming options, before any ioctl', async (t) => {
  const { fake, dm } = fakeDm()
  t.throws(() => dm.loadSync('x', '0 8 zero', null as never), { name: 'DmError', code: 'EINVAL', field: 'options' })
  t.throws(() => dm.resumeSync('x', null as never), { code: 'EINVAL', field: 'options' })
  t.throws(() => dm.suspendSync('x', null as never), { code: 'EINVAL', field: 'options' })
  t.throws(() => dm.removeSync('x', null as never), { code: 'EINVAL', field: 'options' })
  t.throws(() => dm.renameSync('x', 'y', null as never), { code: 'EINVAL', field: 'options' })
  t.throws(() => dm.tableSync('x', null as never), { code: 'EINVAL', field: 'options' })
  t.throws(() => dm.statusSync('x', null as never), { code: 'EINVAL', field: 'options' })
  await t.rejects(dm.status('x', null as never), { code: 'EINVAL', field: 'options' })
  await t.rejects(dm.create('x', '0 8 zero', null as never), { code: 'EINVAL', field: 'options' })
  t.same(fake.calls, [], 'nothing was sent')
})

t.test('controlPath, nameMangling and uuidPrefix are checked; NUL in a target type is refused', async (t) => {
  t.throws(() => new DeviceMapper({ controlPath: 123 as never }), { code: 'EINVAL', field: 'controlPath' })
  t.throws(() => new DeviceMapper({ controlPath: '' }), { code: 'EINVAL', field: 'controlPath' })
  t.throws(() => new DeviceMapper({ nameMangling: 'auto' as never }), { code: 'EINVAL', field: 'nameMangling' })
  t.throws(() => new DeviceMapper({ uuidPrefix: '' }), { code: 'EINVAL', field: 'uuid' })
  const { fake, dm } = fakeDm()
  t.throws(() => dm.targetVersionSync('zero\0junk'), { code: 'EINVAL', field: 'type' })
  await t.rejects(dm.targetVersion('zero\0junk'), { code: 'EINVAL', field: 'type' })
  t.same(fake.calls, [])
})

t.test('create checks the table before the kernel: device paths and target types', async (t) => {
  const { fake, dm } = fakeDm()
  t.throws(() => dm.createSync('x', '0 8 linear /dev/no-such-disk 0'), { code: 'ENODEV', field: 'table[0].params', message: /does not exist/ })
  t.throws(() => dm.createSync('x', `0 8 zero\n8 8 linear ${__filename} 0`), { code: 'ENODEV', field: 'table[1].params', message: /is not a block device \(a regular file/ })
  t.throws(() => dm.loadSync('x', '0 8 linear /dev/no-such-disk 0'), { code: 'ENODEV', field: 'table[0].params' })
  t.same(fake.calls, [], 'refused before any ioctl')
  fake.failOn('getTargetVersion', 'EINVAL')
  await t.rejects(dm.create('x', '0 8 nosuchtarget'), { code: 'EINVAL', field: 'table[0].type', message: /not a target type this kernel knows/ })
  t.same(fake.calls.map((c) => c.command), ['getTargetVersion'], 'nothing was created')
})

t.test('create onto a half-made device says so and how to clear it; removeHalfMade clears only marked ones', async (t) => {
  const { fake, dm } = fakeDm({ uuidPrefix: 'DEVMAPPER-' })
  fake.devices.set('h', halfMade('h', 90, 'DEVMAPPER-1'))
  fake.devices.set('foreign', halfMade('foreign', 91, 'LVM-x'))
  t.throws(() => dm.createSync('h', '0 8 zero'), { code: 'EBUSY', message: /already exists half-made \(no live table.*remove\('h'\)/, halfMade: true })
  const live = dm.createSync('ok', '0 8 zero')
  t.match(live.uuid, /^DEVMAPPER-[0-9a-f-]{36}$/, 'a create without uuid is marked with a random one')
  t.match(dm.createSync('mine', '0 8 zero', { uuid: 'abc' }).uuid, 'DEVMAPPER-abc', "the caller's uuid gets the mark")
  t.same(dm.removeHalfMadeSync(), ['h'])
  t.same([...fake.devices.keys()].sort(), ['foreign', 'mine', 'ok'], 'live and unmarked devices stay')
  t.throws(() => fakeDm().dm.removeHalfMadeSync(), { code: 'EINVAL', field: 'uuidPrefix' })
})

t.test('a failed load says whether ENXIO is about the table or the dm device', async (t) => {
  const mk = () => new DmError({ message: 'DM_TABLE_LOAD x: No such device or address (ENXIO)', code: 'ENXIO', operation: 'DM_TABLE_LOAD', device: 'x' })
  const targets = [{ start: 0, length: 8, type: 'linear', params: '259:999 0' }]
  const inTable = explainLoadError(mk(), { targets, since: 0, deviceExists: true }) as DmError
  t.match(inTable.message, /a device in the table does not exist or is not a block device \(the dm device itself exists\)/)
  const noDevice = explainLoadError(mk(), { targets, since: 0, deviceExists: false }) as DmError
  t.equal(noDevice.message, 'DM_TABLE_LOAD x: No such device or address (ENXIO)', 'a missing dm device is left as the kernel said')
})
