// Growing a pool on loop files: growPool() by hand, and autoExtend (opt-in) growing the data file and the pool
// at the low-water-mark event while a writer keeps writing past the pool's first size, without an I/O error.
import { execFile } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { dmsetup, name, prefix, sweep } from './helpers'
import { MiB, freshRoot, removeDevicesWithPrefix, rmRoot } from './volumes-helpers'

t.setTimeout(120_000)
t.teardown(() => {
  removeDevicesWithPrefix(prefix)
  sweep()
})

t.test('growPool grows the data file, the loop device and the pool', async (t) => {
  const root = freshRoot('grow')
  t.teardown(() => rmRoot(root))
  const vm = await VolumeManager.open({ root, loopDataSize: '64M', loopMetadataSize: '4M', poolName: name('gp-pool'), fs: 'none', defaultVolumeSize: '32M' })
  try {
    await vm.createVolume('a')
    t.equal(await vm.growPool('96M'), 96 * MiB)
    t.equal(statSync(join(root, 'devicemapper', 'data')).size, 96 * MiB, 'data file grown')
    t.equal((await vm.status()).dataTotalBytes, 96 * MiB, 'pool grown')
    t.equal(Number(dmsetup('table', name('gp-pool')).split(/\s+/)[1]), 96 * 2048)
    await t.rejects(vm.growPool('32M'), { code: 'EINVAL', field: 'size' }, 'no shrinking')
    t.equal(await vm.growPool(), 96 * MiB + Math.ceil((96 * MiB * 20) / 100 / 65536) * 65536, 'default: 20% more')
    t.same((await vm.listVolumes()).map((v) => v.name), ['a'])
  } finally {
    await vm.destroy()
  }
})

t.test('autoExtend grows the pool at the low water mark while I/O goes on', async (t) => {
  const root = freshRoot('autoext')
  t.teardown(() => rmRoot(root))
  const vm = await VolumeManager.open({
    root, loopDataSize: '64M', loopMetadataSize: '4M', poolName: name('ae-pool'), fs: 'none', defaultVolumeSize: '160M',
    autoExtend: { threshold: 50, percent: 100, maxDataSize: '256M' },
  })
  try {
    const lwm = Number(dmsetup('table', name('ae-pool')).split(/\s+/)[6])
    t.equal(lwm, 512, 'low water mark at 50% of 1024 blocks')
    const v = await vm.activate((await vm.createVolume('big')).name)
    // 100 MiB into a 64 MiB pool: without growing, the pool would run out of space and queue the writes
    await promisify(execFile)('dd', ['if=/dev/zero', `of=${v.path}`, 'bs=1M', 'count=100', 'oflag=direct', 'conv=fsync', 'status=none'], { timeout: 60_000 })
    for (let i = 0; i < 50 && (await vm.status()).dataTotalBytes < 128 * MiB; i++) await sleep(100)
    const st = await vm.status()
    t.ok(st.dataTotalBytes >= 128 * MiB, `pool grew to ${st.dataTotalBytes / MiB} MiB`)
    t.ok(st.dataTotalBytes <= 256 * MiB, 'within maxDataSize')
    t.equal(st.mode, 'rw', 'never out of space')
    t.ok(st.dataUsedBytes >= 100 * MiB, 'all 100 MiB landed')
    t.equal(vm.autoExtendError, undefined)
    t.equal(statSync(join(root, 'devicemapper', 'data')).size, st.dataTotalBytes, 'the data file follows')
  } finally {
    await vm.destroy()
  }
})
