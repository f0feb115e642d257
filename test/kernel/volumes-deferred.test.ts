// deferredDeletion and deferredRemoval (dm.use_deferred_deletion / _removal): a thin id another device maps
// (the pool answers `delete` with EBUSY) and an open volume. Without the option removeVolume fails with EBUSY
// naming the volume and the holder, and the state, the pool (dmsetup status, thin_dump) and the device stay as
// they were; with it the delete is queued and done once the holder is gone.
import { closeSync, openSync } from 'node:fs'
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { dm, dmsetup, name, prefix, sweep } from './helpers'
import { devmapper, removeBinDir } from './cli-helpers'
import { freshRoot, poolDevices, poolIdsFromOutside, readPattern, removeDevicesWithPrefix, rmRoot, writePattern } from './volumes-helpers'

t.teardown(() => {
  removeDevicesWithPrefix(prefix)
  sweep()
  removeBinDir()
})

function poolTxid(pool: string): string {
  return dmsetup('status', pool).trim().split(/\s+/)[3]
}

/** A device outside the manager mapping thin id `id` of `pool` (what a leaked mapping in another tool looks like). */
function holder(label: string, pool: string, id: number): string {
  const { major, minor } = dm.infoSync(pool)
  dmsetup('create', name(label), '--table', `0 8192 thin ${major}:${minor} ${id}`)
  return name(label)
}

t.test('deferredDeletion off: a busy thin id fails removeVolume with EBUSY and changes nothing', async (t) => {
  const root = freshRoot('defdel')
  t.teardown(() => rmRoot(root))
  const poolName = name('dd-pool')
  const vm = await VolumeManager.open({ root, ...poolDevices(64, 8), poolName, defaultVolumeSize: '8M', fs: 'none' })
  const a = await vm.createVolume('a')
  writePattern((await vm.activate('a')).path!, 0x5a)
  const held = holder('dd-holder', poolName, a.deviceId)
  const txBefore = poolTxid(poolName)
  const statusBefore = await vm.status()

  const err = await vm.removeVolume('a').then(() => undefined, (e: unknown) => e as Error & { code: string; operation: string; device: string })
  t.match(err, { code: 'EBUSY', operation: 'removeVolume', device: 'a' }, 'a typed EBUSY')
  t.match(err?.message, new RegExp(`volume 'a'.*${held}.*deferredDeletion`), 'naming the volume, the holder and the option')
  // nothing changed: state, pool, device
  const v = await vm.volume('a')
  t.match(v, { name: 'a', deviceId: a.deviceId, active: true }, 'the volume is still there and active')
  t.same((await vm.status()).internalDeviceIds, [], 'no delete queued')
  t.equal(poolTxid(poolName), txBefore, 'dmsetup status: the transaction id did not move')
  t.equal(String((await vm.status()).transactionId), String(statusBefore.transactionId))
  t.same(poolIdsFromOutside(poolName), [a.deviceId], 'thin_dump: the id is still in the pool')
  t.ok(readPattern(v!.path!, 0x5a), 'with its data')
  t.notMatch(dmsetup('info', `${name('dd')}-a`), /DEFERRED REMOVE/, 'the device is not scheduled for removal')

  // inactive volume, same answer
  await vm.deactivate('a')
  await t.rejects(vm.removeVolume('a'), { code: 'EBUSY', message: new RegExp(held) })
  t.equal((await vm.volume('a'))?.active, false, 'left inactive as it was')
  t.same(poolIdsFromOutside(poolName), [a.deviceId])

  // once the holder is gone the same call works
  dmsetup('remove', held)
  await vm.removeVolume('a')
  t.equal(await vm.volume('a'), undefined)
  t.same(poolIdsFromOutside(poolName), [], 'the id is deleted')
  t.equal(BigInt(poolTxid(poolName)), BigInt(txBefore) + 1n, 'and committed')

  // the per-call option queues it instead
  const b = await vm.createVolume('b')
  const held2 = holder('dd-holder2', poolName, b.deviceId)
  await vm.removeVolume('b', { deferredDeletion: true })
  t.equal(await vm.volume('b'), undefined, 'the name goes at once')
  t.same((await vm.status()).internalDeviceIds, [b.deviceId], 'the id waits')
  t.same(poolIdsFromOutside(poolName), [b.deviceId])
  dmsetup('remove', held2)
  await vm.listVolumes()
  t.same((await vm.status()).internalDeviceIds, [], 'deleted at the next call after the holder left')
  t.same(poolIdsFromOutside(poolName), [])
  await t.rejects(vm.removeVolume('zz', { deferredDeletion: 'yes' as unknown as boolean }), { code: 'EINVAL', field: 'deferredDeletion' })

  // the CLI: `volume rm` fails the same way; --deferred-deletion queues it
  const c = await vm.createVolume('c')
  const held3 = holder('dd-holder3', poolName, c.deviceId)
  const r1 = devmapper('volume', 'rm', 'c', '--root', root)
  t.equal(r1.status, 1, 'volume rm: exit 1')
  t.match(r1.stderr, new RegExp(`volume 'c'.*${held3}`), 'naming the volume and the holder')
  t.ok(await vm.volume('c'), 'still there')
  const r2 = devmapper('volume', 'rm', 'c', '--deferred-deletion', '--root', root)
  t.equal(r2.status, 0, r2.stderr)
  t.same((await vm.status()).internalDeviceIds, [c.deviceId], 'queued')
  dmsetup('remove', held3)
  await vm.destroy()
})

t.test('deferredDeletion on (the manager option): the busy id is queued, deleted when free', async (t) => {
  const root = freshRoot('defdel2')
  t.teardown(() => rmRoot(root))
  const poolName = name('de-pool')
  const opts = { root, ...poolDevices(64, 8), poolName, defaultVolumeSize: '8M', fs: 'none' as const, driverOptions: ['dm.use_deferred_deletion=true'] }
  const vm = await VolumeManager.open(opts)
  const a = await vm.createVolume('a')
  const held = holder('de-holder', poolName, a.deviceId)
  await vm.removeVolume('a')
  t.equal(await vm.volume('a'), undefined)
  t.same((await vm.status()).internalDeviceIds, [a.deviceId])
  await vm.close()
  dmsetup('remove', held)
  const vm2 = await VolumeManager.open(opts)
  t.same((await vm2.status()).internalDeviceIds, [], 'reopen deleted it')
  t.same(poolIdsFromOutside(poolName), [])
  await vm2.destroy()
})

t.test('deferredRemoval: an open volume', async (t) => {
  const root = freshRoot('defrem')
  t.teardown(() => rmRoot(root))
  const poolName = name('dr-pool')
  const devs = poolDevices(64, 8)
  const base = { root, ...devs, poolName, defaultVolumeSize: '8M', fs: 'none' as const }
  let vm = await VolumeManager.open(base)
  const a = await vm.createVolume('a')
  const path = (await vm.activate('a')).path!
  const fd = openSync(path, 'r')
  t.teardown(() => {
    try {
      closeSync(fd)
    } catch {
      // closed
    }
  })
  const dev = `${name('dr')}-a`
  const tx = poolTxid(poolName)
  await t.rejects(vm.removeVolume('a'), { code: 'EBUSY', device: 'a', message: /open \(1\).*deferred/ }, 'deferredRemoval off: EBUSY')
  await vm.close()

  // removal deferred but deletion not: the id could only go later, so refused up front
  vm = await VolumeManager.open({ ...base, deferredRemoval: true })
  await t.rejects(vm.removeVolume('a'), { code: 'EBUSY', device: 'a', message: /open \(1\).*deferredDeletion/ }, 'deferredRemoval without deferredDeletion: EBUSY')
  t.notMatch(dmsetup('info', dev), /DEFERRED REMOVE/, 'no removal scheduled')
  t.equal(poolTxid(poolName), tx)
  t.ok(await vm.volume('a'))
  await vm.close()

  // both: the device goes at last close, the id after it
  vm = await VolumeManager.open({ ...base, deferredRemoval: true, deferredDeletion: true })
  await vm.removeVolume('a')
  t.match(dmsetup('info', dev), /DEFERRED REMOVE/, 'dmsetup info: removal scheduled')
  t.same((await vm.status()).internalDeviceIds, [a.deviceId])
  closeSync(fd)
  // the kernel queues the removal to a worker at the last close: give it a moment
  for (let i = 0; i < 50 && dm.listSync().some((d) => d.name === dev); i++) await new Promise((r) => setTimeout(r, 20))
  t.throws(() => dm.infoSync(dev), 'the device went at the last close')
  await vm.listVolumes()
  t.same(poolIdsFromOutside(poolName), [], 'and the id after it')
  await vm.destroy()
})
