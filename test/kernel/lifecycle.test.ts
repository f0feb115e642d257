// Lifecycle against the real kernel (issue 10, critical 1): worker terminate and process exit while creates,
// removes, failing ioctls and a watch are in flight never take the process down, and leave no device behind
// that is half-made or stuck; close() with calls pending; many DeviceMapper instances without leaking fds.
import { readdirSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { t } from 'tap'
import type * as tap from 'tap'
import { DeviceMapper } from '../../ts'
import { stopLoop } from '../lifecycle'
import { dm, dmsetup, name, ours, prefix, sweep, sweepKilledCookies } from './helpers'

t.teardown(() => {
  sweep()
  sweepKilledCookies()
})
t.setTimeout(15 * 60_000)

const TERMINATES = 20 // workers terminated one after the other, in one process
const EXITS = 8 // processes that exit with a busy worker (each boots Node in the guest, ~1 s)

/** dmsetup's view of our devices: name -> attributes ('L--w': live table, not suspended, writable). */
function fromDmsetup(): Map<string, string> {
  const out = dmsetup('info', '-c', '--noheadings', '--separator', '|', '-o', 'name,attr')
  const seen = new Map<string, string>()
  for (const line of out.split('\n')) {
    const [n, attr] = line.trim().split('|')
    if (n?.startsWith(prefix)) seen.set(n, attr)
  }
  return seen
}

/**
 * After a stop: a device the stopped thread created but had not yet removed may stay (its remove never ran),
 * but only whole: live table, not suspended, nobody holding it. Removes those, then checks from the other side
 * that nothing of ours is left.
 */
async function leftovers(t: Pick<typeof tap, 'match' | 'equal' | 'same'>, what: string): Promise<void> {
  const seen = fromDmsetup()
  for (const [n, attr] of seen) {
    // attr: L = live table, s = suspended, I = inactive table only; 'dmsetup info -c' prints "L--w" for a whole device
    t.match(attr, /^L-/, `${what}: ${n} was left whole (${attr}), not half-made or suspended`)
    const info = await dm.info(n)
    t.equal(info.openCount, 0, `${what}: ${n} is not held open`)
    await dm.remove(n)
  }
  t.same([...fromDmsetup().keys()], [], `${what}: no device with the test prefix is left (dmsetup)`)
  t.same(ours(), [], `${what}: none is left (list)`)
}

const cases: [scenario: string, what: string][] = [
  ['create-remove', 'async creates and removes'],
  ['create-remove-sync', 'sync creates and removes'],
  ['kernel-fail', 'ioctls the kernel fails (ENXIO), sync and on the thread pool'],
  ['watch', 'a watch while devices come and go'],
]

for (const [scenario, what] of cases) {
  t.test(`worker.terminate() during ${what}: ${TERMINATES} workers`, async (t) => {
    t.same(await stopLoop(scenario, 'terminate', TERMINATES, () => name(`${scenario}-t-`)), [], 'no run aborted or crashed')
    await leftovers(t, 'after terminate')
  })
  t.test(`process.exit() while a worker is busy with ${what}: ${EXITS} processes`, async (t) => {
    t.same(await stopLoop(scenario, 'exit', EXITS, (i) => name(`${scenario}-e${i}-`)), [], 'no run aborted or crashed')
    await leftovers(t, 'after exit')
  })
}

t.test('process.exit() with its own creates and removes in flight', async (t) => {
  t.same(await stopLoop('create-remove', 'main-exit', EXITS, (i) => name(`main-e${i}-`)), [], 'no run aborted or crashed')
  await leftovers(t, 'after exit')
})

const openFds = (): number => readdirSync('/proc/self/fd').length

t.test('close() with calls pending: every call settles with its result, a later call reopens', async (t) => {
  const own = new DeviceMapper()
  const names = [0, 1, 2, 3, 4, 5].map((i) => name(`close${i}`))
  const before = openFds()
  const creates = names.map((n) => own.create(n, [{ start: 0, length: 8, type: 'zero' }]))
  const listed = own.list()
  const version = own.targetVersion('zero')
  own.close()
  const made = await Promise.all(creates)
  t.same(made.map((d) => d.name), names, 'the creates in flight at close() completed')
  t.ok(Array.isArray(await listed), 'the list in flight at close() completed')
  t.equal((await version).length, 3, 'the target query in flight at close() completed')
  t.equal(openFds(), before, 'the control fd was closed once the calls in flight finished')
  for (const n of names) t.match(fromDmsetup().get(n), /^L-/, `${n} exists, live (dmsetup)`)
  await Promise.all(names.map((n) => own.remove(n)))
  own.close()
  t.same(ours(), [], 'removed by the reopened control fd')
  t.equal(openFds(), before, 'closed again')
})

t.test('many DeviceMapper instances: closed, or dropped and collected, leak no fd', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const before = openFds()
  for (let i = 0; i < 200; i++) {
    const own = new DeviceMapper()
    own.versionSync()
    await own.list()
    own.close()
  }
  t.equal(openFds(), before, '200 instances opened and closed: no fd left open')
  const n = name('many')
  await dm.create(n, [{ start: 0, length: 8, type: 'zero' }])
  const infos = await Promise.all(Array.from({ length: 200 }, () => new DeviceMapper().info(n)))
  t.ok(infos.every((i) => i.name === n), '200 instances, none closed, each answered')
  t.ok(openFds() >= before + 200, 'each holds its own control fd while alive')
  for (let round = 0; round < 20 && openFds() > before; round++) {
    gc()
    await new Promise((r) => setTimeout(r, 10))
  }
  t.equal(openFds(), before, 'dropped instances close their fds when collected')
  await dm.remove(n)
  t.same(ours(), [], 'nothing of ours is left')
})
