// The `devmapper` command's device verbs (create, load/reload, resume, suspend, clear, rename, --setuuid,
// message, wait, setgeometry, mknodes), each checked from the other side with dmsetup. Run through
// node_modules/.bin/devmapper (cli-helpers.ts).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { dm, dmsetup, loopDevice, name, prefix, sh, sweep } from './helpers'
import { binDir, binEnv as env, devmapper, removeBinDir, settle, ok } from './cli-helpers'

t.setTimeout(100_000)
t.teardown(() => {
  sweep()
  removeBinDir()
})

t.test('create (--table, file, stdin), -u, -r, --readahead; dmsetup sees them', async (t) => {
  const a = name('a')
  t.equal(ok(t, 'create', a, '--table', '0 2048 zero', '-u', `${prefix}uuid-a`, '--readahead', '512'), '', 'silent like dmsetup')
  t.match(dmsetup('table', a), /^0 2048 zero \n$/)
  t.match(dmsetup('info', a), new RegExp(`UUID: ${prefix}uuid-a\\n`))
  t.match(dmsetup('info', a), /Read Ahead:        512\n/)
  const b = name('b')
  const file = join(binDir, 'table')
  writeFileSync(file, '0 1024 zero\n1024 1024 error\n')
  ok(t, '-r', 'create', b, file) // option before the verb
  t.equal(dmsetup('table', b), '0 1024 zero \n1024 1024 error \n')
  t.match(dmsetup('info', b), /State:             ACTIVE \(READ-ONLY\)\n/)
  const c = name('c')
  const r = spawnSync('devmapper', ['create', c], { input: '0 512 zero\n', encoding: 'utf8', env })
  t.equal(r.status, 0, r.stderr)
  t.equal(dmsetup('table', c), '0 512 zero \n')
  const j = JSON.parse(ok(t, 'create', name('d'), '--table', '0 8 zero', '--json')) as Record<string, unknown>
  t.equal(j.name, name('d'))
  t.equal(typeof j.major, 'number', 'numbers as numbers')
  t.equal(j.targetCount, 1)
  t.equal(j.activeTable, true)
  t.equal(ok(t, 'create', '--help').split('\n')[0].startsWith('Usage: devmapper create NAME'), true)
})

t.test('load/reload, suspend --noflush, resume, clear; dmsetup agrees at each step', async (t) => {
  const n = name('lifecycle')
  ok(t, 'create', n, '--table', '0 1024 zero')
  ok(t, 'load', n, '--table', '0 2048 zero')
  t.match(dmsetup('info', n), /Tables present:    LIVE & INACTIVE\n/)
  ok(t, 'clear', n)
  t.match(dmsetup('info', n), /Tables present:    LIVE\n/)
  ok(t, 'reload', n, '--table', '0 4096 zero')
  ok(t, 'suspend', '--noflush', '--nolockfs', n)
  t.match(dmsetup('info', n), /State:             SUSPENDED\n/)
  ok(t, 'resume', n)
  t.match(dmsetup('info', n), /State:             ACTIVE\n/)
  t.equal(dmsetup('table', n), '0 4096 zero \n', 'the reloaded table is live after resume')
  const v = ok(t, 'resume', n, '-v')
  t.match(v, new RegExp(`^Name:              ${n}\\n`), '-v prints the info block')
})

t.test('rename, rename --setuuid, message, setgeometry, wait', async (t) => {
  const n = name('ren')
  const m = name('ren2')
  ok(t, 'create', n, '--table', '0 2048 zero')
  ok(t, 'rename', n, m)
  t.match(dmsetup('ls'), new RegExp(`^${m}\\t`, 'm'))
  ok(t, 'rename', m, '--setuuid', `${prefix}set-uuid`)
  t.match(dmsetup('info', m), new RegExp(`UUID: ${prefix}set-uuid\\n`))
  settle()
  ok(t, 'setgeometry', m, '16', '4', '32', '0')
  // message: a target that takes messages (flakey ignores unknown ones with EINVAL): the EINVAL comes back as 1
  const loop = loopDevice(4)
  const f = name('flakey')
  ok(t, 'create', f, '--table', `0 2048 flakey ${loop.path} 0 0 1`)
  const bad = devmapper('message', f, '0', 'no-such-message')
  t.equal(bad.status, 1)
  t.match(bad.stderr, /^devmapper: .*EINVAL/)
  // wait: with an event number below the counter it returns at once; with the counter it blocks until an event
  // a rename raises a device event (resumes with a new table do not): the counter is past 0 now
  const uuid = `${prefix}set-uuid`
  const ev = dm.infoSync(m).eventNr
  t.ok(ev > 0, 'rename raised an event')
  ok(t, 'wait', m, String(ev - 1)) // returns at once
  ok(t, 'wait', m) // dmsetup's default event number 0: returns at once too
  // addressed by uuid, since the name changes under it
  const waiter = spawn('devmapper', ['wait', '-u', uuid, String(ev), '--json'], { env })
  let out = ''
  waiter.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((r) => waiter.on('exit', r))
  await new Promise((r) => setTimeout(r, 3000)) // node takes ~2 s to start in the guest
  t.equal(waiter.exitCode, null, 'wait blocks while nothing happens')
  dmsetup('rename', m, n)
  t.equal(await exited, 0, 'wait returned after the event')
  const woke = JSON.parse(out) as { name: string; eventNr: number }
  t.equal(woke.name, n)
  t.ok(woke.eventNr > ev)
})

t.test('mknodes makes a missing node and removes a stale one', async (t) => {
  const n = name('nodes')
  ok(t, 'create', n, '--table', '0 512 zero')
  settle()
  rmSync(`/dev/mapper/${n}`, { force: true })
  ok(t, 'mknodes', n)
  t.ok(existsSync(`/dev/mapper/${n}`), 'node made again')
  const stale = name('stale-node')
  sh('mknod', [`/dev/mapper/${stale}`, 'b', '7', '250'])
  ok(t, 'mknodes')
  t.notOk(existsSync(`/dev/mapper/${stale}`), 'stale node removed')
  t.ok(existsSync(`/dev/mapper/${n}`))
})

