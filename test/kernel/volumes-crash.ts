// The kill test shared by volumes-crash-*.test.ts: for each step of an operation, a child process runs the
// operation and SIGKILLs itself at that step; then a fresh open must show the whole operation or none of it,
// the volume that was there before intact with its data, exactly the manager's ids in the pool (thin_dump on
// a metadata snapshot), no stray or suspended devices, and check() clean.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { t as tap, type Test } from 'tap'
import { VolumeManager, type VolumeManagerOptions } from '../../ts'
import { CRASH_ENV } from '../../ts/volumes'
import { dm, name, prefix, sweep, sweepKilledCookies } from './helpers'
import { freshRoot, poolIdsFromOutside, readPattern, removeDevicesWithPrefix, rmRoot, writePattern } from './volumes-helpers'

const CHILD = join(__dirname, 'volumes-child.js')

/** The root, options and cleanup of one kill-test file: a small loop-file pool named after `tag`. */
export function crashRoot(tag: string, poolTag: string) {
  const root = freshRoot(`crash-${tag}`)
  const options = { root, loopDataSize: '128M', loopMetadataSize: '8M', poolName: name(`${poolTag}-pool`), defaultVolumeSize: '16M' }
  // one child, two opens and two thin_dumps per step: more than tap's default 30 s on the one-CPU guest
  tap.setTimeout(90_000)
  tap.teardown(() => {
    sweepKilledCookies() // processes killed mid-operation may leave udev cookies
    removeDevicesWithPrefix(prefix)
    sweep()
    rmRoot(root)
  })
  return options
}

export function runChild(options: VolumeManagerOptions, op: string, args: unknown[], crashAt?: string): { signal: NodeJS.Signals | null; status: number | null; stderr: string } {
  const env = { ...process.env }
  if (crashAt) env[CRASH_ENV] = crashAt
  else delete env[CRASH_ENV]
  const r = spawnSync(process.execPath, [CHILD, JSON.stringify({ options, op, args })], { env, encoding: 'utf8', timeout: 60_000 })
  return { signal: r.signal, status: r.status, stderr: r.stderr }
}

export interface CrashCase {
  /** the step to die at */
  step: string
  op: string
  args: unknown[]
  /** prepares the root before the child runs (vm open in this process) */
  before?: (vm: VolumeManager) => Promise<void>
  /** checks after reopen; `done` says whether the operation must be whole (true) or absent (false) */
  after: (t: Test, vm: VolumeManager, done: boolean) => Promise<void>
  /** undoes the operation's effect so the next case starts from the same root */
  reset?: (vm: VolumeManager) => Promise<void>
  /** the steps at and after which the operation is whole */
  doneFrom: string
  steps: readonly string[]
}

/** Runs one kill case against `options`' root; 'keep' is a volume with a known pattern that must survive. */
export async function crashCase(t: Test, options: VolumeManagerOptions, c: CrashCase): Promise<void> {
  let vm: VolumeManager
  if (c.before) {
    vm = await VolumeManager.open(options)
    await c.before(vm)
    await vm.close()
  }
  const r = runChild(options, c.op, c.args, c.step)
  t.equal(r.signal, 'SIGKILL', `${c.step}: the child died at the step${r.signal ? '' : ` (status ${r.status}: ${r.stderr.slice(0, 400)})`}`)
  vm = await VolumeManager.open(options)
  try {
    const done = c.steps.indexOf(c.step) >= c.steps.indexOf(c.doneFrom)
    await c.after(t, vm, done)
    const vols = await vm.listVolumes()
    const ids = vols.map((v) => v.deviceId).sort((a, b) => a - b)
    const st = await vm.status()
    t.same(poolIdsFromOutside(st.poolName), [...ids, ...st.internalDeviceIds].sort((a, b) => a - b), `${c.step}: the pool holds exactly the manager's ids`)
    const chk = await vm.check()
    t.match(chk, { ok: true, orphanDeviceIds: [], strayDevices: [], suspendedDevices: [], missingVolumes: [] }, `${c.step}: check() is clean`)
    const prefix = st.poolName.replace(/-pool$/, '-')
    const devices = dm.listSync().filter((d) => d.name.startsWith(prefix) && d.name !== st.poolName).map((d) => d.name.slice(prefix.length)).sort()
    t.same(devices, vols.filter((v) => v.active).map((v) => v.name).sort(), `${c.step}: every device belongs to an active volume`)
    const keep = await vm.activate('keep')
    t.ok(readPattern(keep.path!, 0xa5), `${c.step}: the volume made before is intact`)
    if (c.reset) await c.reset(vm)
  } finally {
    await vm.close()
  }
}

/** Opens a fresh root with a 'keep' volume holding a pattern. */
export async function prepareRoot(options: VolumeManagerOptions): Promise<void> {
  const vm = await VolumeManager.open(options)
  await vm.createVolume('keep', { fs: 'none', size: '4M' })
  const keep = await vm.activate('keep')
  writePattern(keep.path!, 0xa5)
  await vm.close()
}

/** The filesystem type on a volume (activating it), or '' when none. */
export async function fsType(vm: VolumeManager, name: string): Promise<string> {
  const v = await vm.activate(name)
  try {
    return execFileSync('blkid', ['-p', '-o', 'value', '-s', 'TYPE', v.path!], { encoding: 'utf8' }).trim()
  } catch {
    return ''
  } finally {
    await vm.deactivate(name)
  }
}

/** runChild without waiting: resolves with the exit status when the child ends. */
export function runChildAsync(options: VolumeManagerOptions, op: string, args: unknown[]): Promise<{ status: number | null; stderr: string }> {
  const env = { ...process.env }
  delete env[CRASH_ENV]
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify({ options, op, args })], { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (status) => resolve({ status, stderr }))
  })
}
