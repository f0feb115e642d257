// Shared by the kernel tests: a unique device-name prefix per test file, a sweep that removes every device
// with that prefix (looping until none is left, also after failures), dmsetup for checks from the other side,
// and loop devices (devmapper's `loop`) on sparse files in the guest's tmpfs.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeviceMapper, loop } from '../../ts'

if (process.env.DEVMAPPER_SANDBOX !== '1' && process.env.DEVMAPPER_TEST_ON_HOST !== '1') {
  // Kernel tests create and remove devices: never on a host that did not opt in.
  throw new Error('kernel tests run inside the sandbox (npm test) or with DEVMAPPER_TEST_ON_HOST=1')
}

export const dm = new DeviceMapper()
export const prefix = `dmt${process.pid}-`
export const name = (s: string): string => `${prefix}${s}`

const loopFiles: string[] = []
let scratch: string | undefined

/** Runs a command and returns its stdout; throws with stderr on failure. */
export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] })
}

export function dmsetup(...args: string[]): string {
  return sh('dmsetup', args)
}

/** A loop device over a new sparse file of `mib` MiB; detached by sweep(). */
export function loopDevice(mib: number): { path: string; file: string; sectors: number } {
  scratch ??= mkdtempSync('/tmp/devmapper-test-')
  const file = join(scratch, `loop${loopFiles.length}.img`)
  writeFileSync(file, '')
  truncateSync(file, mib * 1024 * 1024)
  loopFiles.push(file)
  const { path } = loop.attachSync(file)
  return { path, file, sectors: mib * 2048 }
}

/** Our devices, newest first (snapshots and thin devices before the pools and origins they sit on). */
export function ours(): string[] {
  return dm
    .listSync()
    .filter((d) => d.name.startsWith(prefix))
    .sort((a, b) => b.minor - a.minor)
    .map((d) => d.name)
}

/** Our devices as sweep() addresses them: a name that is not UTF-8 by its exact bytes, never by a lossy string. */
function oursExact(): (string | Buffer)[] {
  return dm
    .listSync()
    .filter((d) => d.name.startsWith(prefix))
    .sort((a, b) => b.minor - a.minor)
    .map((d) => d.nameBuffer ?? d.name)
}

/** Removes every device this file made, then its loop devices and files. Loops until nothing is left. */
export function sweep(): void {
  for (let round = 0; round < 20; round++) {
    const left = oursExact()
    if (left.length === 0) break
    for (const n of left) {
      try {
        dm.resumeSync(n) // a device left suspended would hang anything that opens it
        dm.removeSync(n, { retries: 2 })
      } catch {
        // held by another of ours: the next round gets it
      }
    }
  }
  // By backing file, not by number: a number we detached may already serve someone else.
  for (const file of loopFiles.splice(0)) {
    try {
      for (const l of loop.findSync(file)) loop.detachSync(l.path)
    } catch {
      // already gone
    }
  }
  if (scratch && existsSync(scratch)) rmSync(scratch, { recursive: true, force: true })
  scratch = undefined
}

/** Reads `bytes` at byte `offset` of a block device. */
export function readDevice(path: string, offset: number, bytes: number): Buffer {
  const out = execFileSync('dd', [`if=${path}`, 'bs=512', `skip=${offset / 512}`, `count=${Math.ceil(bytes / 512)}`, 'iflag=direct', 'status=none'])
  return out.subarray(0, bytes)
}

/** Writes `data` at byte `offset` of a block device (direct I/O, then flushed). */
export function writeDevice(path: string, offset: number, data: Buffer): void {
  execFileSync('dd', [`of=${path}`, 'bs=512', `seek=${offset / 512}`, 'oflag=direct', 'conv=fsync,notrunc', 'status=none'], { input: data })
}

export function devPath(n: string): string {
  const info = dm.infoSync(n)
  return `/dev/dm-${info.minor}`
}

/**
 * A process killed while it waited for udev leaves its cookie semaphore behind (libdm's too: that is what
 * `dmsetup udevcomplete_all` is for). Files that kill processes on purpose clear those at the end, so that
 * udev.test.ts, which checks that devmapper itself never leaks one, starts from none. Files run one at a time,
 * so no other operation's cookie is in flight.
 */
export function sweepKilledCookies(): void {
  if (process.env.DEVMAPPER_UDEV === '1') dmsetup('--yes', 'udevcomplete_all', '0')
}
