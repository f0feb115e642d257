// Stopping a thread that uses devmapper must never take the process down (issue 10, critical 1): worker
// terminate and process.exit while sync calls, thread-pool calls, failing calls, udev cookie waits and poll
// callbacks are in flight: 20 terminated workers, 20 processes exiting with a busy worker, 5 exiting with their
// own calls in flight. No kernel needed: the failing calls fail at the
// open of a missing control device or at the ioctl on /dev/null (ENOTTY).
import { execFileSync } from 'node:child_process'
import { t } from 'tap'
import { stopLoop } from '../lifecycle'

/** semids of libdm-layout cookie semaphores (keys 0x0d4dXXXX), as `ipcs -s` lists them. */
function cookieSemids(): string[] {
  return execFileSync('ipcs', ['-s'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /^0x0d4d/i.test(l))
    .map((l) => l.trim().split(/\s+/)[1])
}

// The udev-wait scenario kills processes that wait on cookies nobody completes: their semaphores outlive them
// (as libdm's do; `dmsetup udevcomplete_all` exists for that). Remove the ones this file's children made.
const before = new Set(cookieSemids())
t.teardown(() => {
  for (const id of cookieSemids()) if (!before.has(id)) execFileSync('ipcrm', ['-s', id])
})

const TIMES = 20
const cases: [scenario: string, stops: string[], what: string][] = [
  ['sync-fail', ['terminate', 'exit'], 'sync calls whose open fails'],
  ['open-fail-async', ['terminate', 'exit', 'main-exit'], 'promise calls whose open fails'],
  ['async-fail', ['terminate', 'exit', 'main-exit'], 'thread-pool calls that fail in the kernel'],
  ['udev-wait', ['terminate', 'exit', 'main-exit'], 'udev cookie waits on the thread pool'],
  ['poll', ['terminate', 'exit', 'main-exit'], 'poll callbacks'],
]

t.setTimeout(10 * 60_000)

for (const [scenario, stops, what] of cases) {
  for (const stop of stops) {
    const how = { terminate: 'worker.terminate()', exit: 'process.exit() while a worker is busy', 'main-exit': 'process.exit() with its own calls in flight' }[stop]
    const times = stop === 'main-exit' ? 5 : TIMES
    t.test(`${how} during ${what}: ${times} clean stops`, async (t) => {
      t.same(await stopLoop(scenario, stop, times), [], 'no run aborted, crashed or failed to start')
    })
  }
}
