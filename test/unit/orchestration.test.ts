// Orchestration on a fake native control (test/fakes/control.ts): create's rollback, remove's EBUSY retry,
// which requests carry udev cookies, and the thin-pool snapshot dance, each driven both synchronously and
// asynchronously through the same operation code. The kernel tests prove the same against the real kernel.
import { t } from 'tap'
import { DeviceMapper, DmError, UdevFlags } from '../../ts'
import { FakeControl } from '../fakes/control'

const modes = ['sync', 'async'] as const

function setUp() {
  const fake = new FakeControl()
  const dm = new DeviceMapper({ control: fake.asControl(), udev: 'none', removeRetryDelayMs: 0 })
  return { fake, dm }
}

const commands = (fake: FakeControl) => fake.calls.map((c) => c.command)
/** The commands that change something: queries (target-type checks, explaining an error) left out. */
const changes = (fake: FakeControl) => commands(fake).filter((c) => !['getTargetVersion', 'devStatus', 'tableStatus', 'listDevices'].includes(c))

for (const mode of modes) {
  const create = (dm: DeviceMapper, name: string, table: string, o = {}) =>
    mode === 'sync' ? Promise.resolve().then(() => dm.createSync(name, table, o)) : dm.create(name, table, o)
  const remove = (dm: DeviceMapper, name: string, o = {}) =>
    mode === 'sync' ? Promise.resolve().then(() => dm.removeSync(name, o)) : dm.remove(name, o)

  t.test(`${mode}: create sends create, load and resume in one batch`, async (t) => {
    const { fake, dm } = setUp()
    const info = await create(dm, 'a', '0 8 zero')
    t.same(changes(fake), ['devCreate', 'tableLoad', 'devSuspend'])
    t.equal(fake.calls.filter((c) => c.command !== 'getTargetVersion').length, 3, 'and no other ioctl than the (once per type) target check')
    t.equal(info.activeTable, true)
  })

  t.test(`${mode}: a failed load removes the half-made device and throws the load's error`, async (t) => {
    const { fake, dm } = setUp()
    fake.failOn('tableLoad', 'EINVAL')
    await t.rejects(create(dm, 'a', '0 8 zero'), { code: 'EINVAL', operation: 'DM_TABLE_LOAD' })
    t.same(commands(fake), ['devCreate', 'tableLoad', 'devRemove'])
    t.equal(fake.devices.size, 0)
  })

  t.test(`${mode}: a failed resume removes the device too`, async (t) => {
    const { fake, dm } = setUp()
    fake.failOn('devSuspend', 'EINVAL')
    await t.rejects(create(dm, 'a', '0 8 zero'), { code: 'EINVAL' })
    t.same(commands(fake), ['devCreate', 'tableLoad', 'devSuspend', 'devRemove'])
    t.equal(fake.devices.size, 0)
  })

  t.test(`${mode}: a failed DEV_CREATE sends nothing else`, async (t) => {
    const { fake, dm } = setUp()
    fake.failOn('devCreate', 'EBUSY')
    await t.rejects(create(dm, 'a', '0 8 zero'), { code: 'EBUSY' })
    t.same(changes(fake), ['devCreate'])
  })

  t.test(`${mode}: when the rollback fails too, both errors are reported and the first one's code kept`, async (t) => {
    const { fake, dm } = setUp()
    fake.failOn('tableLoad', 'EINVAL').failOn('devRemove', 'EBUSY', 100)
    const err = await create(dm, 'a', '0 8 zero').catch((e: unknown) => e)
    t.ok(err instanceof DmError)
    t.equal((err as DmError).code, 'EINVAL')
    t.match((err as DmError).message, /removing the half-made device also failed: .*EBUSY/)
    t.equal(((err as DmError & { cleanupError: DmError }).cleanupError).code, 'EBUSY')
  })

  t.test(`${mode}: remove retries EBUSY, then succeeds`, async (t) => {
    const { fake, dm } = setUp()
    await create(dm, 'a', '0 8 zero')
    fake.calls.length = 0
    fake.failOn('devRemove', 'EBUSY', 2)
    await remove(dm, 'a')
    t.same(commands(fake), ['devRemove', 'devRemove', 'devRemove'])
  })

  t.test(`${mode}: remove gives up after its retries and says who holds the device`, async (t) => {
    const { fake, dm } = setUp()
    await create(dm, 'a', '0 8 zero')
    fake.calls.length = 0
    fake.devices.get('a')!.openCount = 2
    await t.rejects(remove(dm, 'a', { retries: 2 }), { code: 'EBUSY', message: /open count 2/ })
    t.same(commands(fake), ['devRemove', 'devRemove', 'devRemove', 'devStatus'])
  })

  t.test(`${mode}: only the uevent-sending request carries the cookie (udev flags in its high 16 bits)`, async (t) => {
    const { fake, dm } = setUp()
    await create(dm, 'a', '0 8 zero', { udevFlags: UdevFlags.PRIVATE })
    const [c, l, r] = fake.calls
    t.equal(c.req.eventNr, undefined)
    t.equal(l.req.eventNr, undefined)
    t.equal(r.req.eventNr, UdevFlags.PRIVATE << 16)
    fake.calls.length = 0
    mode === 'sync' ? dm.suspendSync('a') : await dm.suspend('a')
    t.equal(fake.calls[0].req.eventNr, undefined, 'a suspend sends no uevent, so no cookie')
    await remove(dm, 'a', { udevFlags: UdevFlags.LOW_PRIORITY })
    t.equal(fake.calls[1].req.eventNr, UdevFlags.LOW_PRIORITY << 16)
  })

  t.test(`${mode}: a snapshot of an active origin suspends, messages and always resumes`, async (t) => {
    const { fake, dm } = setUp()
    await create(dm, 'pool', '0 8 zero')
    const pool = fake.devices.get('pool')!
    await create(dm, 'origin', `0 8 thin 253:${pool.minor} 1`)
    fake.calls.length = 0
    fake.failOn('targetMsg', 'ENOSPC')
    const p = dm.thinPool('pool')
    const snap = mode === 'sync' ? Promise.resolve().then(() => p.createSnapshotSync(2, 1, { origin: 'origin' })) : p.createSnapshot(2, 1, { origin: 'origin' })
    await t.rejects(snap, { code: 'ENOSPC' })
    t.same(commands(fake), ['tableStatus', 'devStatus', 'devSuspend', 'targetMsg', 'devSuspend'])
    t.equal(fake.devices.get('origin')!.suspended, false, 'the origin was resumed')
  })

  t.test(`${mode}: a snapshot refuses an origin that is not that thin id before suspending anything`, async (t) => {
    const { fake, dm } = setUp()
    await create(dm, 'pool', '0 8 zero')
    await create(dm, 'origin', '0 8 zero')
    fake.calls.length = 0
    const p = dm.thinPool('pool')
    const snap = mode === 'sync' ? Promise.resolve().then(() => p.createSnapshotSync(2, 1, { origin: 'origin' })) : p.createSnapshot(2, 1, { origin: 'origin' })
    await t.rejects(snap, { code: 'EINVAL', field: 'origin' })
    t.notOk(commands(fake).includes('devSuspend'))
  })
}

for (const mode of modes) {
  const suspended = (dm: DeviceMapper, sus: string, dev: string, text: string) =>
    mode === 'sync' ? Promise.resolve().then(() => dm.messageSuspendedSync(sus, dev, 0, text)) : dm.messageSuspended(sus, dev, 0, text)

  t.test(`${mode}: messageSuspended is one batch; a failed suspend sends nothing else`, async (t) => {
    const { fake, dm } = setUp()
    dm.createSync('pool', '0 8 zero')
    dm.createSync('origin', '0 8 zero')
    fake.calls.length = 0
    t.equal(await suspended(dm, 'origin', 'pool', 'create_snap 1 0'), undefined)
    t.same(commands(fake), ['devSuspend', 'targetMsg', 'devSuspend'])
    t.equal(fake.devices.get('origin')!.suspended, false)
    fake.calls.length = 0
    fake.failOn('devSuspend', 'ENXIO')
    await t.rejects(suspended(dm, 'origin', 'pool', 'create_snap 1 0'), { code: 'ENXIO', operation: 'DM_DEV_SUSPEND' })
    t.same(commands(fake), ['devSuspend'], 'neither the message nor a resume after a failed suspend')
  })

  t.test(`${mode}: statusAll and tableAll map every device to its typed targets`, async (t) => {
    const { dm } = setUp()
    dm.createSync('a', '0 8 zero')
    dm.createSync('b', '0 8 zero\n8 8 error')
    const all = mode === 'sync' ? dm.statusAllSync() : await dm.statusAll()
    t.same([...all.keys()], ['a', 'b'])
    t.same(all.get('b')!.map((x) => x.type), ['zero', 'error'])
    t.same([...(mode === 'sync' ? dm.tableAllSync() : await dm.tableAll()).keys()], ['a', 'b'])
    t.throws(() => dm.statusAllSync(null as never), { code: 'EINVAL', field: 'options' })
  })
}
