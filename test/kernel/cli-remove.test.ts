// The `devmapper` command's remove (busy, -f, --retry, --deferred) and remove_all, --json on the read verbs, and
// the verbs dmsetup lacks (pool status, watch), checked from the other side with dmsetup and the library.
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { t } from 'tap'
import { dm, dmsetup, loopDevice, name, prefix, sweep } from './helpers'
import { binEnv as env, devmapper, removeBinDir, settle, ok } from './cli-helpers'

t.setTimeout(100_000)
t.teardown(() => {
  sweep()
  removeBinDir()
})

t.test('remove: busy without flags, -f, --retry, --deferred', async (t) => {
  const n = name('busy')
  ok(t, 'create', n, '--table', '0 512 zero')
  settle()
  const info = dm.infoSync(n)
  const fd = openSync(`/dev/dm-${info.minor}`, 'r')
  const r = devmapper('remove', n)
  t.equal(r.status, 1, 'busy: fails')
  t.match(r.stderr, /EBUSY.*open count 1.*--deferred/)
  ok(t, 'remove', '--deferred', n)
  t.match(dmsetup('info', n), /\(DEFERRED REMOVE\)/)
  closeSync(fd)
  // deferred removal completes from a kernel workqueue after the last close
  for (let i = 0; i < 50 && dm.listSync().some((d) => d.name === n); i++) await new Promise((r) => setTimeout(r, 20))
  t.notOk(dm.listSync().some((d) => d.name === n), 'gone after last close')

  const held = name('held')
  ok(t, 'create', held, '--table', '0 512 zero')
  settle()
  const fd2 = openSync(`/dev/dm-${dm.infoSync(held).minor}`, 'r')
  // node takes ~2 s to start in the guest: close after it has started retrying (25 x 200 ms = 5 s of retries)
  const retry = spawn('devmapper', ['remove', '--retry', held], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  retry.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const retried = new Promise<number | null>((r) => retry.on('exit', r))
  await new Promise((r) => setTimeout(r, 3500))
  t.equal(retry.exitCode, null, 'still retrying while the device is open')
  closeSync(fd2)
  t.equal(await retried, 0, `--retry outlasts a holder that closes later ${err}`)
  t.notOk(dm.listSync().some((d) => d.name === held))

  const forced = name('forced')
  ok(t, 'create', forced, '--table', '0 512 zero')
  ok(t, 'remove', '-f', forced)
  t.notOk(dm.listSync().some((d) => d.name === forced))
  const j = JSON.parse(ok(t, 'create', name('rmjson'), '--table', '0 8 zero', '--json')) as { name: string }
  t.same(JSON.parse(ok(t, 'remove', j.name, '--json')), { device: j.name, deferred: false, removed: true })
})

t.test('--json on the read verbs: the library objects', async (t) => {
  const n = name('json')
  ok(t, 'create', n, '--table', '0 2048 zero', '-u', `${prefix}json`)
  const info = JSON.parse(ok(t, 'info', n, '--json')) as Record<string, unknown>
  t.same(info, { ...dm.infoSync(n), readAhead: info.readAhead })
  const table = JSON.parse(ok(t, '--json', 'table', n)) as { name: string; targets: unknown[] }
  t.same(table, { name: n, targets: [{ start: 0, length: 2048, type: 'zero', params: '' }] })
  const ls = JSON.parse(ok(t, 'ls', '--json')) as { name: string }[]
  t.ok(ls.some((d) => d.name === n))
  const v = JSON.parse(ok(t, 'version', '--json')) as { driver: { major: number } }
  t.equal(v.driver.major, 4)
  const targets = JSON.parse(ok(t, 'targets', '--json')) as { name: string; version: number[] }[]
  t.ok(targets.some((x) => x.name === 'zero'))
  const deps = JSON.parse(ok(t, 'deps', n, '--json')) as { deps: unknown[] }
  t.same(deps.deps, [])
  const cols = JSON.parse(ok(t, 'info', '-c', '-o', 'name,devnos_used', '--json', n)) as Record<string, unknown>[]
  t.equal(cols[0].name, n)
})

t.test('pool status and watch', async (t) => {
  const meta = loopDevice(8)
  const data = loopDevice(64)
  const pool = name('pool')
  ok(t, 'create', pool, '--table', `0 ${data.sectors} thin-pool ${meta.path} ${data.path} 128 0`)
  const st = JSON.parse(ok(t, 'pool', 'status', pool, '--json')) as Record<string, unknown>
  t.equal(st.transactionId, 0)
  t.equal(st.type, 'thin-pool')
  const text = ok(t, 'pool', 'status', pool)
  t.match(text, /^state: active\ntransactionId: 0\n/)
  t.notMatch(text, 'params:')
  t.equal(devmapper('pool', 'status', name('zz')).status, 1)

  const watcher = spawn('devmapper', ['watch'], { env })
  let out = ''
  watcher.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((r) => watcher.on('exit', r))
  await new Promise((r) => setTimeout(r, 3000)) // node starts in ~2 s in the guest
  ok(t, 'message', pool, '0', 'create_thin', '0')
  const thin = name('thin')
  ok(t, 'create', thin, '--table', `0 2048 thin /dev/mapper/${pool} 0`)
  // a rename raises a device event (a table swap does not)
  const renamed = name('thin-renamed')
  ok(t, 'rename', thin, renamed)
  for (let i = 0; i < 100 && !out.includes(renamed); i++) await new Promise((r) => setTimeout(r, 50))
  watcher.kill('SIGINT')
  t.equal(await exited, 0, 'watch ends cleanly on SIGINT')
  const events = out.trim().split('\n').map((l) => JSON.parse(l) as { name: string; eventNr: number })
  t.ok(events.some((e) => e.name === renamed && e.eventNr > 0), 'one JSON line per event, for the renamed device')
})

t.test("remove_all (the sandbox guest has no devices but this file's)", async (t) => {
  sweep()
  ok(t, 'create', name('ra1'), '--table', '0 8 zero')
  ok(t, 'create', name('ra2'), '--table', '0 8 zero')
  ok(t, 'remove_all')
  t.equal(dmsetup('ls'), 'No devices found\n')
  t.equal(ok(t, 'ls'), 'No devices found\n', 'and devmapper says the same')
})
