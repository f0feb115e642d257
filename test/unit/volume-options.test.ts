// VolumeManager options and Docker/Convoy dm.* strings resolved to one config: defaults, every dm key, agreement
// between the two ways of saying a thing, and every refusal a DmError EINVAL naming the option.
import { t } from 'tap'
import { resolveVolumeOptions, type VolumeManagerOptions } from '../../ts'

const root = '/var/lib/myapp/devmapper'
const G = 2 ** 30
const refuse = (t: tap.Test, options: Record<string, unknown>, field: string, what?: string): void => {
  t.throws(() => resolveVolumeOptions({ root, ...options } as VolumeManagerOptions),
    { name: 'DmError', code: 'EINVAL', errno: 22, operation: 'open', field }, what ?? JSON.stringify(options))
}

t.test('defaults: a pool on sparse loop files, 64K blocks, 10G volumes, ext4, discard on', async (t) => {
  t.same(resolveVolumeOptions({ root }), {
    root, dataDevice: undefined, metadataDevice: undefined, thinPoolDevice: undefined, loopDataSize: 100 * G,
    loopMetadataSize: 2 * G, poolName: undefined, blockSize: 65536, defaultVolumeSize: 10 * G, fs: 'ext4', mkfsArgs: [],
    mountOptions: undefined, discard: true, minFreeSpace: 10, autoExtend: false, deferredRemoval: false,
    deferredDeletion: false, xfsNospaceMaxRetries: undefined, explicit: ['root'],
  })
  t.equal(resolveVolumeOptions({ root: '/a//b/../c/' }).root, '/a/c', 'root is normalized')
})

t.test('discard defaults to false on block devices and on an existing pool', async (t) => {
  const devs = resolveVolumeOptions({ root, dataDevice: '/dev/sdb1', metadataDevice: '/dev/sdc1' })
  t.equal(devs.discard, false)
  t.equal(devs.dataDevice, '/dev/sdb1')
  t.equal(resolveVolumeOptions({ root, dataDevice: '/dev/sdb1', metadataDevice: '/dev/sdc1', discard: true }).discard, true)
  const lvm = resolveVolumeOptions({ root, thinPoolDevice: '/dev/mapper/vg-pool' })
  t.equal(lvm.discard, false)
  t.equal(lvm.thinPoolDevice, 'vg-pool', '/dev/mapper/ stripped')
  t.equal(lvm.poolName, 'vg-pool', 'the pool name is the existing pool')
  t.equal(resolveVolumeOptions({ root, driverOptions: ['dm.blkdiscard=false'] }).discard, false)
})

t.test('every dm.* key, as Docker and Convoy spell them', async (t) => {
  const c = resolveVolumeOptions({
    root,
    driverOptions: [
      'dm.datadev=/dev/sdb1', ' DM.MetadataDev = /dev/sdc1 ', 'dm.thinpoolname=convoy-pool', 'dm.thinpoolblocksize=4096',
      'dm.defaultvolumesize=100G', 'dm.fs=xfs', 'dm.mkfsarg=-O ^has_journal', 'dm.mkfsarg=-m 0', 'dm.mountopt=nodiscard',
      'dm.mountopt=noatime', 'dm.blkdiscard=T', 'dm.min_free_space=5%', 'dm.use_deferred_removal=true',
      'dm.use_deferred_deletion=1', 'dm.xfs_nospace_max_retries=3', 'dm.override_udev_sync_check=true', 'dm.libdm_log_level=7',
    ],
  })
  t.match(c, {
    dataDevice: '/dev/sdb1', metadataDevice: '/dev/sdc1', poolName: 'convoy-pool', blockSize: 2 * 2 ** 20,
    defaultVolumeSize: 100 * G, fs: 'xfs', mkfsArgs: ['-O ^has_journal', '-m 0'], mountOptions: 'nodiscard,noatime',
    discard: true, minFreeSpace: 5, deferredRemoval: true, deferredDeletion: true, xfsNospaceMaxRetries: 3,
  })
  t.same(c.explicit, ['blockSize', 'root', 'dataDevice', 'defaultVolumeSize', 'deferredDeletion', 'deferredRemoval', 'discard', 'fs', 'metadataDevice', 'minFreeSpace', 'mkfsArgs', 'mountOptions', 'poolName', 'xfsNospaceMaxRetries'].sort())
  const d = resolveVolumeOptions({ root, driverOptions: ['dm.loopdatasize=200G', 'dm.loopmetadatasize=4G', 'dm.blocksize=512K', 'dm.basesize=20G'] })
  t.match(d, { loopDataSize: 200 * G, loopMetadataSize: 4 * G, blockSize: 512 * 1024, defaultVolumeSize: 20 * G })
  t.equal(resolveVolumeOptions({ root, driverOptions: ['dm.thinpooldev=/dev/mapper/docker-pool'] }).thinPoolDevice, 'docker-pool')
  t.match(resolveVolumeOptions({ root, driverOptions: ['dm.thinp_autoextend_threshold=70%', 'dm.thinp_autoextend_percent=10'] }).autoExtend,
    { threshold: 70, percent: 10 })
  t.same(resolveVolumeOptions({ root, autoExtend: true }).autoExtend, { threshold: 80, percent: 20 })
  t.same(resolveVolumeOptions({ root, autoExtend: { percent: 50, maxDataSize: '200G' } }).autoExtend, { threshold: 80, percent: 50, maxDataSize: 200 * G })
})

t.test("the contract's example and Convoy's docs", async (t) => {
  t.match(resolveVolumeOptions({ root, driverOptions: ['dm.datadev=/dev/sdb1', 'dm.metadatadev=/dev/sdc1', 'dm.basesize=20G'] }),
    { dataDevice: '/dev/sdb1', defaultVolumeSize: 20 * G })
  t.match(resolveVolumeOptions({ root, blockSize: '64K', defaultVolumeSize: '10G', minFreeSpace: '10%', fs: 'none' }),
    { blockSize: 65536, fs: 'none', explicit: ['blockSize', 'defaultVolumeSize', 'fs', 'minFreeSpace', 'root'] })
})

t.test('a value given both ways must agree; agreeing values are fine', async (t) => {
  const ok: VolumeManagerOptions[] = [
    { root, blockSize: 65536, driverOptions: ['dm.blocksize=64K', 'dm.thinpoolblocksize=128'] },
    { root, defaultVolumeSize: '10GiB', driverOptions: ['dm.basesize=10G', 'dm.defaultvolumesize=10240M'] },
    { root, thinPoolDevice: 'p', driverOptions: ['dm.thinpooldev=/dev/mapper/p'] },
    { root, mkfsArgs: ['-a', '-b'], driverOptions: ['dm.mkfsarg=-a', 'dm.mkfsarg=-b'] },
    { root, minFreeSpace: '5%', driverOptions: ['dm.min_free_space=05%'] },
    { root, discard: false, driverOptions: ['dm.blkdiscard=0', 'dm.blkdiscard=F'] },
  ]
  for (const o of ok) t.doesNotThrow(() => resolveVolumeOptions(o), JSON.stringify(o))
  const bad: [Record<string, unknown>, string][] = [
    [{ blockSize: '128K', driverOptions: ['dm.blocksize=64K'] }, 'blockSize'],
    [{ driverOptions: ['dm.blocksize=64K', 'dm.thinpoolblocksize=4096'] }, 'blockSize'],
    [{ driverOptions: ['dm.basesize=10G', 'dm.defaultvolumesize=20G'] }, 'defaultVolumeSize'],
    [{ defaultVolumeSize: '10G', driverOptions: ['dm.basesize=11G'] }, 'defaultVolumeSize'],
    [{ fs: 'ext4', driverOptions: ['dm.fs=xfs'] }, 'fs'],
    [{ dataDevice: '/dev/a', metadataDevice: '/dev/b', driverOptions: ['dm.datadev=/dev/c'] }, 'dataDevice'],
    [{ mkfsArgs: ['-a'], driverOptions: ['dm.mkfsarg=-b'] }, 'mkfsArgs'],
    [{ mountOptions: 'noatime', driverOptions: ['dm.mountopt=nodiscard'] }, 'mountOptions'],
    [{ discard: true, driverOptions: ['dm.blkdiscard=false'] }, 'discard'],
    [{ minFreeSpace: '10%', driverOptions: ['dm.min_free_space=20%'] }, 'minFreeSpace'],
    [{ poolName: 'a', driverOptions: ['dm.thinpoolname=b'] }, 'poolName'],
    [{ loopDataSize: '100G', driverOptions: ['dm.loopdatasize=200G'] }, 'loopDataSize'],
    [{ deferredRemoval: false, driverOptions: ['dm.use_deferred_removal=true'] }, 'deferredRemoval'],
    [{ xfsNospaceMaxRetries: 1, driverOptions: ['dm.xfs_nospace_max_retries=2'] }, 'xfsNospaceMaxRetries'],
    [{ autoExtend: false, driverOptions: ['dm.thinp_autoextend_percent=10'] }, 'autoExtend'],
    [{ autoExtend: { percent: 5 }, driverOptions: ['dm.thinp_autoextend_percent=10'] }, 'autoExtend'],
    [{ thinPoolDevice: 'p', poolName: 'q' }, 'poolName'],
  ]
  for (const [o, field] of bad) refuse(t, o, field)
})

t.test('unknown and unsupported keys are refused', async (t) => {
  for (const s of ['dm.nosuchkey=1', 'dm.directlvm_device=/dev/xvdf', 'dm.directlvm_device_force=true', 'dm.thinp_percent=95',
    'dm.thinp_metapercent=1', 'datadev=/dev/sdb', 'dm.datadev', '=x', 'dm.libdm_log_level=8', 'dm.libdm_log_level=x',
    'dm.override_udev_sync_check=yes']) {
    refuse(t, { driverOptions: [s] }, 'driverOptions', s)
  }
  refuse(t, { driverOptions: 'dm.fs=xfs' }, 'driverOptions', 'not an array')
  refuse(t, { driverOptions: [1] }, 'driverOptions', 'not strings')
  refuse(t, { blocksize: '64K' }, 'blocksize', 'a misspelt option')
  t.doesNotThrow(() => resolveVolumeOptions({ root, hook: 1 } as VolumeManagerOptions, ['hook']), 'a key the caller handles')
  refuse(t, { driverOptions: ['dm.blkdiscard=yes'] }, 'discard')
  refuse(t, { driverOptions: ['dm.use_deferred_deletion=2'] }, 'deferredDeletion')
  refuse(t, { driverOptions: ['dm.xfs_nospace_max_retries=-1'] }, 'xfsNospaceMaxRetries')
  refuse(t, { driverOptions: ['dm.thinp_autoextend_threshold=101'] }, 'autoExtend')
  refuse(t, { driverOptions: ['dm.thinp_autoextend_threshold=100'] }, 'autoExtend')
  refuse(t, { driverOptions: ['dm.basesize=ten'] }, 'defaultVolumeSize')
  refuse(t, { driverOptions: ['dm.loopdatasize=-1'] }, 'loopDataSize')
})

t.test('the pool: devices both or neither, thinPoolDevice alone, loop sizes only for loop files', async (t) => {
  refuse(t, { dataDevice: '/dev/sdb1' }, 'metadataDevice')
  refuse(t, { metadataDevice: '/dev/sdc1' }, 'dataDevice')
  refuse(t, { driverOptions: ['dm.datadev=/dev/sdb1'] }, 'metadataDevice')
  refuse(t, { dataDevice: '/dev/a', metadataDevice: '/dev/b', thinPoolDevice: 'p' }, 'thinPoolDevice')
  refuse(t, { thinPoolDevice: '/dev/vg/pool' }, 'thinPoolDevice', 'an LVM path is not a dm name')
  refuse(t, { thinPoolDevice: '' }, 'thinPoolDevice')
  refuse(t, { dataDevice: 'sdb1', metadataDevice: '/dev/sdc1' }, 'dataDevice', 'relative path')
  refuse(t, { dataDevice: '/dev/a', metadataDevice: '/dev/b', loopDataSize: '100G' }, 'loopDataSize')
  refuse(t, { thinPoolDevice: 'p', loopMetadataSize: '2G' }, 'loopMetadataSize')
  refuse(t, { thinPoolDevice: 'p', autoExtend: true }, 'autoExtend')
  refuse(t, { poolName: 'a/b' }, 'poolName')
  refuse(t, { poolName: 'x'.repeat(128) }, 'poolName')
})

t.test('sizes: block size 128..2097152 sectors in steps of 128; loop sizes fit the blocks', async (t) => {
  const K = 1024
  for (const [b, bytes] of [[65536, 65536], ['64K', 64 * K], ['128K', 128 * K], ['192K', 192 * K], ['2M', 2048 * K], ['1G', G], [G, G]]) {
    t.equal(resolveVolumeOptions({ root, blockSize: b, loopDataSize: '3G' }).blockSize, bytes, `blockSize ${b}`)
  }
  for (const b of [0, 512, '32K', '96K', '65537', '2G', '1000K', -65536, 'big', 65536.5]) refuse(t, { blockSize: b }, 'blockSize', `blockSize ${b}`)
  for (const s of ['0', '1', '2047', '4095', '8191', '20000', '2097280', '4096k', '-128', '128.5']) {
    refuse(t, { driverOptions: [`dm.thinpoolblocksize=${s}`] }, 'blockSize', `dm.thinpoolblocksize=${s}`)
  }
  t.equal(resolveVolumeOptions({ root, driverOptions: ['dm.thinpoolblocksize=2097152'] }).blockSize, 2 ** 30)
  t.equal(resolveVolumeOptions({ root, driverOptions: ['dm.thinpoolblocksize=4096'] }).blockSize, 2 * 2 ** 20)
  t.equal(resolveVolumeOptions({ root, driverOptions: ['dm.thinpoolblocksize=64k'] }).blockSize, 32 * 2 ** 20, "Convoy's ParseSize: 64k sectors")
  refuse(t, { loopDataSize: 0 }, 'loopDataSize')
  refuse(t, { loopDataSize: '100G', blockSize: '192K' }, 'loopDataSize', '100G is not a multiple of 192K')
  refuse(t, { loopDataSize: 65536 + 512 }, 'loopDataSize')
  refuse(t, { loopMetadataSize: '1M' }, 'loopMetadataSize')
  refuse(t, { loopMetadataSize: 2 * 2 ** 20 + 512 }, 'loopMetadataSize')
  refuse(t, { defaultVolumeSize: 0 }, 'defaultVolumeSize')
  refuse(t, { defaultVolumeSize: 1000 }, 'defaultVolumeSize')
  refuse(t, { autoExtend: { maxDataSize: '50G' } }, 'autoExtend', 'maxDataSize below loopDataSize')
  refuse(t, { autoExtend: { threshold: 0 } }, 'autoExtend')
  refuse(t, { autoExtend: { typo: 1 } }, 'autoExtend')
  refuse(t, { autoExtend: 'yes' }, 'autoExtend')
})

t.test('minFreeSpace is N% with N a whole number below 100; other fields are typed', async (t) => {
  for (const m of ['0%', '10%', '99%', '050%']) t.doesNotThrow(() => resolveVolumeOptions({ root, minFreeSpace: m }), m)
  for (const m of ['100%', '150%', '10', '10.5%', '-1%', '%', '', 10, ' 10%']) refuse(t, { minFreeSpace: m }, 'minFreeSpace', String(m))
  refuse(t, { driverOptions: ['dm.min_free_space=100%'] }, 'minFreeSpace')
  refuse(t, { fs: 'btrfs' }, 'fs')
  refuse(t, { driverOptions: ['dm.fs=ext3'] }, 'fs')
  refuse(t, { mkfsArgs: '-m 0' }, 'mkfsArgs')
  refuse(t, { mountOptions: 'a b' }, 'mountOptions')
  refuse(t, { discard: 'true' }, 'discard')
  refuse(t, { xfsNospaceMaxRetries: -1 }, 'xfsNospaceMaxRetries')
  refuse(t, { root: 'relative/dir' }, 'root')
  t.throws(() => resolveVolumeOptions({} as VolumeManagerOptions), { code: 'EINVAL', field: 'root' })
  t.throws(() => resolveVolumeOptions(null as never), { code: 'EINVAL', field: 'options' })
})
