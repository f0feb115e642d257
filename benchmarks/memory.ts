// The memory check (not a timed test): RSS after the first calls and after all of them, in one process per API
// flavour: 1,000 and 100,000 info calls, or 1,000 and 20,000 statusAll calls (100 devices present). Run with
// --expose-gc so both readings are taken after a full collection: what remains is what the calls leaked, not
// garbage waiting for the collector.
// node --expose-gc build/benchmarks/memory.js <sync|async|statusAll-sync|statusAll-async>
import { DeviceMapper } from '../ts'
import { fromEnv } from './fixtures'

const FIRST = 1_000

// RSS, and how much of it is V8's heap: RSS growth with a flat heapUsed is the young generation being sized up
// (V8 keeps the larger semi-spaces), growth outside the heap is what native code or buffers kept.
function afterGc(): { rss: number; heapTotal: number; heapUsed: number } {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc')
  gc()
  gc()
  const { rss, heapTotal, heapUsed } = process.memoryUsage()
  return { rss, heapTotal, heapUsed }
}

async function main(): Promise<void> {
  const mode = process.argv[2]
  const dm = new DeviceMapper()
  const { one } = fromEnv()
  const calls: Record<string, [number, () => unknown]> = {
    sync: [100_000, async () => void dm.infoSync(one)],
    async: [100_000, async () => void (await dm.info(one))],
    'statusAll-sync': [20_000, async () => void dm.statusAllSync()],
    'statusAll-async': [20_000, async () => void (await dm.statusAll())],
  }
  const [total, call] = calls[mode]
  for (let i = 0; i < FIRST; i++) await call()
  const first = afterGc()
  const t0 = process.hrtime.bigint()
  for (let i = FIRST; i < total; i++) await call()
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const all = afterGc()
  const devices = dm.listSync().length
  console.log(
    JSON.stringify({
      mode, first: FIRST, calls: total, devices, rssAfterFirst: first.rss, rssAfterAll: all.rss, growthBytes: all.rss - first.rss,
      heapTotalGrowth: all.heapTotal - first.heapTotal, heapUsedGrowth: all.heapUsed - first.heapUsed,
      outsideHeapGrowth: all.rss - all.heapTotal - (first.rss - first.heapTotal), seconds,
    }),
  )
}

main().catch((err: Error) => {
  console.error(`memory ${process.argv[2]}: ${err.stack ?? err.message}`)
  process.exitCode = 1
})
