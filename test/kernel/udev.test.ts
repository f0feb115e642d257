// udev cookies against the stock dmsetup rules (55-dm.rules, 60-persistent-storage-dm.rules, 95-dm-notify.rules)
// in the sandbox pass that runs systemd-udevd (DEVMAPPER_UDEV=1), and the same workloads in the pass without udev,
// where no semaphore may ever appear. Semaphores are checked from outside with `ipcs -s` and `dmsetup udevcookies`.
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { t } from 'tap'
import { DeviceMapper, UdevFlags } from '../../ts'
import { dm, dmsetup, loopDevice, name, prefix, sh, sweep } from './helpers'

t.teardown(sweep)

const withUdev = process.env.DEVMAPPER_UDEV === '1'
const zero = [{ start: 0, length: 2048, type: 'zero' }]
const run = promisify(execFile)
/**
 * Debian's libdm trusts udev even when it is not running and then makes no /dev/mapper node at all
 * ("Skipping NODE_ADD ... [trust_udev]"); without udev, dmsetup is run the way containers run it.
 */
const dmsetupEnv = withUdev ? process.env : { ...process.env, DM_DISABLE_UDEV: '1' }
const dmsetupNodes = (...args: string[]): string => execFileSync('dmsetup', args, { encoding: 'utf8', env: dmsetupEnv })

/** libdm-layout cookie semaphores (key 0x0d4dXXXX) that exist right now, as `ipcs -s` shows them. */
function cookieSemaphores(): string[] {
  return sh('ipcs', ['-s'])
    .split('\n')
    .filter((l) => /^0x0d4d[0-9a-f]{4}\s/i.test(l))
}

/** Cookies `dmsetup udevcookies` lists (the header line dropped). */
function dmsetupCookies(): string[] {
  return dmsetup('udevcookies')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
}

/** True if `path` (node or link) reaches device `n` (glibc makedev encoding, as fs.Stats.rdev). */
function reaches(path: string, n: string): boolean {
  const { major, minor } = dm.infoSync(n)
  try {
    const st = statSync(path)
    return st.isBlockDevice() && st.rdev === (minor & 0xff) + major * 0x100 + Math.floor(minor / 0x100) * 0x100000
  } catch {
    return false
  }
}

function gone(path: string): boolean {
  try {
    lstatSync(path)
    return false
  } catch {
    return true
  }
}

t.test('a thousand operations leave no semaphore behind', async (t) => {
  t.same(cookieSemaphores(), [], 'none before')
  let ops = 0
  // Operations that send uevents: with udev, each waits for the rules' `dmsetup udevcomplete`.
  for (let i = 0; i < 2; i++) {
    const sync = i % 2 === 1
    const a = name(`k${i}`)
    const b = name(`k${i}-renamed`)
    if (sync) {
      dm.createSync(a, zero)
      dm.suspendSync(a)
      dm.resumeSync(a)
      dm.renameSync(a, b)
      dm.removeSync(b)
    } else {
      await dm.create(a, zero)
      await dm.suspend(a)
      await dm.resume(a)
      await dm.rename(a, b)
      await dm.remove(b)
    }
    ops += 4
    t.ok(gone(`/dev/mapper/${b}`))
  }
  // Several cookies in flight at once.
  const many = Array.from({ length: 5 }, (_, i) => name(`par${i}`))
  await Promise.all(many.map((n) => dm.create(n, zero)))
  t.ok(many.every((n) => existsSync(`/dev/mapper/${n}`)), 'every parallel create has its node')
  await Promise.all(many.map((n) => dm.remove(n)))
  t.ok(many.every((n) => gone(`/dev/mapper/${n}`)), 'every parallel remove took its node')
  ops += 10
  // Failing ioctls: the cookie was made, no uevent came, the semaphore must still go.
  const holder = name('holder')
  const other = name('other')
  await dm.create(holder, zero)
  await dm.create(other, zero)
  ops += 2
  for (let i = 0; i < 76; i++) {
    await t.rejects(dm.remove(name('missing'), { retries: 0 }), { code: 'ENXIO' })
    ops++
  }
  for (let i = 0; i < 4; i++) {
    t.throws(() => dm.renameSync(holder, other), { code: 'EBUSY' }) // the kernel logs each: keep it to a few
    ops++
  }
  // Resumes of a running device: cookie made and dropped, no uevent; the rest of the thousand, async and sync.
  while (ops < 998) {
    const batch = Math.min(25, Math.floor((998 - ops) / 2))
    await Promise.all(Array.from({ length: batch }, () => dm.resume(holder)))
    for (let i = 0; i < batch; i++) dm.resumeSync(other)
    ops += 2 * batch
  }
  await dm.remove(holder)
  dm.removeSync(other)
  ops += 2
  t.equal(ops, 1000, 'a thousand cookie-carrying operations')
  t.same(cookieSemaphores(), [], 'ipcs -s shows no cookie semaphore')
  t.same(dmsetupCookies(), [], 'dmsetup udevcookies is empty')
})

t.test('devices made by dmsetup and by devmapper coexist, renamed and removed by the other tool', async (t) => {
  const a = name('by-dmsetup')
  const b = name('by-devmapper')
  const c = name('both-at-once')
  dmsetupNodes('create', a, '--table', '0 2048 zero')
  const [bInfo] = await Promise.all([dm.create(b, zero), run('dmsetup', ['create', c, '--table', '0 2048 zero'], { env: dmsetupEnv })])
  for (const n of [a, b, c]) t.ok(reaches(`/dev/mapper/${n}`, n), `/dev/mapper/${n} reaches its device`)
  t.equal(bInfo.path, `/dev/mapper/${b}`)

  dmsetupNodes('rename', b, `${b}2`)
  await dm.rename(a, `${a}2`)
  t.ok(gone(`/dev/mapper/${b}`) && gone(`/dev/mapper/${a}`), 'old names gone')
  t.ok(reaches(`/dev/mapper/${b}2`, `${b}2`), 'dmsetup moved the node of a devmapper device')
  t.ok(reaches(`/dev/mapper/${a}2`, `${a}2`), 'devmapper moved the node of a dmsetup device')

  await Promise.all([dm.remove(`${a}2`), run('dmsetup', ['remove', `${b}2`], { env: dmsetupEnv })])
  dm.removeSync(c)
  for (const n of [`${a}2`, `${b}2`, c]) t.ok(gone(`/dev/mapper/${n}`), `/dev/mapper/${n} gone`)
  t.same(dmsetupCookies(), [], 'dmsetup udevcookies is empty')
  t.same(cookieSemaphores(), [], 'no cookie semaphore left')
})

if (!withUdev) {
  t.test("udev: 'udev' without udev running fails clearly, before touching the kernel", async (t) => {
    t.notOk(existsSync('/run/udev/control'), 'this pass has no udev')
    const strict = new DeviceMapper({ udev: 'udev' })
    await t.rejects(strict.create(name('strict'), zero), { code: 'ENOTCONN', operation: 'udev', message: /udev is not running/ })
    t.throws(() => strict.resumeSync(name('strict')), { code: 'ENOTCONN' })
    t.notOk(dm.listSync().some((d) => d.name === name('strict')), 'no device was made')
    t.same(cookieSemaphores(), [])
  })
}

if (withUdev) {
  const SLOW_RULES = '/run/udev/rules.d/90-devmapper-test-slow.rules'
  const SLEEP_ARG = '7.25' // marks the rule's sleep among the guest's processes

  function pidsWhere(match: (comm: string, cmdline: string) => boolean): number[] {
    const out: number[] = []
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue
      try {
        const comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim()
        const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8')
        if (match(comm, cmdline)) out.push(Number(p))
      } catch {
        // exited meanwhile
      }
    }
    return out
  }

  const udevPids = (): number[] => pidsWhere((comm) => comm === 'systemd-udevd' || comm === '(udev-worker)')
  const sleepPids = (): number[] => pidsWhere((_, cmd) => cmd === `/bin/sleep\0${SLEEP_ARG}\0`)
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

  function startUdevd(): void {
    sh('/lib/systemd/systemd-udevd', ['--daemon'])
    sh('udevadm', ['control', '--ping', '--timeout=10'])
  }

  t.test('the stock rules saw our cookie: flags imported, link made, completion signalled', async (t) => {
    const n = name('flags')
    const info = await dm.create(n, zero)
    t.equal(lstatSync(info.path).isSymbolicLink(), true, 'udev made the link before create resolved')
    const props = sh('udevadm', ['info', '--query=property', `/dev/dm-${info.minor}`])
    t.match(props, /DM_UDEV_PRIMARY_SOURCE_FLAG=1/)
    t.match(props, /DM_UDEV_RULES_VSN=2/)
    t.match(props, new RegExp(`DM_NAME=${n}`))
    t.same(dmsetupCookies(), [], 'udev completed the cookie (dmsetup udevcomplete)')
    await dm.remove(n)
  })

  t.test('the private preset keeps udev from probing the device', async (t) => {
    const loop = loopDevice(4)
    sh('mkswap', [loop.path])
    const table = [{ start: 0, length: loop.sectors, type: 'linear', params: `${loop.path} 0` }]
    const pub = name('public')
    const priv = name('private')
    const pubInfo = await dm.create(pub, table)
    const privInfo = await dm.create(priv, table, { udevFlags: UdevFlags.PRIVATE })
    const props = (minor: number): string => sh('udevadm', ['info', '--query=property', `/dev/dm-${minor}`])
    t.match(props(pubInfo.minor), /ID_FS_TYPE=swap/, 'an ordinary device is probed (blkid found the swap signature)')
    t.ok(existsSync(`/dev/disk/by-id/dm-name-${pub}`), 'and gets disk links')
    const p = props(privInfo.minor)
    t.ok(lstatSync(privInfo.path).isSymbolicLink(), 'a private device still gets its /dev/mapper link')
    t.match(p, /DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG=1/)
    t.match(p, /DM_UDEV_DISABLE_DISK_RULES_FLAG=1/)
    t.match(p, /DM_UDEV_DISABLE_OTHER_RULES_FLAG=1/)
    t.notMatch(p, /ID_FS_TYPE/, 'but is never probed')
    t.notOk(existsSync(`/dev/disk/by-id/dm-name-${priv}`), 'and gets no disk links')
    await dm.remove(priv, { udevFlags: UdevFlags.PRIVATE })
    await dm.remove(pub)
  })

  t.test('killing udevd mid-operation: a timeout error, no leaked semaphore', async (t) => {
    const n = name('slow')
    // Long enough to look at the semaphore while udev holds it (UML is slow to spawn), short enough for CI.
    const patient = new DeviceMapper({ udevTimeoutMs: 3000 })
    const quick = new DeviceMapper({ udevTimeoutMs: 1000 })
    // A rule that holds our device's event in a udev worker, before 95-dm-notify.rules would complete the cookie.
    mkdirSync('/run/udev/rules.d', { recursive: true })
    writeFileSync(SLOW_RULES, `ENV{DM_NAME}=="${prefix}slow*", RUN+="/bin/sleep ${SLEEP_ARG}"\n`)
    sh('udevadm', ['control', '--reload'])
    t.teardown(() => {
      rmSync(SLOW_RULES, { force: true })
      if (udevPids().length === 0) startUdevd()
      sh('udevadm', ['control', '--reload'])
    })

    const started = Date.now()
    const creating = patient.create(n, zero)
    creating.catch(() => {}) // judged below
    let sleeping: number[] = []
    while ((sleeping = sleepPids()).length === 0 && Date.now() - started < 20_000) await pause(20)
    t.equal(sleeping.length, 1, "a udev worker is running our device's rules")
    t.equal(cookieSemaphores().length, 1, 'our cookie semaphore exists while udev works')
    t.same(dmsetupCookies().map((l) => l.trim().split(/\s+/)[2]), ['1'], "dmsetup sees it, with udev's reference still held")
    for (const pid of [...udevPids(), ...sleeping]) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // a worker that died with udevd's main process (its parent-death signal)
      }
    }

    await t.rejects(creating, { code: 'ETIMEDOUT', operation: 'udev', device: n, message: /udev did not confirm cookie/ })
    t.ok(Date.now() - started >= 3000, 'after the configured timeout')
    t.same(cookieSemaphores(), [], 'the semaphore was removed')
    t.equal(dm.infoSync(n).suspended, false, 'the kernel side of the create happened')

    // The synchronous path, with udevd gone for good: the same bounded wait.
    quick.suspendSync(n)
    const before = Date.now()
    t.throws(() => quick.resumeSync(n), { code: 'ETIMEDOUT', operation: 'udev' })
    t.ok(Date.now() - before >= 1000)
    t.same(cookieSemaphores(), [], 'no semaphore left by the sync wait either')

    rmSync(SLOW_RULES, { force: true })
    startUdevd()
    await dm.remove(n)
    // The restarted udevd has no record of the link its killed predecessor made; devmapper's check after
    // udev confirmed the remove takes it away (as libdm's verify_udev_operations would).
    t.ok(gone(`/dev/mapper/${n}`), 'with udevd back, remove works and no stale link is left')
    t.same(dmsetupCookies(), [])
  })
}
