// Child process for the lifecycle tests (test/unit/lifecycle.test.ts, test/kernel/lifecycle.test.ts): starts a
// worker thread (or uses the main thread) that calls devmapper in a loop, then stops it the way a user would,
// while calls are in flight. Usage: node lifecycle-child.js SCENARIO STOP [--prefix P] [--cycles N]
//   STOP: 'terminate' (worker.terminate(), N workers one after the other, then exit normally), 'exit'
//   (process.exit(0) in the main thread while the worker is busy), 'main-exit' (no worker: the main thread's
//   own calls are in flight at process.exit(0)). PREFIX: device names for the kernel scenarios.
// Prints 'ready' once the loop has run and its calls failed or succeeded as the scenario expects, so a test
// can tell a stop during real work from a loop that broke early. The parent checks the exit status.
import { parseArgs } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'

type Scenario = (ready: () => void, prefix: string) => void

const ts = join(__dirname, '..', 'ts')

function lib(): typeof import('../ts') {
  return require(ts) as typeof import('../ts')
}

function expectCode(err: unknown, code: string): void {
  if ((err as { code?: string }).code !== code) {
    process.stderr.write(`lifecycle-child: expected ${code}, got ${String(err)}\n`)
    process.exit(3)
  }
}

/**
 * Runs `step` over and over, up to `parallel` at a time; `ready` after the first `readyAfter` have settled. Each
 * next step starts from a macrotask, so timers (the stop) still run when a step settles without leaving the
 * microtask queue.
 */
function spin(parallel: number, step: () => Promise<void>, ready: () => void, readyAfter = 20): void {
  let settled = 0
  const next = (): void => {
    step().then(() => {
      if (++settled === readyAfter) ready()
      setImmediate(next)
    })
  }
  for (let i = 0; i < parallel; i++) next()
}

// Kernel scenarios are ready sooner: with udev a create and remove costs ~0.3 s in the one-CPU guest.
const KERNEL_READY = 3

const scenarios: Record<string, Scenario> = {
  // Host: the control device cannot be opened, so each call throws from the native open.
  'sync-fail': (ready) => {
    const dm = new (lib().DeviceMapper)({ controlPath: '/nonexistent/dm-control' })
    for (let i = 0; ; i++) {
      try {
        dm.infoSync('missing')
      } catch (err) {
        expectCode(err, 'ENOENT')
      }
      if (i === 20) ready()
    }
  },
  'open-fail-async': (ready) => {
    const dm = new (lib().DeviceMapper)({ controlPath: '/nonexistent/dm-control' })
    spin(8, () => dm.info('missing').then(() => process.exit(4), (err) => expectCode(err, 'ENOENT')), ready)
  },
  // Host: /dev/null opens but refuses every ioctl, so the thread-pool calls fail in the worker's completion.
  'async-fail': (ready) => {
    const dm = new (lib().DeviceMapper)({ controlPath: '/dev/null', udev: 'none' })
    spin(8, () => dm.targetVersion('zero').then(() => process.exit(4), (err) => expectCode(err, 'ENOTTY')), ready)
  },
  // Host: udev cookie semaphores nobody completes, each wait timing out on the thread pool.
  'udev-wait': (ready) => {
    const { native } = require(join(ts, 'core', 'native')) as typeof import('../ts/core/native')
    spin(4, async () => {
      const made = native.udev.cookieCreate(0)
      if ('errno' in made) {
        process.stderr.write(`lifecycle-child: cookieCreate: errno ${made.errno}\n`)
        process.exit(3)
      }
      const err = await native.udev.cookieWait(made.semid, 2)
      if (err !== 11 /* EAGAIN: timed out */) process.exit(4)
    }, ready)
  },
  // Host: a poll handle on an always-readable FIFO, calling back on every loop turn.
  poll: (ready) => {
    const { native } = require(join(ts, 'core', 'native')) as typeof import('../ts/core/native')
    const fifo = join(mkdtempSync(join(tmpdir(), 'devmapper-poll-')), 'fifo')
    execFileSync('mkfifo', [fifo])
    const fd = openSync(fifo, 'r+')
    writeSync(fd, 'x')
    let calls = 0
    const poller = new native.Poller()
    poller.start(fd, (errno) => {
      if (errno !== 0) process.exit(4)
      if (++calls === 20) ready()
    })
    poller.ref()
  },
  // Kernel: create and remove devices, several at once, async.
  'create-remove': (ready, prefix) => {
    const dm = new (lib().DeviceMapper)()
    let n = 0
    spin(4, async () => {
      const name = `${prefix}${n++}`
      await dm.create(name, [{ start: 0, length: 8, type: 'zero' }])
      await dm.remove(name)
    }, ready, KERNEL_READY)
  },
  'create-remove-sync': (ready, prefix) => {
    const dm = new (lib().DeviceMapper)()
    for (let n = 1; ; n++) {
      const name = `${prefix}${n}`
      dm.createSync(name, [{ start: 0, length: 8, type: 'zero' }])
      dm.removeSync(name)
      if (n === KERNEL_READY) ready()
    }
  },
  // Kernel: real ioctl failures (ENXIO), sync and through the thread pool.
  'kernel-fail': (ready, prefix) => {
    const dm = new (lib().DeviceMapper)()
    spin(8, async () => {
      try {
        dm.infoSync(`${prefix}missing`)
      } catch (err) {
        expectCode(err, 'ENXIO')
      }
      await dm.load(`${prefix}missing`, [{ start: 0, length: 8, type: 'zero' }]).then(() => process.exit(4), (err) => expectCode(err, 'ENXIO'))
    }, ready, KERNEL_READY)
  },
  // Kernel: a watch (poll handle on the control fd) that sees devices come and go while it runs.
  watch: (ready, prefix) => {
    const { DeviceMapper } = lib()
    const dm = new DeviceMapper()
    const watch = dm.watch()
    void (async () => {
      for await (const _event of watch) void _event
    })()
    let n = 0
    spin(2, async () => {
      const name = `${prefix}${n++}`
      await dm.create(name, [{ start: 0, length: 8, type: 'zero' }])
      await dm.remove(name)
    }, ready, KERNEL_READY)
  },
}

if (isMainThread) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { prefix: { type: 'string', default: 'lifecycle-' }, cycles: { type: 'string', default: '1' } },
  })
  const [scenario, stop] = positionals
  const prefix = values.prefix!
  if (!(scenario in scenarios) || !['terminate', 'exit', 'main-exit'].includes(stop)) {
    process.stderr.write('usage: lifecycle-child SCENARIO terminate|exit|main-exit [--prefix P] [--cycles N]\n')
    process.exit(2)
  }
  // Stop a random few milliseconds after the loop is under way, so stops land at different points of a call.
  const stopSoon = (how: () => void): void => {
    process.stdout.write('ready\n')
    setTimeout(how, Math.floor(Math.random() * 15))
  }
  const cycle = (left: number, n: number): void => {
    // Each worker gets its own name prefix, so a device one of them left behind is told apart from the next's.
    const worker = new Worker(__filename, { workerData: { scenario, prefix: `${prefix}${n}-` } })
    worker.once('message', () =>
      stopSoon(() => {
        if (stop === 'exit') process.exit(0)
        void worker.terminate().then(() => {
          process.stdout.write('terminated\n')
          if (left > 1) cycle(left - 1, n + 1)
        })
      }),
    )
    worker.on('error', (err) => {
      process.stderr.write(`lifecycle-child: worker failed: ${String(err)}\n`)
      process.exit(5)
    })
  }
  if (stop === 'main-exit') scenarios[scenario](() => stopSoon(() => process.exit(0)), prefix)
  else cycle(stop === 'terminate' ? Number(values.cycles) : 1, 0)
} else {
  const { scenario, prefix } = workerData as { scenario: string; prefix: string }
  scenarios[scenario](() => parentPort!.postMessage('ready'), prefix)
}
