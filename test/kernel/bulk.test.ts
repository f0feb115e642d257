// One native call for many ioctls: statusAll / tableAll (list + every device's status or table) checked against
// dmsetup and against the one-device reads, and messageSuspended (suspend + message + resume) on a thin origin,
// including the resume after a failed message and no message after a failed suspend.
import { t } from 'tap'
import { CryptKey, DeviceMapper, DmError } from '../../ts'
import { dm, dmsetup, loopDevice, name, ours, sweep } from './helpers'

t.teardown(sweep)

/** dmsetup's `status` or `table` lines of one device, as the kernel's text (start length type params). */
function lines(kind: 'status' | 'table', n: string): string[] {
  // dmsetup prints a target with empty params as 'start length type ' (trailing space)
  return dmsetup(kind, ...(kind === 'table' ? ['--showkeys'] : []), n).trim().split('\n').map((l) => l.trimEnd())
}

function asText(targets: { start: number; length: number; type: string; params: string }[]): string[] {
  return targets.map((x) => `${x.start} ${x.length} ${x.type}${x.params ? ` ${x.params}` : ''}`)
}

t.test('statusAll and tableAll: every device, the same as dmsetup and as status() / table() one by one', async (t) => {
  const loop = loopDevice(4)
  const key = '0123456789abcdef0123456789abcdef'
  const made = [
    [name('zero'), '0 2048 zero'],
    [name('two'), `0 1024 linear ${loop.path} 0\n1024 512 error`],
    [name('crypt'), `0 2048 crypt aes-xts-plain64 ${key}${key} 0 ${loop.path} 0`],
    [name('striped'), `0 2048 striped 2 128 ${loop.path} 0 ${loop.path} 2048`],
  ]
  for (const [n, table] of made) await dm.create(n, table)

  for (const [what, get] of [
    ['statusAll sync', () => dm.statusAllSync()],
    ['statusAll async', () => dm.statusAll()],
    ['statusAll noFlush', () => dm.statusAll({ noFlush: true })],
  ] as const) {
    const all = await get()
    t.same([...all.keys()].filter((n) => n.startsWith(name(''))).sort(), ours().sort(), `${what}: every device of ours`)
    for (const [n] of made) {
      t.same(asText(all.get(n)!), lines('status', n), `${what} ${n}: dmsetup status`)
      t.same(all.get(n), await dm.status(n), `${what} ${n}: typed like status()`)
    }
  }
  for (const all of [dm.tableAllSync(), await dm.tableAll()]) {
    for (const [n] of made) {
      t.same(asText(all.get(n)!), lines('table', n), `tableAll ${n}: dmsetup table --showkeys`)
      t.same(all.get(n), await dm.table(n), `tableAll ${n}: typed like table()`)
    }
    const c = all.get(name('crypt'))![0]
    t.equal(c.type === 'crypt' && (c.key as CryptKey).reveal(), `${key}${key}`, 'the crypt key comes back typed')
  }
  t.throws(() => dm.statusAllSync(null as never), { code: 'EINVAL', field: 'options' })
})

t.test('statusAll over more devices than the first buffer holds', async (t) => {
  // 400 listed names of ~80 bytes pass the 16 KiB the list starts with; every one is then read.
  const count = 400
  const bulk = new DeviceMapper({ udev: 'none' }) // about the buffers, not udev: no waits per create
  for (let i = 0; i < count; i++) bulk.createSync(name(`many-${i}-${'x'.repeat(60)}`), '0 8 zero')
  const all = await dm.statusAll()
  const many = [...all.entries()].filter(([n]) => n.startsWith(name('many-')))
  t.equal(many.length, count)
  t.ok(many.every(([, targets]) => targets.length === 1 && targets[0].type === 'zero'), 'each one its zero target')
  t.equal(dmsetup('ls').split('\n').filter((l) => l.startsWith(name('many-'))).length, count)
  for (const [n] of many) bulk.removeSync(n)
  bulk.close()
})

t.test('messageSuspended: create_snap of an active origin, resume after a failed message, nothing after a failed suspend', async (t) => {
  const meta = loopDevice(8)
  const data = loopDevice(32)
  const pool = name('pool')
  const pi = await dm.create(pool, `0 ${data.sectors} thin-pool ${meta.path} ${data.path} 128 16`)
  await dm.message(pool, 0, 'create_thin 0')
  const origin = name('origin')
  await dm.create(origin, `0 8192 thin ${pi.major}:${pi.minor} 0`)

  // async and sync twins each take a snapshot; the origin is live again afterwards
  t.equal(await dm.messageSuspended(origin, pool, 0, 'create_snap 1 0'), undefined)
  t.equal(dm.messageSuspendedSync(origin, pool, 0, 'create_snap 2 0'), undefined)
  t.notOk((await dm.info(origin)).suspended, 'origin resumed')
  t.match(dmsetup('info', origin), /State:\s+ACTIVE/)
  // the snapshots exist: activating them works, and the id is taken
  for (const id of [1, 2]) {
    const snap = name(`snap${id}`)
    await dm.create(snap, `0 8192 thin ${pi.major}:${pi.minor} ${id}`)
    t.equal(dmsetup('table', snap).trim(), `0 8192 thin ${pi.major}:${pi.minor} ${id}`)
  }

  // a failed message (id 1 exists) is thrown, and the origin was resumed anyway
  const failed = await dm.messageSuspended(origin, pool, 0, 'create_snap 1 0').catch((e: unknown) => e)
  t.type(failed, DmError)
  t.equal((failed as DmError).operation, 'DM_TARGET_MSG')
  t.notOk((await dm.info(origin)).suspended, 'origin resumed after the failed message')
  t.throws(() => dm.messageSuspendedSync(origin, pool, 0, 'create_snap 2 0'), { name: 'DmError', operation: 'DM_TARGET_MSG' })
  t.notOk(dm.infoSync(origin).suspended, 'origin resumed after the failed message (sync)')

  // a failed suspend stops everything: the message is not sent (id 3 stays free)
  await t.rejects(dm.messageSuspended(name('missing'), pool, 0, 'create_snap 3 0'), { code: 'ENXIO', operation: 'DM_DEV_SUSPEND' })
  await dm.message(pool, 0, 'create_snap 3 0')

  // the thin-pool handle's createSnapshot uses it
  await dm.thinPool(pool).createSnapshot(4, 0, { origin })
  t.notOk((await dm.info(origin)).suspended)
  await t.rejects(dm.message(pool, 0, 'create_snap 4 0'), { name: 'DmError', operation: 'DM_TARGET_MSG' }, 'id 4 exists')
})
