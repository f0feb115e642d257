// The volume manager on two block devices (loop devices stand in for disks): pool table as Docker wrote it,
// volumes with ext4 and xfs, mount/write/snapshot of an active volume/read back through snapshots of snapshots,
// resize, EBUSY and deferred removal, the pool's ids cross-checked with thin_dump, destroy leaving nothing.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { DmError, VolumeManager } from '../../ts'
import { dm, dmsetup, name, prefix, sweep } from './helpers'
import { MiB, freshRoot, poolDevices, poolIdsFromOutside, removeDevicesWithPrefix, rmRoot } from './volumes-helpers'

t.teardown(() => {
  removeDevicesWithPrefix(prefix)
  sweep()
})

t.test('a pool on two block devices: volumes, snapshots, mounts, resize, remove, destroy', async (t) => {
  const root = freshRoot('basic')
  const devs = poolDevices(256, 16)
  const poolName = name('basic-pool')
  const vm = await VolumeManager.open({ root, ...devs, poolName, defaultVolumeSize: '64M', blockSize: '64K' })
  t.teardown(() => rmRoot(root))

  // Docker's table: <meta> <data> <block> <low water mark> 1 skip_block_zeroing
  const table = dmsetup('table', poolName).trim().split(/\s+/)
  t.equal(table[2], 'thin-pool')
  t.equal(table[5], '128', 'block size 64K = 128 sectors')
  t.same(table.slice(7), ['1', 'skip_block_zeroing'])
  t.ok(existsSync(join(root, 'state.json')), 'state under root')
  t.equal(dm.infoSync(poolName).uuid.startsWith('DMVOL-'), true, 'the pool carries the root identity')

  const a = await vm.createVolume('a')
  t.match(a, { name: 'a', size: 64 * MiB, fs: 'ext4', active: false })
  t.ok(a.usedBytes > 0, `mkfs wrote ${a.usedBytes} bytes, remembered while inactive`)
  t.equal(typeof a.createdAt, 'string')
  await t.rejects(vm.createVolume('a'), { code: 'EEXIST' }, 'name clash')
  await t.rejects(vm.snapshot('nope', 'x'), { code: 'ENOENT' })
  await t.rejects(vm.createVolume('bad/name'), { code: 'EINVAL', field: 'name' })
  await t.rejects(vm.createVolume('odd', { size: 1000 }), { code: 'EINVAL', field: 'size' })

  const mnt = join(root, '..', 'mnt-a')
  mkdirSync(mnt)
  const mounted = await vm.mount('a', mnt)
  t.equal(mounted.active, true, 'mount activates')
  t.equal(mounted.mountpoint, mnt)
  t.match(execFileSync('blkid', ['-o', 'value', '-s', 'TYPE', mounted.path!], { encoding: 'utf8' }), /ext4/, 'blkid sees ext4')
  writeFileSync(join(mnt, 'hello.txt'), 'version 1')
  execFileSync('sync')

  // snapshot of an active, mounted volume: suspend, create_snap, resume
  const s1 = await vm.snapshot('a', 's1')
  t.match(s1, { name: 's1', parent: 'a', size: 64 * MiB, active: false })
  t.equal(dm.infoSync(`${name('basic')}-a`).suspended, false, 'the origin runs again')
  writeFileSync(join(mnt, 'hello.txt'), 'version 2')
  execFileSync('sync')
  const s2 = await vm.snapshot('s1', 's2') // snapshot of a snapshot (inactive)
  t.equal(s2.parent, 's1')

  const m1 = join(root, '..', 'mnt-s2')
  mkdirSync(m1)
  await vm.mount('s2', m1)
  t.equal(readFileSync(join(m1, 'hello.txt'), 'utf8'), 'version 1', 'the snapshot of the snapshot holds the data of the first snapshot instant')
  t.equal(readFileSync(join(mnt, 'hello.txt'), 'utf8'), 'version 2', 'the origin moved on')

  await t.rejects(vm.removeVolume('s2'), { code: 'EBUSY' }, 'removing a mounted volume')
  await t.rejects(vm.deactivate('s2'), { code: 'EBUSY' })
  await vm.unmount('s2')
  t.equal((await vm.volume('s2'))!.mountpoint, undefined)

  // resize grows the filesystem, online while mounted
  const grown = await vm.resize('a', '128M')
  t.equal(grown.size, 128 * MiB)
  t.equal(Number(dmsetup('table', `${name('basic')}-a`).split(/\s+/)[1]), 128 * 2048, 'table length follows')
  const df = execFileSync('df', ['-B1', '--output=size', mnt], { encoding: 'utf8' }).split('\n')[1].trim()
  t.ok(Number(df) > 100 * MiB, `ext4 grew to ${df} bytes`)
  await t.rejects(vm.resize('a', '64M'), { code: 'EINVAL', field: 'size' }, 'no shrinking')
  // resize of an inactive volume grows its filesystem too
  await vm.resize('s1', '96M')
  const m2 = join(root, '..', 'mnt-s1')
  mkdirSync(m2)
  await vm.mount('s1', m2)
  const df1 = execFileSync('df', ['-B1', '--output=size', m2], { encoding: 'utf8' }).split('\n')[1].trim()
  t.ok(Number(df1) > 80 * MiB, `inactive resize grew ext4 to ${df1}`)
  await vm.unmount('s1')

  const list = await vm.listVolumes()
  t.same(list.map((v) => v.name), ['a', 's1', 's2'])
  const st = await vm.status()
  t.match(st, { poolName, volumes: 3, mode: 'rw', lvm: false })
  t.ok(st.dataUsedBytes > 0 && st.dataTotalBytes === 256 * MiB, 'data usage in bytes')
  t.ok(st.metadataTotalBytes === 16 * MiB && st.metadataUsedBytes > 0)
  t.equal(Number(st.transactionId), 3, 'one transaction per committed create/snapshot')
  t.same(poolIdsFromOutside(poolName), list.map((v) => v.deviceId).sort((x, y) => x - y), 'thin_dump sees exactly our ids')
  const chk = await vm.check()
  t.match(chk, { ok: true, orphanDeviceIds: [], missingVolumes: [], strayDevices: [], poolScan: 'thin_dump' })

  // deferred removal of a mounted volume: the name goes now, the id after the last close
  await vm.removeVolume('a', { deferred: true })
  t.equal(await vm.volume('a'), undefined)
  t.same((await vm.status()).internalDeviceIds, [a.deviceId], 'the id waits as an internal device')
  execFileSync('umount', [mnt])
  await vm.listVolumes() // the next locked operation purges it
  t.same((await vm.status()).internalDeviceIds, [])
  t.same(poolIdsFromOutside(poolName), [s1.deviceId, s2.deviceId])

  await vm.removeVolume('s2')
  t.same(poolIdsFromOutside(poolName), [s1.deviceId])

  // xfs volumes; a snapshot mounts beside its origin (nouuid)
  const x = await vm.createVolume('x', { fs: 'xfs', size: '320M' })
  t.equal(x.fs, 'xfs')
  const mx = join(root, '..', 'mnt-x')
  const mxs = join(root, '..', 'mnt-xs')
  mkdirSync(mx)
  mkdirSync(mxs)
  await vm.mount('x', mx)
  writeFileSync(join(mx, 'f'), 'xfs data')
  execFileSync('sync')
  await vm.snapshot('x', 'xs')
  await vm.mount('xs', mxs)
  t.equal(readFileSync(join(mxs, 'f'), 'utf8'), 'xfs data', 'xfs snapshot mounted beside its origin')
  await vm.resize('x', '400M')
  t.ok(Number(execFileSync('df', ['-B1', '--output=size', mx], { encoding: 'utf8' }).split('\n')[1]) > 330 * MiB, 'xfs grew')

  const none = await vm.createVolume('raw', { fs: 'none', size: '8M' })
  await t.rejects(vm.mount('raw', mx), { code: 'EINVAL' })
  t.equal(none.fs, 'none')

  await vm.destroy()
  t.equal(dm.listSync().filter((d) => d.name.startsWith(name('basic'))).length, 0, 'destroy removed every device')
  t.notOk(existsSync(join(root, 'state.json')))
  t.notOk(existsSync(root), 'and the root it made')
  t.ok(DmError)
})

t.test('open refuses bad options before touching anything', async (t) => {
  const root = freshRoot('opts')
  t.teardown(() => rmRoot(root))
  const bad: [Record<string, unknown>, string][] = [
    [{ blockSize: '32K' }, 'blockSize'],
    [{ blockSize: 129 * 512 }, 'blockSize'],
    [{ minFreeSpace: '100%' }, 'minFreeSpace'],
    [{ fs: 'btrfs' }, 'fs'],
    [{ dataDevice: '/dev/null' }, 'metadataDevice'],
    [{ driverOptions: ['dm.nosuch=1'] }, 'driverOptions'],
    [{ driverOptions: ['dm.basesize=20G'], defaultVolumeSize: '10G' }, 'defaultVolumeSize'],
  ]
  for (const [opts, field] of bad) {
    await t.rejects(VolumeManager.open({ root, ...opts } as never), { code: 'EINVAL', field }, JSON.stringify(opts))
    t.notOk(existsSync(root), 'root left as it was')
  }
})
