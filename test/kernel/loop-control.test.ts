// A missing /dev/loop-control (a container's /dev, a minimal VM): attach makes the character node from
// /sys/class/misc/loop-control/dev and goes on; a path that is not a character device is refused with a DmError
// naming it, nothing attached. Checked with stat and `losetup --json`. The node is put back as found.
import { execFileSync } from 'node:child_process'
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { loop } from '../../ts'
import { sh, sweep } from './helpers'

const CONTROL = '/dev/loop-control'
const [major, minor] = readFileSync('/sys/class/misc/loop-control/dev', 'utf8').trim().split(':')
const scratch = mkdtempSync('/tmp/devmapper-loopctl-')
const backing = join(scratch, 'f.img')
writeFileSync(backing, '')
truncateSync(backing, 4 * 1024 * 1024)

function restore(): void {
  try {
    const st = lstatSync(CONTROL)
    if (st.isCharacterDevice()) return
    rmdirSync(CONTROL)
  } catch {
    // missing
  }
  sh('mknod', ['-m', '0660', CONTROL, 'c', major, minor])
}

t.teardown(() => {
  restore()
  for (const l of loop.findSync(backing)) loop.detachSync(l.path)
  sweep()
  rmSync(scratch, { recursive: true, force: true })
})

function losetupFiles(): string[] {
  const out = execFileSync('losetup', ['--list', '--json'], { encoding: 'utf8' }).trim()
  return out ? (JSON.parse(out) as { loopdevices: { 'back-file': string }[] }).loopdevices.map((d) => d['back-file']) : []
}

t.test('attach makes a missing /dev/loop-control', async (t) => {
  rmSync(CONTROL)
  t.throws(() => lstatSync(CONTROL), 'the node is gone')
  const info = await loop.attach(backing)
  const st = lstatSync(CONTROL)
  t.ok(st.isCharacterDevice(), 'made again as a character device')
  t.equal(`${Math.floor(st.rdev / 256) & 0xfff}:${(st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)}`, `${major}:${minor}`, 'with the numbers sysfs gives')
  t.equal(st.mode & 0o777, 0o660, 'mode 0660 as devtmpfs makes it')
  t.ok(losetupFiles().includes(backing), `losetup sees ${info.path} over the file`)
  loop.detachSync(info.path)

  // the Sync twin, node gone again
  rmSync(CONTROL)
  const again = loop.attachSync(backing)
  t.ok(lstatSync(CONTROL).isCharacterDevice())
  loop.detachSync(again.path)
})

t.test('a /dev/loop-control that is not a character device is refused, nothing attached', async (t) => {
  rmSync(CONTROL)
  mkdirSync(CONTROL)
  const before = losetupFiles().length
  await t.rejects(loop.attach(backing), { code: 'ENOTTY', operation: 'open', device: CONTROL, message: /\/dev\/loop-control: exists but is not a character device; remove it/ })
  t.equal(losetupFiles().length, before, 'losetup: nothing attached')
  t.ok(lstatSync(CONTROL).isDirectory(), 'left alone')
  rmdirSync(CONTROL)
  const info = await loop.attach(backing)
  t.ok(lstatSync(CONTROL).isCharacterDevice(), 'made once it was removed')
  loop.detachSync(info.path)
})
