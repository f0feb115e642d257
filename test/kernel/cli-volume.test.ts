// `devmapper volume ...` through node_modules/.bin/devmapper: a pool on two block devices given as Docker's
// dm.* strings (--opt), volumes created, listed, snapshotted, mounted, resized, checked and removed, each step
// checked from the other side (dmsetup, /proc/mounts, blockdev) and with --json.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { dmsetup, name, prefix, sh, sweep } from './helpers'
import { binDir, devmapper, removeBinDir } from './cli-helpers'
import { MiB, freshRoot, poolDevices, removeDevicesWithPrefix, rmRoot } from './volumes-helpers'

t.setTimeout(120_000)
const root = freshRoot('cli')
t.teardown(() => {
  removeDevicesWithPrefix(prefix)
  sweep()
  rmRoot(root)
  removeBinDir()
})

t.test('volume verbs with --root and --opt dm.key=value', async (t) => {
  const devs = poolDevices(256, 16)
  const pool = name('cli-pool')
  const opts = [
    '--root', root, '--opt', `dm.datadev=${devs.dataDevice}`, '--opt', `dm.metadatadev=${devs.metadataDevice}`,
    '--opt', `dm.thinpoolname=${pool}`, '--opt', 'dm.basesize=64M', '--opt', 'dm.fs=ext4',
  ]
  const vol = (...args: string[]): { stdout: string; stderr: string; status: number | null } => devmapper('volume', ...args, ...opts)
  const ok = (...args: string[]): string => {
    const r = vol(...args)
    t.equal(r.status, 0, `volume ${args.join(' ')} ${r.stderr}`)
    return r.stdout
  }

  const a = JSON.parse(ok('create', 'a', '--json')) as { name: string; size: number; fs: string; active: boolean }
  t.match(a, { name: 'a', size: 64 * MiB, fs: 'ext4', active: false })
  t.match(dmsetup('table', pool), /thin-pool .* 128 \d+ 1 skip_block_zeroing \n$/, "the pool as Docker's table")
  t.match(ok('ls'), /^NAME +ID +SIZE +FS +ACTIVE +PARENT +MOUNTPOINT\na +1 +67108864 +ext4 +no +- +-\n$/)
  t.match(ok('info', 'a'), /^name: a\ndeviceId: 1\n/)

  const path = ok('activate', 'a').trim()
  t.match(path, /^\/dev\/mapper\//)
  t.equal(sh('blockdev', ['--getsize64', path]).trim(), String(64 * MiB))
  const dir = join(binDir, 'mnt')
  sh('mkdir', ['-p', dir])
  ok('mount', 'a', dir)
  t.match(readFileSync('/proc/mounts', 'utf8'), ` ${dir} ext4 `)
  ok('snapshot', 'a', 'a-snap')
  ok('unmount', 'a')
  t.notMatch(readFileSync('/proc/mounts', 'utf8'), ` ${dir} `)
  const grown = JSON.parse(ok('resize', 'a', '128M', '--json')) as { size: number }
  t.equal(grown.size, 128 * MiB)
  ok('deactivate', 'a')
  t.notMatch(dmsetup('ls'), path.replace('/dev/mapper/', ''), 'deactivated: the device is gone')

  const status = JSON.parse(ok('status', '--json')) as { poolName: string; volumes: number }
  t.equal(status.poolName, pool)
  t.equal(status.volumes, 2)
  const check = JSON.parse(ok('check', '--json')) as { ok: boolean }
  t.equal(check.ok, true)

  const bad = vol('create', 'bad/name')
  t.equal(bad.status, 2, 'a name the manager rejects is bad usage')
  t.equal(devmapper('volume', 'ls').status, 2, '--root is required')
  const unknown = vol('ls', '--opt', 'dm.nosuchoption=1')
  t.equal(unknown.status, 2, 'an unknown dm.* option is refused')
  t.match(unknown.stderr, /nosuchoption/)

  ok('rm', 'a-snap')
  ok('rm', 'a')
  t.equal(ok('ls'), 'NAME  ID  SIZE  FS  ACTIVE  PARENT  MOUNTPOINT\n')
})
