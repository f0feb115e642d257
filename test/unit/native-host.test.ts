// The native calls that run without device-mapper, so the sanitize pass (ASan+UBSan on the host, where the
// guest cannot run ASan) covers the addon's marshalling: every command's request packed, with fields at and over
// the kernel's sizes, and sent to /dev/null (the ioctl then fails with ENOTTY), a control device that cannot be
// opened, the argument checks, the loop and lock calls on ordinary fds, a Poller on a pipe.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { t } from 'tap'
import { native, type Command, type NativeRequest } from '../../ts/core/native'

const COMMANDS = Object.keys(native.commands) as Command[]
const long = (n: number, c = 'x') => c.repeat(n)

// every field filled, the strings past their kernel limits (name 128, uuid 129, target type 16 bytes)
const request: NativeRequest = {
  name: long(300, 'n'),
  uuid: long(300, 'u'),
  major: 253,
  minor: 7,
  flags: 1 << 15, // SECURE_DATA: the scrub paths too
  eventNr: 3,
  targets: [
    { start: 0, length: 8, type: long(40, 't'), params: long(5000, 'p') },
    { start: 8n, length: 2n ** 40n, type: 'linear', params: '' },
  ],
  data: long(70000, 'd'),
  sector: 2n ** 63n - 1n,
}

t.test('every command, sync and async, packs its request and reports the ioctl error', async (t) => {
  const c = new native.Control('/dev/null')
  for (const cmd of COMMANDS) {
    for (const req of [request, { ...request, name: Buffer.alloc(200, 0xff) }, {}, undefined]) {
      t.throws(() => c[`${cmd}Sync`](req), { code: 'ENOTTY' }, `${cmd}Sync`)
      await t.rejects(c[cmd](req), { code: 'ENOTTY' }, cmd)
    }
  }
  c.close()
})

t.test('batch and statusAll: the first failure is reported, the rest skipped unless ifOk', async (t) => {
  const c = new native.Control('/dev/null')
  const reqs = COMMANDS.map((cmd, i) => ({ ...request, cmd: native.commands[cmd].nr, ...(i === 2 ? { ifOk: 0 } : {}) }))
  for (const out of [c.batchSync(reqs), await c.batch(reqs)]) {
    t.match(out[0], { error: { code: 'ENOTTY' } })
    t.equal(out.length, reqs.length)
    t.ok(out.slice(1).every((r) => r === undefined))
  }
  t.throws(() => c.statusAllSync(1 << 15), { code: 'ENOTTY' })
  await t.rejects(c.statusAll(0), { code: 'ENOTTY' })
  t.throws(() => c.batchSync('no' as never), TypeError)
  t.throws(() => c.batchSync([{ cmd: 999 }]), TypeError)
  t.match(c.batchSync([{ cmd: native.commands.tableLoad.nr, targets: [1 as never, {} as never] }])[0], { error: { code: 'ENOTTY' } })
  c.close()
})

t.test('a control device that cannot be opened fails every call with the open error', async (t) => {
  const c = new native.Control('/nonexistent/devmapper-control')
  t.throws(() => c.versionSync(), { code: 'ENOENT', operation: 'open', device: '/nonexistent/devmapper-control' })
  await t.rejects(async () => c.listDevices(), { code: 'ENOENT' }) // thrown at the call: the open runs on the JS thread
  t.throws(() => c.fd(), { code: 'ENOENT' })
})

t.test('loop calls on an fd that is no loop device return the errno', async (t) => {
  const fd = openSync('/dev/null', 'r+')
  t.teardown(() => closeSync(fd))
  const config = { offset: 2 ** 52, sizeLimit: 4096, flags: 0xffffffff, blockSize: 4096, fileName: long(300, 'f') }
  const l = native.loop
  t.not(l.configureSync(fd, fd, config), 0)
  t.not(await l.configure(fd, fd, config), 0)
  t.not(l.setStatusSync(fd, config), 0)
  t.not(await l.setStatus(fd, { ...config, fileName: '' }), 0)
  t.not(l.getStatusSync(fd).errno, 0)
  t.not((await l.getStatus(fd)).errno, 0)
  t.not(l.getFreeSync(fd).errno, 0)
  t.not((await l.getFree(fd)).errno, 0)
  for (const r of [l.setFdSync(fd, fd), l.clrFdSync(fd), l.setCapacitySync(fd), l.setDirectIoSync(fd, true), l.setBlockSizeSync(fd, 512)]) t.not(r, 0)
  for (const r of await Promise.all([l.setFd(fd, fd), l.clrFd(fd), l.setCapacity(fd), l.setDirectIo(fd, false), l.setBlockSize(fd, 4096)])) t.not(r, 0)
  t.throws(() => l.configureSync('x' as never, fd, config), TypeError)
  t.throws(() => l.setStatusSync(fd, 1 as never), TypeError)
})

t.test('lock, mknod, strerror and the Poller on ordinary files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'devmapper-native-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'f')
  writeFileSync(file, 'x')
  const fd = openSync(file, 'r+')
  t.teardown(() => closeSync(fd))
  const { lock } = native
  t.equal(lock.flock(fd, lock.LOCK_EX | lock.LOCK_NB), 0)
  t.equal(lock.flock(fd, lock.LOCK_UN), 0)
  t.not(lock.blkdiscard(fd, 0, 4096), 0)
  t.throws(() => lock.flock('x' as never, 0), TypeError)
  t.throws(() => lock.blkdiscard(fd, 'x' as never, 0), TypeError)
  t.not(native.udev.mknod(join(dir, long(300), 'n'), 7, 0, 0o600), 0)
  t.throws(() => native.udev.mknod(1 as never, 0, 0, 0), TypeError)
  t.equal(native.strerror(2), 'No such file or directory')
  t.type(native.strerror(1e9), 'string')
  t.throws(() => new native.Poller().start('x' as never, () => {}), TypeError)
  t.throws(() => new native.Poller().start(fd, 'x' as never), TypeError)
})
