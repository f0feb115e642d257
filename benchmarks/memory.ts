// The memory check (not a timed test): RSS after 1,000 info calls and after 100,000, in one process per API
// flavour. Run with --expose-gc so both readings are taken after a full collection: what remains is what the
// calls leaked, not garbage waiting for the collector.
// node --expose-gc build/benchmarks/memory.js <sync|async>
import { DeviceMapper } from '../ts'
import { fromEnv } from './fixtures'

const FIRST = 1_000
const TOTAL = 100_000

function rssAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc')
  gc()
  gc()
  return process.memoryUsage().rss
}

async function main(): Promise<void> {
  const mode = process.argv[2]
  const dm = new DeviceMapper()
  const { one } = fromEnv()
  const call = mode === 'sync' ? async () => void dm.infoSync(one) : async () => void (await dm.info(one))
  for (let i = 0; i < FIRST; i++) await call()
  const rssFirst = rssAfterGc()
  const t0 = process.hrtime.bigint()
  for (let i = FIRST; i < TOTAL; i++) await call()
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const rssTotal = rssAfterGc()
  console.log(JSON.stringify({ mode, calls: TOTAL, rssAfter1000: rssFirst, rssAfter100000: rssTotal, growthBytes: rssTotal - rssFirst, seconds }))
}

main().catch((err: Error) => {
  console.error(`memory ${process.argv[2]}: ${err.stack ?? err.message}`)
  process.exitCode = 1
})
