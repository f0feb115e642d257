// loop's input rules on the host, no loop device touched: every native loop ioctl is replaced by a spy that
// records the call and fails with EPERM, so bad input must be refused with no call recorded, and good input
// is shown to get as far as LOOP_CTL_GET_FREE (the spy), proving the rejections are not an artefact.
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { t } from 'tap'
import { loop } from '../../ts'
import { native, type NativeLoop } from '../../ts/core/native'
import { decodeKernelDev, decodeStatDev } from '../../ts/loop/device'

const EPERM = 1
const calls: string[] = []
const real = { ...native.loop }
for (const key of Object.keys(native.loop) as (keyof NativeLoop)[]) {
  const spy = (..._args: unknown[]): unknown => {
    calls.push(key)
    const failed = key.startsWith('getFree') || key.startsWith('getStatus') ? { errno: EPERM } : EPERM
    return key.endsWith('Sync') ? failed : Promise.resolve(failed)
  }
  ;(native.loop as unknown as Record<string, unknown>)[key] = spy
}

const dir = mkdtempSync(join(tmpdir(), 'devmapper-loop-unit-'))
const file = join(dir, 'backing.img')
writeFileSync(file, '')
truncateSync(file, 1024 * 1024)
mkdirSync(join(dir, 'adir'))
t.teardown(() => {
  Object.assign(native.loop, real)
  rmSync(dir, { recursive: true, force: true })
})

t.test('attach refuses bad input before any ioctl, naming the field', async (t) => {
  const cases: [string, () => unknown, string, string][] = [
    ['missing file', () => loop.attachSync(join(dir, 'nope.img')), 'ENOENT', 'file'],
    ['directory', () => loop.attachSync(join(dir, 'adir')), 'EINVAL', 'file'],
    ['empty path', () => loop.attachSync(''), 'EINVAL', 'file'],
    ['not a string', () => loop.attachSync(42 as unknown as string), 'EINVAL', 'file'],
    ['NUL in path', () => loop.attachSync('/tmp/a\0b'), 'EINVAL', 'file'],
    ['character device', () => loop.attachSync('/dev/null'), 'EINVAL', 'file'],
    ['negative offset', () => loop.attachSync(file, { offset: -512 }), 'EINVAL', 'offset'],
    ['fractional offset', () => loop.attachSync(file, { offset: 1.5 }), 'EINVAL', 'offset'],
    ['offset at the end', () => loop.attachSync(file, { offset: 1024 * 1024 }), 'EINVAL', 'offset'],
    ['offset past the end', () => loop.attachSync(file, { offset: 4 * 1024 * 1024 }), 'EINVAL', 'offset'],
    ['unsafe offset', () => loop.attachSync(file, { offset: 2 ** 53 }), 'EINVAL', 'offset'],
    ['negative sizeLimit', () => loop.attachSync(file, { sizeLimit: -1 }), 'EINVAL', 'sizeLimit'],
    ['blockSize 1000', () => loop.attachSync(file, { blockSize: 1000 }), 'EINVAL', 'blockSize'],
    ['blockSize 256', () => loop.attachSync(file, { blockSize: 256 }), 'EINVAL', 'blockSize'],
    ['blockSize 8192', () => loop.attachSync(file, { blockSize: 8192 }), 'EINVAL', 'blockSize'],
    ['readOnly not boolean', () => loop.attachSync(file, { readOnly: 1 as unknown as boolean }), 'EINVAL', 'readOnly'],
    ['autoclear not boolean', () => loop.attachSync(file, { autoclear: 'y' as unknown as boolean }), 'EINVAL', 'autoclear'],
    ['partscan not boolean', () => loop.attachSync(file, { partscan: null as unknown as boolean }), 'EINVAL', 'partscan'],
    ['directIo not boolean', () => loop.attachSync(file, { directIo: 0 as unknown as boolean }), 'EINVAL', 'directIo'],
    ['options not an object', () => loop.attachSync(file, 7 as never), 'EINVAL', 'options'],
  ]
  for (const [what, fn, code, field] of cases) {
    calls.length = 0
    t.throws(fn, { name: 'DmError', code, field }, what)
    t.same(calls, [], `${what}: no ioctl`)
  }
  calls.length = 0
  await t.rejects(loop.attach(file, { offset: -1 }), { code: 'EINVAL', field: 'offset' }, 'the promise form rejects too')
  await t.rejects(loop.attach(join(dir, 'nope.img')), { code: 'ENOENT', field: 'file' })
  t.same(calls, [])
})

t.test('good input gets as far as LOOP_CTL_GET_FREE (here a spy failing with EPERM)', async (t) => {
  calls.length = 0
  t.throws(() => loop.attachSync(file, { offset: 4096, sizeLimit: 65536, blockSize: 4096, readOnly: true }), { code: 'EPERM', operation: 'LOOP_CTL_GET_FREE' })
  await t.rejects(loop.attach(file), { code: 'EPERM', operation: 'LOOP_CTL_GET_FREE' })
  t.same(calls, ['getFreeSync', 'getFree'])
})

t.test('device references are checked before anything is opened', async (t) => {
  calls.length = 0
  for (const fn of [loop.infoSync, loop.resizeSync, loop.detachSync]) {
    t.throws(() => fn(-1), { code: 'EINVAL', field: 'device' })
    t.throws(() => fn(1.5), { code: 'EINVAL', field: 'device' })
    t.throws(() => fn(''), { code: 'EINVAL', field: 'device' })
    t.throws(() => fn('/dev/null'), { code: 'EINVAL', field: 'device' }, 'not a loop device')
    t.throws(() => fn(join(dir, 'nope')), { code: 'ENOENT', field: 'device' })
    t.throws(() => fn(1048575), { code: 'ENXIO' }, 'no such loop device')
  }
  await t.rejects(loop.info(-1), { code: 'EINVAL', field: 'device' })
  await t.rejects(loop.detach('/dev/null'), { code: 'EINVAL', field: 'device' })
  await t.rejects(loop.find(join(dir, 'nope.img')), { name: 'DmError', code: 'ENOENT', field: 'file' })
  t.throws(() => loop.findSync(join(dir, 'nope.img')), { code: 'ENOENT' })
  t.same(calls, [])
})

t.test('device numbers: the kernel encoding of lo_device and glibc dev_t decode alike', async (t) => {
  // huge_encode_dev(MKDEV(259, 0x12345)) = (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)
  const major = 259
  const minor = 0x12345
  const kernel = BigInt((minor & 0xff) | (major << 8)) | (BigInt(minor & ~0xff) << 12n)
  t.same(decodeKernelDev(kernel), { major, minor })
  t.same(decodeStatDev(kernel), { major, minor }, 'glibc makedev agrees below major 4096')
  t.same(decodeStatDev((BigInt(0x5000 & ~0xfff) << 32n) | (BigInt(0x5000 & 0xfff) << 8n) | 7n), { major: 0x5000, minor: 7 })
})
