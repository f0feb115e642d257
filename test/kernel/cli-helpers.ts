// For the CLI kernel tests: the bin as a user runs it (node_modules/.bin/devmapper, a symlink to the built
// main.js made executable, as npm install does, found on PATH), and a byte-for-byte comparison with dmsetup.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Test } from 'tap'
import { sh } from './helpers'

export const withUdev = process.env.DEVMAPPER_UDEV === '1'

const main = resolve(__dirname, '..', '..', 'ts', 'cli', 'main.js')
export const binDir = mkdtempSync('/tmp/devmapper-bin-')
const dotBin = join(binDir, 'node_modules', '.bin')
mkdirSync(dotBin, { recursive: true })
chmodSync(main, 0o755)
symlinkSync(main, join(dotBin, 'devmapper'))

/** The environment the bin runs in: its .bin on PATH, the C locale (dmsetup then draws trees in ASCII). */
export const binEnv: NodeJS.ProcessEnv = { ...process.env, PATH: `${dotBin}:${process.env.PATH}`, LANG: 'C', LC_ALL: '' }

export function removeBinDir(): void {
  rmSync(binDir, { recursive: true, force: true })
}

export interface Ran {
  stdout: string
  stderr: string
  status: number | null
}

export function run(cmd: string, args: string[], input?: string): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: binEnv, input })
  return { stdout: r.stdout, stderr: r.stderr, status: r.status }
}

export const devmapper = (...args: string[]): Ran => run('devmapper', args)

/** Runs devmapper, expects exit status 0 (naming the command and its stderr otherwise), returns stdout. */
export function ok(t: Test, ...args: string[]): string {
  const r = devmapper(...args)
  t.equal(r.status, 0, `devmapper ${args.join(' ')} ${r.stderr}`)
  return r.stdout
}

/** Waits for udev to finish with every uevent so far (open counts are stable then). */
export function settle(): void {
  if (withUdev) sh('udevadm', ['settle'])
}

/** Runs the same arguments through dmsetup and devmapper; both succeed and stdout is identical. */
export function same(t: tap.Test, args: string[], what = args.join(' ')): string {
  settle()
  const theirs = run('dmsetup', args)
  const ours = devmapper(...args)
  t.equal(theirs.status, 0, `dmsetup ${what} succeeded ${theirs.stderr}`)
  t.equal(ours.status, 0, `devmapper ${what} succeeded ${ours.stderr}`)
  t.equal(ours.stdout, theirs.stdout, `devmapper ${what} prints what dmsetup prints`)
  return ours.stdout
}
