// `devmapper loop ...` through node_modules/.bin/devmapper, checked against losetup: attach prints the device,
// ls prints what `losetup --list` prints, find what `losetup -j` prints, resize picks up a grown file, detach
// frees the device.
import { statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { sh, sweep } from './helpers'
import { binDir, devmapper, removeBinDir, run } from './cli-helpers'

t.setTimeout(100_000)
const attached: string[] = []
t.teardown(() => {
  for (const dev of attached) {
    try {
      sh('losetup', ['-d', dev])
    } catch {
      // detached by the test
    }
  }
  sweep()
  removeBinDir()
})

t.test('loop attach, ls, find, resize, info, detach', async (t) => {
  const file = join(binDir, 'loop.img')
  writeFileSync(file, '')
  truncateSync(file, 4 << 20)
  const a = devmapper('loop', 'attach', file)
  t.equal(a.status, 0, a.stderr)
  const dev = a.stdout.trim()
  attached.push(dev)
  t.match(dev, /^\/dev\/loop\d+$/)
  const b = devmapper('loop', 'attach', '-r', '--offset', '4096', '--sizelimit', '1048576', file, '--json')
  t.equal(b.status, 0, b.stderr)
  const info = JSON.parse(b.stdout) as { path: string; readOnly: boolean; offset: number; sizeLimit: number }
  attached.push(info.path)
  t.same([info.readOnly, info.offset, info.sizeLimit], [true, 4096, 1048576])
  t.equal(sh('blockdev', ['--getsize64', info.path]).trim(), '1048576', 'the kernel applied the size limit')

  const ls = devmapper('loop', 'ls')
  t.equal(ls.status, 0, ls.stderr)
  t.equal(ls.stdout, run('losetup', ['--list']).stdout, 'loop ls prints what losetup --list prints')
  const find = devmapper('loop', 'find', file)
  t.equal(find.stdout, run('losetup', ['-j', file]).stdout, 'loop find prints what losetup -j prints')

  truncateSync(file, 8 << 20)
  const r = devmapper('loop', 'resize', dev, '--json')
  t.equal(r.status, 0, r.stderr)
  t.equal((JSON.parse(r.stdout) as { sizeBytes: number }).sizeBytes, statSync(file).size)
  t.equal(sh('blockdev', ['--getsize64', dev]).trim(), String(8 << 20), 'the kernel sees the new size')

  t.equal(devmapper('loop', 'detach', dev, info.path).status, 0)
  t.notMatch(run('losetup', ['-a']).stdout, file, 'both detached')
  const gone = devmapper('loop', 'info', dev)
  t.equal(gone.status, 1, 'info on a free loop device fails')
  t.equal(devmapper('loop', 'frob').status, 2)
})
