// Lifecycle of watch() and waitEvent() against the real kernel (issue 10, "keep it that way"): open/close rounds
// leave RSS flat after the first 40,000 and no fd behind (each round used to make a native Control and Poller
// whose buffers and wrappers waited for the collector: RSS rose by tens of MiB, hundreds without event-loop
// turns); close() with a watch and a wait pending; many instances watching at once, then dropped and collected.
import { spawnSync } from 'node:child_process'
import { setMaxListeners } from 'node:events'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { t } from 'tap'
import { DeviceMapper, type DeviceEvent } from '../../ts'
import { dm, name, ours, sweep } from './helpers'

t.teardown(sweep)
t.setTimeout(5 * 60_000)

const MiB = 1024 * 1024
const CHILD = join(__dirname, 'watch-lifecycle-child.js')
// The numbers: flat after the first 40,000 rounds; 20,000 more show it (RSS settles by ~50,000 in the
// guest). 60,000 rounds take ~8 s in a quiet 1-CPU guest, up to a minute on a busy host.
const WARMUP = 40_000
const MORE = 20_000
// RSS moves with V8's own heap sizing (its young generation grows by a few MiB when it likes), so the bounds
// are on the parts: memory outside V8's heap (native buffers, wrappers, handles: where the old leak was) and
// V8's live heap; raw RSS gets the sum.
const FLAT_OUTSIDE = 2 * MiB
const FLAT_LIVE = 1 * MiB
const FLAT_RSS = 4 * MiB
const RISE_OUTSIDE = 6 * MiB // the warm-up's rise outside V8's heap: ~3 MiB; it was 12 (waits) to 22 MiB (watches)

const openFds = (): number => readdirSync('/proc/self/fd').length
const mib = (b: number): string => `${(b / MiB).toFixed(1)} MiB`

interface Memory {
  rss: number
  heapTotal: number
  heapUsed: number
}
interface ChildReport {
  memory: [Memory, Memory, Memory]
  fds: [number, number, number]
  seconds: [number, number]
  watchSawRename: boolean
  waitWokeAs: string
  /** fds open at the end that were not at the start, as `number:target` */
  extra: string[]
}

const outside = (m: Memory): number => m.rss - m.heapTotal

for (const [mode, what] of [['watch', 'watch() opened and ended (return() and abort, alternately)'], ['wait', 'waitEvent() aborted']]) {
  t.test(`${what}: RSS flat after ${WARMUP} rounds, fds back to the start`, async (t) => {
    const device = name(`rss-${mode}`)
    await dm.create(device, [{ start: 0, length: 8, type: 'zero' }])
    const run = spawnSync(process.execPath, ['--expose-gc', CHILD, mode, device, String(WARMUP), String(MORE)], {
      encoding: 'utf8',
      timeout: 240_000,
    })
    t.equal(run.status, 0, `the child finished ${run.stderr}`)
    const r = JSON.parse(run.stdout) as ChildReport
    const [m0, m1, m2] = r.memory
    const show = (m: Memory): string => `RSS ${mib(m.rss)} (outside V8's heap ${mib(outside(m))}, V8 live ${mib(m.heapUsed)})`
    t.comment(`${mode}: at start ${show(m0)}; after ${WARMUP} rounds (${r.seconds[0]} s) ${show(m1)}; after ${MORE} more (${r.seconds[1]} s) ${show(m2)}`)
    t.ok(outside(m2) - outside(m1) <= FLAT_OUTSIDE, `RSS outside V8's heap after ${MORE} more rounds within ${mib(FLAT_OUTSIDE)}: ${mib(outside(m1))} -> ${mib(outside(m2))}`)
    t.ok(m2.heapUsed - m1.heapUsed <= FLAT_LIVE, `V8's live heap within ${mib(FLAT_LIVE)}: ${mib(m1.heapUsed)} -> ${mib(m2.heapUsed)}`)
    t.ok(m2.rss - m1.rss <= FLAT_RSS, `RSS within ${mib(FLAT_RSS)}: ${mib(m1.rss)} -> ${mib(m2.rss)}`)
    t.ok(outside(m1) - outside(m0) <= RISE_OUTSIDE, `the first ${WARMUP} rounds raise RSS outside V8's heap by at most ${mib(RISE_OUTSIDE)}: ${mib(outside(m0))} -> ${mib(outside(m1))}`)
    t.equal(r.fds[1], r.fds[0], 'open fds after the rounds: as many as at the start')
    // (Node may open an fd of its own on the first thread-pool call, which the closing renames are)
    t.same(r.extra.filter((f) => f.endsWith('/dev/mapper/control')), [], 'no control fd left after the closing watch and wait')
    t.ok(r.watchSawRename, 'a watch opened after the rounds still sees an event (the rename)')
    t.equal(r.waitWokeAs, `${device}-r`, 'a wait after the rounds still wakes, with the renamed device')
    await dm.remove(device)
  })
}

/** The first event for `device` from `watch` (the caller's signal bounds the wait). */
async function eventFor(watch: AsyncIterable<DeviceEvent>, device: string): Promise<DeviceEvent | undefined> {
  for await (const ev of watch) if (ev.name === device) return ev
  return undefined
}

t.test('close() with a watch and a wait pending: both keep their own fd, see the next event, then release it', async (t) => {
  const device = name('close-pending')
  await dm.create(device, [{ start: 0, length: 8, type: 'zero' }])
  const own = new DeviceMapper()
  own.versionSync() // its own control fd is open
  const before = openFds()
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), 20_000)
  const watch = own.watch({ signal: ac.signal })
  const woken = own.waitEvent(device, { signal: ac.signal })
  t.equal(openFds(), before + 1, 'the watch and the wait share one fd of their own')
  own.close()
  t.equal(openFds(), before, 'close() closed the instance fd, not the watcher fd')
  const renamed = `${device}-r`
  await dm.rename(device, renamed)
  const ev = await eventFor(watch, renamed)
  t.ok(ev, 'the watch open at close() saw the rename')
  t.equal((await woken).name, renamed, 'the wait pending at close() woke, with the new name')
  clearTimeout(timer)
  t.equal(openFds(), before - 1, 'the watcher fd is closed once the watch ended and the wait settled')
  t.equal((await own.info(renamed)).name, renamed, 'a later call on the closed instance reopens its fd')
  own.close()
  await dm.remove(renamed)
})

t.test('many instances watching at once: one fd each, every one sees the event; dropped, all are collected', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const INSTANCES = 100
  const device = name('many')
  await dm.create(device, [{ start: 0, length: 8, type: 'zero' }])
  const before = openFds()
  const collected = new Set<number>()
  const registry = new FinalizationRegistry<number>((i) => collected.add(i))
  const ac = new AbortController()
  setMaxListeners(4 * INSTANCES, ac.signal) // every watch and wait listens for the abort, on purpose
  const timer = setTimeout(() => ac.abort(), 30_000)
  // In a function of its own, so no binding of this scope keeps the instances alive afterwards.
  const watchAll = async (): Promise<{ watched: number; woken: number; fdsWhile: number }> => {
    const all = Array.from({ length: INSTANCES }, (_, i) => {
      const own = new DeviceMapper()
      registry.register(own, i)
      // three watches and a wait on one instance: still one fd for them
      const watches = [own.watch({ signal: ac.signal }), own.watch({ signal: ac.signal }), own.watch({ signal: ac.signal })]
      return { watches, wait: own.waitEvent(device, { signal: ac.signal }) }
    })
    const fdsWhile = openFds()
    const renamed = `${device}-r`
    await dm.rename(device, renamed)
    const events = await Promise.all(all.flatMap((a) => a.watches.map((w) => eventFor(w, renamed))))
    const infos = await Promise.all(all.map((a) => a.wait))
    await dm.rename(renamed, device)
    return { watched: events.filter((e) => e !== undefined).length, woken: infos.filter((i) => i.name === renamed).length, fdsWhile }
  }
  const { watched, woken, fdsWhile } = await watchAll()
  clearTimeout(timer)
  t.equal(fdsWhile, before + INSTANCES, `${INSTANCES} instances with 3 watches and a wait each: one watcher fd per instance`)
  t.equal(watched, 3 * INSTANCES, 'every watch saw the rename')
  t.equal(woken, INSTANCES, 'every wait woke with the new name')
  t.equal(openFds(), before, 'ending the watches (break out of for-await) and settling the waits closed every watcher fd')
  for (let round = 0; round < 40 && collected.size < INSTANCES; round++) {
    gc()
    await new Promise((r) => setTimeout(r, 10))
  }
  t.equal(collected.size, INSTANCES, 'every dropped instance was collected: no native reference pins a watcher')
  t.equal(openFds(), before, 'and no fd came or went with them')
  await dm.remove(device)
  t.same(ours(), [], 'nothing of ours is left')
})
