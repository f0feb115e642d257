// A pool transaction id moved by someone else (dmsetup message POOL 0 set_transaction_id A B): every call fails
// with EBUSY until VolumeManager.recoverTransactionId (CLI `volume recover-txid`) adopts it, which it does only
// when the pool matches the state, and refuses, changing nothing, when it does not. Cross-checked with
// `dmsetup status` and thin_dump's superblock and device list.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { dm, dmsetup, name, prefix, sh, sweep } from './helpers'
import { devmapper, removeBinDir } from './cli-helpers'
import { freshRoot, poolDevices, poolIdsFromOutside, readPattern, removeDevicesWithPrefix, rmRoot, writePattern } from './volumes-helpers'

t.setTimeout(120_000)
t.teardown(() => {
  removeDevicesWithPrefix(prefix)
  sweep()
  removeBinDir()
})

function statusTxid(pool: string): bigint {
  return BigInt(dmsetup('status', pool).trim().split(/\s+/)[3])
}

/** The transaction id in the superblock thin_dump reads from a metadata snapshot. */
function dumpTxid(pool: string): bigint {
  const meta = dm.tableSync(pool)[0].params.split(/\s+/)[0]
  const node = `/dev/${sh('sh', ['-c', `grep DEVNAME /sys/dev/block/${meta}/uevent | cut -d= -f2`]).trim()}`
  dm.messageSync(pool, 0, 'reserve_metadata_snap')
  try {
    const xml = execFileSync('thin_dump', ['--metadata-snap', node], { encoding: 'utf8' })
    return BigInt(/<superblock [^>]*transaction="(\d+)"/.exec(xml)![1])
  } finally {
    dm.messageSync(pool, 0, 'release_metadata_snap')
  }
}

function storedTxid(root: string): string {
  return (JSON.parse(readFileSync(join(root, 'state.json'), 'utf8')) as { transactionId: string }).transactionId
}

t.test('recoverTransactionId adopts a moved id only when the pool matches the state', async (t) => {
  const root = freshRoot('txid')
  t.teardown(() => rmRoot(root))
  const poolName = name('tx-pool')
  const options = { root, ...poolDevices(64, 8), poolName, defaultVolumeSize: '8M', fs: 'none' as const }
  let vm = await VolumeManager.open(options)
  const a = await vm.createVolume('a')
  const b = await vm.createVolume('b')
  writePattern((await vm.activate('a')).path!, 0x77) // a active, b not
  t.same(await VolumeManager.recoverTransactionId(options), { pool: poolName, stored: '2', kernel: '2', adopted: false, checked: [] }, 'nothing to recover')

  dmsetup('message', poolName, '0', 'set_transaction_id 2 7')
  await t.rejects(vm.listVolumes(), { code: 'EBUSY', message: /transaction id 7.*committed 2.*recoverTransactionId/ }, 'every call refuses')
  await vm.close()
  await t.rejects(VolumeManager.open(options), { code: 'EBUSY' }, 'and open too')

  const r = await VolumeManager.recoverTransactionId(options)
  t.match(r, { pool: poolName, stored: '2', kernel: '7', adopted: true }, 'adopted')
  t.ok(r.checked.length >= 4, `after its checks: ${r.checked.join('; ')}`)
  t.equal(storedTxid(root), '7', 'state.json holds the pool id')
  t.notOk(dm.listSync().some((d) => d.name.endsWith('-txid-probe')), 'the probe device is gone')
  t.equal(statusTxid(poolName), 7n, 'the pool kept its id')

  vm = await VolumeManager.open(options)
  t.ok(readPattern((await vm.volume('a'))!.path!, 0x77), 'the active volume is untouched')
  const c = await vm.createVolume('c')
  t.equal(statusTxid(poolName), 8n, 'the next create commits on top of it (dmsetup status)')
  t.equal(dumpTxid(poolName), 8n, 'thin_dump agrees')
  t.same(poolIdsFromOutside(poolName), [a.deviceId, b.deviceId, c.deviceId], 'thin_dump: exactly the ids of the state')
  await vm.close()

  // Refusals: each leaves state.json and the pool as they were.
  const refused = async (why: RegExp, label: string): Promise<void> => {
    const before = storedTxid(root)
    const kernel = statusTxid(poolName)
    await t.rejects(VolumeManager.recoverTransactionId(options), { code: 'EBUSY', operation: 'recoverTransactionId', message: why }, label)
    t.equal(storedTxid(root), before, `${label}: state unchanged`)
    t.equal(statusTxid(poolName), kernel, `${label}: pool unchanged`)
    t.notOk(dm.listSync().some((d) => d.name.endsWith('-txid-probe')), `${label}: no probe left`)
  }

  // an inactive volume's id deleted behind our back
  dmsetup('message', poolName, '0', `delete ${b.deviceId}`)
  dmsetup('message', poolName, '0', 'set_transaction_id 8 9')
  await refused(new RegExp(`volume 'b': thin id ${b.deviceId} cannot be opened`), 'a missing id')
  dmsetup('message', poolName, '0', `create_thin ${b.deviceId}`) // put it back (empty)
  // a device outside the root using the pool
  dmsetup('message', poolName, '0', 'create_thin 500')
  const { major, minor } = dm.infoSync(poolName)
  dmsetup('create', name('tx-foreign'), '--table', `0 8192 thin ${major}:${minor} 500`)
  await refused(new RegExp(`${name('tx-foreign')}.*maps thin id 500`), 'a foreign user')
  dmsetup('remove', name('tx-foreign'))
  dmsetup('message', poolName, '0', 'delete 500')
  // the pool behind the state
  dmsetup('message', poolName, '0', 'set_transaction_id 9 3')
  await refused(/behind this root/, 'an older pool')
  dmsetup('message', poolName, '0', 'set_transaction_id 3 9')
  // an operation in flight
  const doc = JSON.parse(readFileSync(join(root, 'state.json'), 'utf8')) as Record<string, unknown>
  writeFileSync(join(root, 'state.json'), JSON.stringify({ ...doc, intent: { op: 'resize', name: 'b', size: 16 * 1048576, oldSize: 8 * 1048576 } }))
  await refused(/in flight \(resize of 'b'\)/, 'an intent')
  writeFileSync(join(root, 'state.json'), JSON.stringify(doc))

  // the CLI verb, after all is well again
  const out = devmapper('volume', 'recover-txid', '--root', root, '--json')
  t.equal(out.status, 0, out.stderr)
  t.match(JSON.parse(out.stdout), { stored: '8', kernel: '9', adopted: true })
  vm = await VolumeManager.open(options)
  t.equal(String((await vm.status()).transactionId), '9')
  t.same(poolIdsFromOutside(poolName), [a.deviceId, b.deviceId, c.deviceId])
  await vm.destroy()
  t.notOk(existsSync(join(root, 'state.json')))
})
