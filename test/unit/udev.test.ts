// The cookie semaphores on the host's real SysV IPC (no device-mapper needed): libdm's key and cookie layout as
// `dmsetup udevcookies` reads it, the bounded wait off the JS thread, and removal on every path.
import { execFileSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { t } from 'tap'
import { DeviceMapper } from '../../ts'
import { native } from '../../ts/core/native'
import { devNumber } from '../../ts/core/nodes'

const udev = native.udev
const EAGAIN = 11

function create(flags: number): { semid: number; cookie: number } {
  const c = udev.cookieCreate(flags)
  if ('errno' in c) throw new Error(`cookieCreate failed with errno ${c.errno}`)
  return c
}

/** The semaphore's value as the kernel reports it, or undefined once it is gone. */
function value(semid: number): number | undefined {
  try {
    const out = execFileSync('ipcs', ['-s', '-i', String(semid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    const row = out.split('\n').find((l) => /^0\s+\d+/.test(l.trim()))
    return row === undefined ? undefined : Number(row.trim().split(/\s+/)[1])
  } catch {
    return undefined
  }
}

t.test("a cookie is libdm's: key 0x0d4d<base>, flags in the high half, value 2 (ours + udev's)", async (t) => {
  const c = create(0x40 | 0x0e)
  t.teardown(() => udev.cookieRemove(c.semid))
  t.equal(c.cookie >>> 16, 0x4e, 'flags in the high 16 bits')
  t.not(c.cookie & 0xffff, 0, 'a non-zero base')
  t.equal(value(c.semid), 2)
  const listed = execFileSync('dmsetup', ['udevcookies'], { encoding: 'utf8' })
  const row = listed.split('\n').find((l) => l.trim().split(/\s+/)[1] === String(c.semid))
  t.ok(row, 'dmsetup udevcookies lists it')
  t.equal(Number(row!.trim().split(/\s+/)[0]), (0x0d4d << 16) | (c.cookie & 0xffff), 'under the libdm key')
  t.equal(row!.trim().split(/\s+/)[2], '2')
})

t.test('cookies are distinct while in use', async (t) => {
  const made = Array.from({ length: 50 }, () => create(0))
  t.teardown(() => made.forEach((c) => udev.cookieRemove(c.semid)))
  t.equal(new Set(made.map((c) => c.cookie)).size, 50)
})

t.test("the async wait leaves the JS thread free and ends when udev's reference is dropped", async (t) => {
  const c = create(0)
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  // udev's `dmsetup udevcomplete` is one semop -1; here it comes from this thread while the wait runs on the pool.
  setTimeout(() => udev.cookieComplete(c.semid), 150)
  const started = Date.now()
  const errno = await udev.cookieWait(c.semid, 5000)
  clearInterval(timer)
  t.equal(errno, 0)
  t.ok(Date.now() - started >= 140, 'it waited for the completion')
  t.ok(ticks >= 5, `timers ran during the wait (${ticks})`)
  t.equal(value(c.semid), undefined, 'and the semaphore is gone')
})

t.test('a wait that times out reports EAGAIN and still removes the semaphore, async and sync', async (t) => {
  const a = create(0)
  const started = Date.now()
  t.equal(await udev.cookieWait(a.semid, 200), EAGAIN)
  t.ok(Date.now() - started >= 190)
  t.equal(value(a.semid), undefined)
  const s = create(0)
  t.equal(udev.cookieWaitSync(s.semid, 100), EAGAIN)
  t.equal(value(s.semid), undefined)
})

t.test('a cookie nobody else holds (failed ioctl, no uevent) is settled without waiting', async (t) => {
  const c = create(0)
  t.equal(udev.cookieComplete(c.semid), 0)
  t.equal(value(c.semid), 1)
  t.equal(udev.cookieWaitSync(c.semid, 60_000), 0, 'our own reference dropped: zero at once')
  t.equal(value(c.semid), undefined)
})

t.test('udev options are validated', async (t) => {
  t.throws(() => new DeviceMapper({ udev: 'sometimes' as never }), { code: 'EINVAL', field: 'udev' })
  t.throws(() => new DeviceMapper({ udevTimeoutMs: -1 }), { code: 'EINVAL', field: 'udevTimeoutMs' })
  const dm = new DeviceMapper({ controlPath: '/nonexistent/dm-control', udev: 'manual' })
  t.throws(() => dm.resumeSync('x', { udevFlags: 0x10000 }), { code: 'EINVAL', field: 'udevFlags' })
  t.throws(() => dm.resumeSync('x', { udevFlags: 1.5 }), { code: 'EINVAL', field: 'udevFlags' })
})

t.test('devNumber matches how Node reports st_rdev', async (t) => {
  t.equal(devNumber(1, 3), statSync('/dev/null').rdev)
  t.equal(devNumber(1, 5), statSync('/dev/zero').rdev)
  // glibc makedev for a large minor: (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)
  t.equal(devNumber(254, 0x12345), 0x45 + 254 * 0x100 + 0x123 * 0x100000)
})
