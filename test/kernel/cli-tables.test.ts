// `devmapper table`, `status`, `deps` and `targets` against `dmsetup`, byte for byte, on the mixed device set of
// cli-fixture.ts: crypt keys masked (as zeros) and shown, --target, --inactive, --concise, -j/-m, -o devname;
// and the error contract (one line, exit 1 or 2, JSON on stderr).
import { t } from 'tap'
import { dm, name, sweep } from './helpers'
import { devmapper, removeBinDir, same } from './cli-helpers'
import { KEY, makeFixture, releaseFixture } from './cli-fixture'

t.setTimeout(100_000)
const f = makeFixture()
t.teardown(() => {
  releaseFixture(f)
  sweep()
  removeBinDir()
})

t.test('table, status, deps, targets', async (t) => {
  const lin = dm.infoSync(f.lin)
  for (const args of [
    ['table'], ['table', '--showkeys', f.crypt], ['table', '--target', 'crypt'], ['table', f.top, f.empty, f.crypt2],
    ['table', '--inactive', f.inactive], ['table', '--concise', f.crypt, f.lin, f.empty, f.pool],
    ['table', f.pool], ['status', f.pool, f.thin], ['ls', '--target', 'thin-pool'],
    ['table', '-j', String(lin.major), '-m', String(lin.minor)],
    ['status'], ['status', '--target', 'linear'], ['status', f.top, f.susp],
    ['deps'], ['deps', '-o', 'devname', f.top, f.upper], ['deps', '-o', 'blkdevname', f.top],
    ['targets'],
  ]) {
    same(t, args)
  }
  // the key is really masked, and really shown
  const masked = same(t, ['table', f.crypt])
  t.notMatch(masked, KEY)
  t.match(masked, ` ${'0'.repeat(64)} `)
  t.match(same(t, ['--showkeys', 'table', f.crypt], '--showkeys table (option before the verb)'), KEY)
  t.notMatch(devmapper('table', '--json', f.crypt).stdout, KEY, '--json hides the key too')
  t.match(devmapper('table', '--json', '--showkeys', f.crypt).stdout, KEY)
})

t.test('errors: the message, the exit status, and JSON on stderr', async (t) => {
  const missing = name('does-not-exist')
  const r = devmapper('info', missing)
  t.equal(r.status, 1, 'a failed operation exits 1')
  t.equal(r.stdout, '')
  t.match(r.stderr, new RegExp(`^devmapper: .*${missing}.*ENXIO.*devmapper ls`))
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  const j = devmapper('--json', 'table', missing)
  t.equal(j.status, 1)
  const e = JSON.parse(j.stderr) as { error: Record<string, string> }
  t.same(Object.keys(e.error).sort(), ['code', 'device', 'field', 'message', 'operation'])
  t.equal(e.error.code, 'ENXIO')
  t.equal(e.error.device, missing)
  const bad = devmapper('create', name('bad'), '--table', '0 x zero')
  t.equal(bad.status, 2, 'a table the library rejects before any ioctl is bad usage')
  t.match(bad.stderr, /table line 1 length/)
  t.equal(dm.listSync().filter((d) => d.name === name('bad')).length, 0, 'nothing left behind')
})
