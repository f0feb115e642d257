import { t } from 'tap'
import { DeviceMapper, DmError } from '../../ts'

t.test('DmError carries code, errno, operation, device', async (t) => {
  const e = new DmError({ message: 'm', code: 'EBUSY', operation: 'DM_DEV_REMOVE', device: 'x' })
  t.equal(e.errno, 16)
  t.equal(e.name, 'DmError')
  t.ok(e instanceof Error)
})

t.test('a missing control device is a typed open error, sync and async', async (t) => {
  const dm = new DeviceMapper({ controlPath: '/nonexistent/dm-control' })
  t.throws(() => dm.versionSync(), { name: 'DmError', code: 'ENOENT', errno: 2, operation: 'open', device: '/nonexistent/dm-control' })
  await t.rejects(dm.list(), { name: 'DmError', code: 'ENOENT' })
})

t.test('names and options are validated before the control device is opened', async (t) => {
  const dm = new DeviceMapper({ controlPath: '/nonexistent/dm-control' })
  t.throws(() => dm.infoSync('a/b'), { code: 'EINVAL', field: 'name' })
  t.throws(() => dm.infoSync({ major: -1, minor: 0 }), { code: 'EINVAL', field: 'major' })
  t.throws(() => dm.removeSync('x', { retries: -1 }), { code: 'EINVAL', field: 'retries' })
  t.throws(() => new DeviceMapper({ removeRetries: 1.5 }), { code: 'EINVAL', field: 'removeRetries' })
  t.throws(() => dm.messageSync('x', -1, 'hi'), { code: 'EINVAL', field: 'sector' })
  t.throws(() => dm.setUuidSync('x', ''), { code: 'EINVAL', field: 'uuid' })
  t.throws(() => dm.targetVersionSync('way-too-long-type-name'), { code: 'EINVAL', field: 'type' })
})
