// Child of watch-lifecycle.test.ts, run with --expose-gc so RSS is read after a full collection. Opens and closes
// watches (mode 'watch': ended by return() and by an aborted signal, alternately) or aborted waitEvent calls (mode
// 'wait') in rounds, 100 to an event-loop turn, as a program whose watches come and go with its work would. Prints
// one JSON line: memory (RSS, V8's heap) and open fds at the start, after `warmup` rounds and after `more` rounds, then checks that the
// poller still delivers: a rename of `device` (the kernel raises an event on rename) wakes a watch and a wait.
// Arguments: mode device warmup more.
import { readdirSync, readlinkSync } from 'node:fs'
import { DeviceMapper } from '../../ts'

const [mode, device, warmup, more] = process.argv.slice(2)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc')
const dm = new DeviceMapper()
dm.versionSync() // the instance's own control fd, used by the renames at the end, is open before fds are counted
const turn = (): Promise<void> => new Promise((r) => setImmediate(r))
const fds = (): number => readdirSync('/proc/self/fd').length
// what each open fd is (the directory fd readdir itself holds has gone by the time it is read)
const fdList = (): string[] =>
  readdirSync('/proc/self/fd').flatMap((f) => {
    try {
      return [`${f}:${readlinkSync(`/proc/self/fd/${f}`)}`]
    } catch {
      return []
    }
  })

/** Memory once everything collectable is collected and finalized (N-API finalizers run on a later loop turn). */
async function settled(): Promise<{ rss: number; heapTotal: number; heapUsed: number }> {
  for (let i = 0; i < 4; i++) {
    gc!()
    await turn()
  }
  const { rss, heapTotal, heapUsed } = process.memoryUsage()
  return { rss, heapTotal, heapUsed }
}

async function round(i: number): Promise<void> {
  if (mode === 'watch') {
    if (i % 2 === 0) {
      const w = dm.watch()
      const next = w.next()
      await w.return()
      if (!(await next).done) throw new Error('next() pending at return() did not end')
    } else {
      const ac = new AbortController()
      const w = dm.watch({ signal: ac.signal })
      const next = w.next()
      ac.abort()
      if (!(await next).done) throw new Error('next() pending at abort did not end')
    }
  } else {
    const ac = new AbortController()
    const wait = dm.waitEvent(device, { signal: ac.signal })
    ac.abort()
    const err = await wait.then(() => undefined, (e: Error) => e)
    if (err?.name !== 'AbortError') throw new Error(`waitEvent did not reject with the abort reason: ${err}`)
  }
}

async function rounds(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await round(i)
    if (i % 100 === 99) await turn()
  }
}

async function main(): Promise<void> {
  const fdsAtStart = fds()
  const listAtStart = fdList()
  const m0 = await settled()
  const t0 = Date.now()
  await rounds(Number(warmup))
  const m1 = await settled()
  const t1 = Date.now()
  await rounds(Number(more))
  const m2 = await settled()
  const t2 = Date.now()
  const fdsAtEnd = fds()

  // Still working after all those rounds: a rename raises an event that a watch and a wait both see.
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), 20_000)
  const watch = dm.watch({ signal: ac.signal })
  const woken = dm.waitEvent(device, { signal: ac.signal })
  const renamed = `${device}-r`
  await dm.rename(device, renamed)
  let seen = false
  for await (const ev of watch) if ((seen = ev.name === renamed)) break
  const info = await woken
  clearTimeout(timer)
  await dm.rename(renamed, device)
  process.stdout.write(`${JSON.stringify({
    memory: [m0, m1, m2],
    fds: [fdsAtStart, fdsAtEnd, fds()],
    seconds: [(t1 - t0) / 1000, (t2 - t1) / 1000],
    watchSawRename: seen,
    waitWokeAs: info.name,
    extra: fdList().filter((f) => !listAtStart.includes(f)),
  })}\n`)
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`)
  process.exit(1)
})
