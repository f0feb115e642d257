// Device events from DM_DEV_ARM_POLL + a libuv poll handle: a thin pool crossing its low water mark and a pool
// running out of data space show up in dm.watch() and wake waitEvent; the watch ends on abort, holds no fd
// afterwards, never keeps a process alive on its own, and waitEvent does not pin thread-pool workers.
import { spawnSync } from 'node:child_process'
import { readdirSync, truncateSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { t } from 'tap'
import { loop, type DeviceEvent, type ThinPool } from '../../ts'
import { devPath, dm, loopDevice, name, sweep, writeDevice } from './helpers'

t.teardown(sweep)

const BLOCK = 128
const MiB = 1024 * 1024

async function activeStatus(p: ThinPool) {
  const st = await p.status()
  if (st.state !== 'active') throw new Error(`pool ${p.name}: ${st.params}`)
  return st
}

/** The first event for `device` from the watch, or undefined if none comes within `ms`. */
async function firstEventFor(watch: AsyncIterable<DeviceEvent>, device: string): Promise<DeviceEvent | undefined> {
  for await (const ev of watch) if (ev.name === device) return ev
  return undefined
}

t.test('a pool crossing its low water mark raises a watch event and wakes waitEvent; growing the pool answers it', async (t) => {
  const meta = loopDevice(8)
  const data = loopDevice(16) // 256 blocks of 64 KiB
  const pool = name('lwmpool')
  const lowWater = 240 // blocks: the event fires once free space drops to this
  const pi = await dm.create(pool, `0 ${data.sectors} thin-pool ${meta.path} ${data.path} ${BLOCK} ${lowWater}`)
  const p = dm.thinPool(pool)
  await p.createThin(0)
  const thin = name('lwmthin')
  await dm.create(thin, `0 ${64 * 2048} thin ${pi.major}:${pi.minor} 0`)

  const fds = (): number => readdirSync('/proc/self/fd').length
  const baseline = fds()
  const ac = new AbortController()
  const deadline = setTimeout(() => ac.abort(), 30_000)
  const watch = dm.watch({ signal: ac.signal })
  const woken = dm.waitEvent(pool)
  t.equal(fds(), baseline + 1, 'the watch and the wait share one control fd of their own')
  const before = (await dm.info(pool)).eventNr
  // 1 MiB stays above the mark (no event yet), 2 MiB more crosses it.
  writeDevice(devPath(thin), 0, Buffer.alloc(1 * MiB, 1))
  t.equal((await dm.info(pool)).eventNr, before, 'no event above the low water mark')
  writeDevice(devPath(thin), 1 * MiB, Buffer.alloc(2 * MiB, 2))
  const ev = await firstEventFor(watch, pool)
  clearTimeout(deadline)
  t.ok(ev, 'the watch yielded an event for the pool')
  t.equal(ev!.previousEventNr, before)
  t.ok(ev!.eventNr > before, `event counter ${before} -> ${ev!.eventNr}`)
  t.match(ev, { major: pi.major, minor: pi.minor })
  const info = await woken
  t.equal(info.eventNr, ev!.eventNr, 'waitEvent woke with the same counter')
  t.equal(fds(), baseline, 'leaving for-await (return()) and the settled wait closed the fd')

  // Reacting: read the status, see free space at or below the mark, grow the data device and the pool.
  const st = await activeStatus(p)
  const free = st.totalDataBlocks - st.usedDataBlocks
  t.ok(free <= lowWater, `free blocks ${free} <= low water mark ${lowWater}`)
  truncateSync(data.file, 64 * MiB)
  loop.resizeSync(data.path)
  await p.growData(64 * 2048)
  const grown = await activeStatus(p)
  t.equal(grown.totalDataBlocks, 1024)
  t.ok(grown.totalDataBlocks - grown.usedDataBlocks > lowWater, 'free space is above the mark again')
  await dm.remove(thin)
  await dm.remove(pool)
})

t.test('a pool running out of data space raises an event; the pool leaves out_of_data_space once grown', async (t) => {
  const meta = loopDevice(8)
  const data = loopDevice(4) // 64 blocks
  const pool = name('fullpool')
  const pi = await dm.create(pool, `0 ${data.sectors} thin-pool ${meta.path} ${data.path} ${BLOCK} 0 1 error_if_no_space`)
  const p = dm.thinPool(pool)
  await p.createThin(0)
  const thin = name('fullthin')
  await dm.create(thin, `0 ${16 * 2048} thin ${pi.major}:${pi.minor} 0`)

  const ac = new AbortController()
  const deadline = setTimeout(() => ac.abort(), 30_000)
  const watch = dm.watch({ signal: ac.signal })
  // error_if_no_space: the write fails instead of queueing until the pool grows.
  t.throws(() => writeDevice(devPath(thin), 0, Buffer.alloc(6 * MiB, 3)), 'writing past the pool size fails')
  const ev = await firstEventFor(watch, pool)
  clearTimeout(deadline)
  t.ok(ev && ev.eventNr > ev.previousEventNr, 'the watch yielded an event for the pool')
  const st = await activeStatus(p)
  t.equal(st.mode, 'out_of_data_space')
  t.equal(st.usedDataBlocks, st.totalDataBlocks)
  t.equal(st.noSpacePolicy, 'error')

  truncateSync(data.file, 16 * MiB)
  loop.resizeSync(data.path)
  await p.growData(16 * 2048)
  t.equal((await activeStatus(p)).mode, 'rw', 'back to rw after growing')
  writeDevice(devPath(thin), 0, Buffer.alloc(6 * MiB, 3))
  t.pass('the write that failed now succeeds')
  await dm.remove(thin)
  await dm.remove(pool)
})

t.test('watch ends when its signal aborts and closes its control fd', async (t) => {
  const fds = (): number => readdirSync('/proc/self/fd').length
  const baseline = fds()
  const ac = new AbortController()
  const watch = dm.watch({ signal: ac.signal })
  t.equal(fds(), baseline + 1, 'the watch holds one control fd of its own')
  const seen: DeviceEvent[] = []
  const loop = (async () => {
    for await (const ev of watch) seen.push(ev)
    return 'ended'
  })()
  setTimeout(() => ac.abort(), 100)
  t.equal(await loop, 'ended', 'for-await finished')
  t.equal(fds(), baseline, 'and the fd is closed')
  t.same(await watch.next(), { value: undefined, done: true }, 'next() after the end is done')

})

t.test('a watch alone does not keep a process alive; keepAlive does until aborted', async (t) => {
  const lib = JSON.stringify(require.resolve('../../ts'))
  const plain = spawnSync(process.execPath, ['-e', `
    const { DeviceMapper } = require(${lib})
    const watch = new DeviceMapper().watch()
    ;(async () => { for await (const ev of watch) console.log('event', ev.name); console.log('ended') })()
    console.log('watching')
  `], { encoding: 'utf8', timeout: 20_000 })
  t.equal(plain.signal, null, 'not killed by the timeout')
  t.equal(plain.status, 0, `exited by itself ${plain.stderr}`)
  t.equal(plain.stdout.trim(), 'watching')

  const held = spawnSync(process.execPath, ['-e', `
    const { DeviceMapper } = require(${lib})
    const ac = new AbortController()
    const start = Date.now()
    const watch = new DeviceMapper().watch({ signal: ac.signal, keepAlive: true })
    ;(async () => { for await (const ev of watch) {} console.log('ended after', Date.now() - start) })()
    setTimeout(() => ac.abort(), 1000).unref() // an unref'd timer: only the watch can keep the process here
  `], { encoding: 'utf8', timeout: 20_000 })
  t.equal(held.status, 0, held.stderr)
  const ms = Number(/ended after (\d+)/.exec(held.stdout)?.[1])
  t.ok(ms >= 1000, `keepAlive held the process until the abort (${ms} ms), then let it exit`)
})

t.test('waitEvent: cancellable, pins no thread-pool worker, ENXIO when the device goes away', async (t) => {
  const n = name('idle')
  await dm.create(n, '0 8 zero')
  const ac = new AbortController()
  // More waits than the thread pool has workers (4 by default): with DEV_WAIT on workers, nothing else could run.
  const waits = Array.from({ length: 8 }, () => dm.waitEvent(n, { signal: ac.signal }))
  const version = await Promise.race([dm.version(), sleep(5000).then(() => 'timed out')])
  t.type(version, 'object', 'an async ioctl still runs while 8 waits are pending')
  t.same(await Promise.race([dm.info(n).then((i) => i.name), sleep(5000).then(() => 'timed out')]), n)
  ac.abort()
  for (const w of waits) await t.rejects(w, { name: 'AbortError' }, 'aborted wait rejects with the signal reason')

  const reason = new Error('my reason')
  const ac2 = new AbortController()
  const w = dm.waitEvent(n, { signal: ac2.signal })
  ac2.abort(reason)
  await t.rejects(w, reason, 'rejects with the exact reason given')

  const info = await dm.info(n)
  t.same((await dm.waitEvent(n, info.eventNr + 1)).name, n, 'an eventNr that differs returns at once')
  t.same((await dm.waitEvent(n, { eventNr: info.eventNr + 1 })).name, n, 'also in the options form')

  // The removal wakes the poll (a global event); the assertion is attached before, as it may settle first.
  const gone = t.rejects(dm.waitEvent(n), { code: 'ENXIO', operation: 'waitEvent', device: n }, 'removal ends the wait with ENXIO')
  await dm.remove(n)
  await gone
})
