// Thin-pool ids and transaction ids are checked before any ioctl: the control path here does not exist, so any
// call that reached the kernel would fail with ENOENT from open instead of the EINVAL naming the field.
import { t } from 'tap'
import { DeviceMapper, DmError, MAX_THIN_ID, checkThinId } from '../../ts'

const dm = new DeviceMapper({ controlPath: '/nonexistent/dm-control' })

t.test('thin ids are 24-bit integers', async (t) => {
  t.equal(MAX_THIN_ID, 2 ** 24 - 1)
  for (const ok of [0, 1, 4242, 2 ** 24 - 1]) t.equal(checkThinId(ok, 'op', 'id'), ok)
  for (const bad of [-1, 2 ** 24, 2 ** 32, 1.5, NaN, Infinity, '1', 1n, null, undefined]) {
    t.throws(() => checkThinId(bad, 'op', 'id'), { name: 'DmError', code: 'EINVAL', errno: 22, field: 'id' }, `rejects ${String(bad)}`)
  }
})

t.test('every pool call validates before opening the control device', async (t) => {
  const p = dm.thinPool('pool')
  const cases: [string, () => unknown, string][] = [
    ['createThin 2^24', () => p.createThinSync(2 ** 24), 'id'],
    ['createThin -1', () => p.createThinSync(-1), 'id'],
    ['createSnapshot id', () => p.createSnapshotSync(2 ** 24, 0), 'id'],
    ['createSnapshot originId', () => p.createSnapshotSync(1, 2 ** 24), 'originId'],
    ['createSnapshot origin name', () => p.createSnapshotSync(1, 0, { origin: 'a/b' }), 'origin'],
    ['delete', () => p.deleteSync(0.5), 'id'],
    ['setTransactionId current', () => p.setTransactionIdSync(-1, 1), 'current'],
    ['setTransactionId next 2^64', () => p.setTransactionIdSync(0, 2n ** 64n), 'next'],
    ['setTransactionId unsafe number', () => p.setTransactionIdSync(0, 2 ** 53), 'next'],
  ]
  for (const [what, fn, field] of cases) {
    t.throws(fn, { name: 'DmError', code: 'EINVAL', field }, what)
  }
  await t.rejects(p.createThin(2 ** 24), { code: 'EINVAL', field: 'id' }, 'async twin')
  await t.rejects(p.createSnapshot(1, -1, { origin: 'o' }), { code: 'EINVAL', field: 'originId' })
  await t.rejects(p.delete(2 ** 24), { code: 'EINVAL', field: 'id' })
  await t.rejects(p.setTransactionId(0, -1), { code: 'EINVAL', field: 'next' })
  await t.rejects(p.growData(0), { code: 'EINVAL', field: 'sectors' })
  await t.rejects(p.resizeThin('thin', -8), { code: 'EINVAL', field: 'sectors' })
  // The control device is really missing: a valid id gets as far as open.
  t.throws(() => p.createThinSync(1), { code: 'ENOENT', operation: 'open' })
})

t.test('pool names are checked when the handle is made', async (t) => {
  t.throws(() => dm.thinPool('a/b'), { code: 'EINVAL', field: 'name' })
  t.throws(() => dm.thinPool(''), { code: 'EINVAL', field: 'name' })
})

t.test('watch and waitEvent: open errors are typed, an aborted signal settles before any open', async (t) => {
  t.throws(() => dm.watch(), { name: 'DmError', code: 'ENOENT', operation: 'open' })
  const ac = new AbortController()
  ac.abort()
  const w = dm.watch({ signal: ac.signal })
  t.same(await w.next(), { value: undefined, done: true }, 'an already aborted watch is over')
  await t.rejects(dm.waitEvent('x', { signal: ac.signal }), { name: 'AbortError' })
  await t.rejects(dm.waitEvent('x'), { code: 'ENOENT', operation: 'open' })
  t.ok(new DmError({ message: 'm', code: 'ENODATA', operation: 'DM_TARGET_MSG' }).errno === 61)
})
