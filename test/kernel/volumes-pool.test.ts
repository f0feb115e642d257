// The volume manager's pool on sparse loop files in root: Docker's default names and files, the seeds' options
// as dm.* strings, discard returning space to the pool and punching holes in the data file, the free-space floor,
// a pool whose devices went away (a reboot) rebuilt from the state, several processes on one root, and refusal
// of a foreign non-empty pool.
import { execFileSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { VolumeManager, loop } from '../../ts'
import { dm, dmsetup, name, prefix, sh, sweep } from './helpers'
import { runChildAsync } from './volumes-crash'
import { MiB, freshRoot, poolIdsFromOutside, readPattern, removeDevicesWithPrefix, rmRoot, writePattern } from './volumes-helpers'

t.setTimeout(120_000)
t.teardown(() => {
  removeDevicesWithPrefix(prefix)
  sweep()
})

function allocatedBytes(file: string): number {
  return statSync(file).blocks * 512
}

t.test('defaults: pool name from stat(root), files under root/devicemapper, discard frees pool and file blocks', async (t) => {
  const root = freshRoot('loopdef')
  t.teardown(() => rmRoot(root))
  const vm = await VolumeManager.open({ root, loopDataSize: '256M', loopMetadataSize: '8M', defaultVolumeSize: '64M', fs: 'none' })
  try {
    const st = statSync(root, { bigint: true })
    const major = Number((st.dev >> 8n) & 0xfffn)
    const minor = Number((st.dev & 0xffn) | ((st.dev >> 12n) & 0xfff00n))
    t.equal(vm.poolName, `devmapper-${major}:${minor}-${st.ino}-pool`, "Docker's pool name")
    const data = join(root, 'devicemapper', 'data')
    t.equal(statSync(data).size, 256 * MiB, 'sparse data file of loopDataSize')
    t.equal(statSync(join(root, 'devicemapper', 'metadata')).size, 8 * MiB)
    const loops = loop.find(data)
    t.equal((await loops).length, 1, 'one loop device over the data file')

    const v = await vm.activate((await vm.createVolume('big')).name)
    execFileSync('dd', ['if=/dev/urandom', `of=${v.path}`, 'bs=1M', 'count=48', 'oflag=direct', 'conv=fsync', 'status=none'])
    const before = await vm.status()
    const fileBefore = allocatedBytes(data)
    t.ok(before.dataUsedBytes >= 48 * MiB, `pool uses ${before.dataUsedBytes}`)
    t.ok(fileBefore >= 48 * MiB, `data file holds ${fileBefore} bytes`)
    await vm.deactivate('big')
    await vm.removeVolume('big')
    const after = await vm.status()
    const fileAfter = allocatedBytes(data)
    t.ok(after.dataUsedBytes < before.dataUsedBytes - 40 * MiB, `pool usage back to ${after.dataUsedBytes}`)
    t.ok(fileAfter < fileBefore - 40 * MiB, `data file allocation shrank from ${fileBefore} to ${fileAfter} (Docker #3182)`)
  } finally {
    await vm.destroy()
  }
  t.notOk(existsSync(root), 'destroy removed files, loops and root')
  t.equal(dm.listSync().filter((d) => d.name.startsWith('devmapper-')).length, 0)
})

t.test("the seeds' options as dm.* strings; minFreeSpace refuses with ENOSPC before anything is made", async (t) => {
  const root = freshRoot('dmopts')
  t.teardown(() => rmRoot(root))
  const vm = await VolumeManager.open({
    root,
    driverOptions: ['dm.loopdatasize=64M', 'dm.loopmetadatasize=4M', `dm.thinpoolname=${name('dmo-pool')}`, 'dm.thinpoolblocksize=256', 'dm.basesize=16M', 'dm.fs=none', 'dm.min_free_space=50%', 'dm.blkdiscard=false'],
  })
  try {
    t.equal(vm.poolName, name('dmo-pool'))
    t.equal(dmsetup('table', vm.poolName).split(/\s+/)[5], '256', 'dm.thinpoolblocksize is sectors')
    const a = await vm.activate((await vm.createVolume('a', { size: '40M' })).name)
    execFileSync('dd', ['if=/dev/urandom', `of=${a.path}`, 'bs=1M', 'count=36', 'oflag=direct', 'conv=fsync', 'status=none'])
    const st = await vm.status()
    const ids = poolIdsFromOutside(vm.poolName)
    t.ok(st.dataUsedBytes > 32 * MiB)
    await t.rejects(vm.createVolume('b'), { code: 'ENOSPC' }, 'below the floor: refused')
    await t.rejects(vm.snapshot('a', 'c'), { code: 'ENOSPC' })
    t.same(poolIdsFromOutside(vm.poolName), ids, 'nothing was created')
    t.same((await vm.status()).transactionId, st.transactionId)
    t.same((await vm.listVolumes()).map((v) => v.name), ['a'])
  } finally {
    await vm.destroy()
  }
})

t.test('a pool whose devices went away (a reboot) is rebuilt from the state with its volumes', async (t) => {
  const root = freshRoot('reboot')
  t.teardown(() => rmRoot(root))
  const options = { root, loopDataSize: '64M', loopMetadataSize: '4M', poolName: name('rb-pool'), fs: 'none' as const, defaultVolumeSize: '4M' }
  let vm = await VolumeManager.open(options)
  writePattern((await vm.activate((await vm.createVolume('a')).name)).path!, 0x5a)
  await vm.snapshot('a', 's')
  await vm.close()
  // "reboot": every device and loop device goes
  const loops = dm.depsSync(name('rb-pool')).filter((d) => d.major === 7).map((d) => d.minor)
  removeDevicesWithPrefix(name('rb'))
  for (const n of loops) await loop.detach(n)
  vm = await VolumeManager.open(options)
  try {
    t.same((await vm.listVolumes()).map((v) => [v.name, v.active]), [['a', false], ['s', false]])
    t.ok(readPattern((await vm.activate('s')).path!, 0x5a), 'the snapshot still holds the data')
    t.ok((await vm.check()).ok)
  } finally {
    await vm.destroy()
  }
})

t.test('several processes on one root: each operation under a flock, everyone sees the others', async (t) => {
  const root = freshRoot('multi')
  t.teardown(() => rmRoot(root))
  const options = { root, loopDataSize: '64M', loopMetadataSize: '4M', poolName: name('mp-pool'), fs: 'none' as const, defaultVolumeSize: '4M' }
  const vm = await VolumeManager.open(options)
  try {
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => runChildAsync(options, 'createVolume', [`v${i}`])))
    t.same(results.map((r) => r.status), [0, 0, 0, 0, 0, 0], results.map((r) => r.stderr).join(''))
    const vols = await vm.listVolumes()
    t.same(vols.map((v) => v.name), ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'], 'this manager sees the volumes the others made')
    t.equal(new Set(vols.map((v) => v.deviceId)).size, 6, 'six distinct thin ids')
    t.equal(Number((await vm.status()).transactionId), 6, 'six committed transactions')
    t.same(poolIdsFromOutside(vm.poolName), vols.map((v) => v.deviceId).sort((a, b) => a - b))
    const removed = await Promise.all([1, 2, 3].map((i) => runChildAsync(options, 'removeVolume', [`v${i}`])))
    t.same(removed.map((r) => r.status), [0, 0, 0])
    t.same((await vm.listVolumes()).map((v) => v.name), ['v4', 'v5', 'v6'])
  } finally {
    await vm.destroy()
  }
})

t.test('a foreign pool that is not empty is refused with EBUSY and left alone', async (t) => {
  const meta = sh('sh', ['-c', 'f=$(mktemp /tmp/fm.XXXX); truncate -s 4M $f; losetup --find --show $f']).trim()
  const data = sh('sh', ['-c', 'f=$(mktemp /tmp/fd.XXXX); truncate -s 64M $f; losetup --find --show $f']).trim()
  const pool = name('foreign-pool')
  await dm.create(pool, `0 131072 thin-pool ${meta} ${data} 128 16 1 skip_block_zeroing`)
  t.teardown(() => {
    removeDevicesWithPrefix(pool)
    for (const l of [meta, data]) sh('losetup', ['-d', l])
  })
  dm.messageSync(pool, 0, 'create_thin 7')
  dm.messageSync(pool, 0, 'set_transaction_id 0 5')
  const root = freshRoot('foreign')
  t.teardown(() => rmRoot(root))
  await t.rejects(VolumeManager.open({ root, thinPoolDevice: pool }), { code: 'EBUSY' }, 'transaction id 5: refused')
  await t.rejects(VolumeManager.open({ root, poolName: pool }), { code: 'EBUSY' }, 'by name too')
  t.notOk(existsSync(root), 'root left as it was')
  t.match(dmsetup('status', pool), / thin-pool 5 /, 'the pool was not touched')
  t.same(poolIdsFromOutside(pool), [7])

  // An empty foreign pool is adopted; destroy deletes only its own ids and leaves the pool.
  dm.messageSync(pool, 0, 'delete 7')
  dm.messageSync(pool, 0, 'set_transaction_id 5 0')
  const vm = await VolumeManager.open({ root, thinPoolDevice: `/dev/mapper/${pool}`, fs: 'none', defaultVolumeSize: '4M' })
  await vm.createVolume('mine')
  t.equal(poolIdsFromOutside(pool).length, 1)
  await vm.destroy()
  t.same(poolIdsFromOutside(pool), [], 'destroy deleted its id')
  t.ok(dm.infoSync(pool), 'and left the pool it did not make')
})
