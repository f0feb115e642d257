// The `devmapper` cookie verbs (udevcookies, udevcreatecookie, udevreleasecookie, udevcomplete, udevcomplete_all)
// against dmsetup's: cookies one tool makes, the other lists, signals and releases; listings compared byte for
// byte. Without udev running libdm makes and signals no cookie (dmsetup's verbs are no-ops then, and so are
// ours): that pass makes its semaphores through the addon and checks that neither tool touches them.
import { t, type Test } from 'tap'
import { native } from '../../ts/core/native'
import { dmsetup } from './helpers'
import { devmapper, ok, removeBinDir, run, withUdev } from './cli-helpers'

t.setTimeout(60_000)
t.teardown(() => {
  // whatever a failed assertion left behind, so udev.test.ts starts from no cookie
  dmsetup('--yes', 'udevcomplete_all', '0')
  removeBinDir()
})

/** The fields of the row `dmsetup udevcookies` shows for a cookie (0x0D4DXXXX as udevcreatecookie prints it). */
function row(cookie: string): string[] | undefined {
  const key = `0x${parseInt(cookie, 16).toString(16)}`
  const line = dmsetup('udevcookies').split('\n').find((l) => l.startsWith(`${key} `))
  return line?.trim().split(/\s+/)
}

/** Both tools list the same cookies the same way. */
function sameListing(t: Test, what: string): void {
  const theirs = run('dmsetup', ['udevcookies'])
  const ours = devmapper('udevcookies')
  t.equal(ours.status, 0, `devmapper udevcookies ${ours.stderr}`)
  t.equal(ours.stdout, theirs.stdout, `udevcookies prints what dmsetup prints (${what})`)
}

/** A cookie at value 1: from the tool's udevcreatecookie under udev, else straight from the addon. */
function cookie(t: Test, tool: 'dmsetup' | 'devmapper'): string {
  if (withUdev) return tool === 'dmsetup' ? dmsetup('udevcreatecookie').trim() : ok(t, 'udevcreatecookie').trim()
  const r = native.udev.cookieCreate(0)
  if ('errno' in r) throw new Error(`cookieCreate: errno ${r.errno}`)
  native.udev.cookieComplete(r.semid) // back to 1: the ioctl reference cookieCreate takes is not wanted here
  return `0x0D4D${r.cookie.toString(16).toUpperCase().padStart(4, '0')}`
}

const count = (): number => dmsetup('udevcookies').trim().split('\n').length - 1

t.test('udevcreatecookie', async (t) => {
  dmsetup('--yes', 'udevcomplete_all', '0')
  const theirs = run('dmsetup', ['udevcreatecookie'])
  const ours = devmapper('udevcreatecookie')
  t.equal(ours.status, 0, `devmapper udevcreatecookie ${ours.stderr}`)
  if (withUdev) {
    t.match(theirs.stdout, /^0x0D4D[0-9A-F]{4}\n$/, 'dmsetup made a cookie')
    t.match(ours.stdout, /^0x0D4D[0-9A-F]{4}\n$/, 'devmapper prints a cookie as dmsetup does (0x%08X)')
    t.equal(row(ours.stdout.trim())?.[2], '1', 'dmsetup sees our cookie at value 1, as its own')
    t.equal(row(theirs.stdout.trim())?.[2], '1', 'dmsetup cookie at value 1')
    t.equal(count(), 2, 'two cookies')
  } else {
    t.equal(theirs.stdout, '', 'no udev: dmsetup prints no cookie')
    t.equal(ours.stdout, '', 'no udev: neither does devmapper')
    t.equal(count(), 0, 'and neither made a semaphore')
  }
  sameListing(t, 'after create')
  dmsetup('--yes', 'udevcomplete_all', '0')
})

t.test('cookies listed, signalled, completed and released across the tools', async (t) => {
  dmsetup('--yes', 'udevcomplete_all', '0')
  const theirs = cookie(t, 'dmsetup')
  const ours = cookie(t, 'devmapper')
  t.equal(row(ours)?.[2], '1', 'cookie at value 1')
  sameListing(t, 'two cookies at 1')

  // udev's side: one decrement under udev, nothing without (as libdm)
  const after = withUdev ? '0' : '1'
  ok(t, 'udevcomplete', theirs)
  t.equal(row(theirs)?.[2], after, `devmapper udevcomplete: value ${after}`)
  dmsetup('udevcomplete', ours)
  t.equal(row(ours)?.[2], after, `dmsetup udevcomplete: value ${after}`)
  sameListing(t, 'after udevcomplete')
  // a flags-only cookie carries no semaphore: success, nothing touched
  ok(t, 'udevcomplete', '0x00010000')
  t.equal(devmapper('udevcomplete', 'zz').status, 2, 'a bad cookie value is a usage error')
  t.equal(devmapper('udevcomplete', '0').status, 2, 'cookie 0 is refused, as dmsetup refuses it')
  t.equal(devmapper('udevreleasecookie').status, 2, 'release without a cookie is a usage error')

  // complete_all: an age keeps fresh ones, none removes them all; the report line is dmsetup's
  const kept = devmapper('--yes', 'udevcomplete_all', '60')
  t.equal(kept.stdout, '0 semaphores with keys prefixed by 3405 (0xd4d) destroyed. 2 skipped.\n', 'fresh ones skipped')
  t.equal(count(), 2, 'both still there')
  const no = run('devmapper', ['udevcomplete_all'], 'n\n')
  t.match(no.stdout, /Semaphores with keys prefixed by 3405 \(0xd4d\) NOT destroyed\.\n$/, 'answering n keeps them')
  t.equal(count(), 2, 'both still there after n')
  const all = devmapper('--yes', 'udevcomplete_all')
  t.equal(all.stdout, '2 semaphores with keys prefixed by 3405 (0xd4d) destroyed. 0 skipped.\n', 'all destroyed')
  sameListing(t, 'none')
  cookie(t, 'devmapper')
  cookie(t, 'dmsetup')
  const theirsAll = run('dmsetup', ['--yes', 'udevcomplete_all'])
  t.equal(theirsAll.stdout, all.stdout, 'dmsetup prints the same line for the same work')

  // release: drop a reference, wait for zero, remove (no-ops without udev)
  const a = cookie(t, 'dmsetup')
  ok(t, 'udevreleasecookie', a)
  t.equal(row(a) === undefined, withUdev, withUdev ? 'devmapper released dmsetup\'s cookie' : 'no udev: left alone, as dmsetup')
  const b = cookie(t, 'devmapper')
  dmsetup('udevreleasecookie', b)
  t.equal(row(b) === undefined, withUdev, withUdev ? 'dmsetup released our cookie' : 'no udev: dmsetup left it alone too')
  if (withUdev) {
    const missing = devmapper('udevcomplete', a)
    t.equal(missing.status, 1, 'udevcomplete of a released cookie fails')
  }
})
