// An LVM thin pool used through thinPoolDevice (Docker's direct-lvm): adopted while empty, volumes and
// snapshots made in it, never sent set_transaction_id (Docker #15629), and LVM still works on it afterwards:
// lvs, vgchange -an / -ay, lvcreate of its own thin volume. A pool LVM has used is refused.
import { execFileSync } from 'node:child_process'
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { dm, dmsetup, loopDevice, sweep } from './helpers'
import { freshRoot, poolIdsFromOutside, readPattern, rmRoot, writePattern } from './volumes-helpers'

t.setTimeout(120_000)
const vg = `dmtvg${process.pid}`
const udev = process.env.DEVMAPPER_UDEV === '1'
// Without udev in the guest, LVM must not wait for udev cookies; it makes its nodes itself.
const config = udev ? [] : ['--config', 'activation { udev_sync = 0 udev_rules = 0 verify_udev_operations = 1 } devices { obtain_device_list_from_udev = 0 }']

function lvm(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, [...config, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LVM_SUPPRESS_FD_WARNINGS: '1' } })
}

t.teardown(() => {
  try {
    lvm('vgremove', '-f', '-y', vg)
  } catch {
    // not made
  }
  sweep()
})

t.test('an LVM thin pool as thinPoolDevice', async (t) => {
  const pv = loopDevice(160)
  lvm('pvcreate', '-ff', '-y', pv.path)
  lvm('vgcreate', vg, pv.path)
  lvm('lvcreate', '-y', '-L', '96M', '-T', `${vg}/pool`)
  const tpool = dm.listSync().map((d) => d.name).filter((n) => n.startsWith(`${vg}-`)).find((n) => dm.tableSync(n)[0]?.type === 'thin-pool')!
  t.ok(tpool, `LVM's thin-pool device is ${tpool}`)
  t.match(dm.infoSync(tpool).uuid, /^LVM-/)
  const txBefore = dmsetup('status', tpool).split(/\s+/)[3]

  const root = freshRoot('lvm')
  t.teardown(() => rmRoot(root))
  const vm = await VolumeManager.open({ root, thinPoolDevice: `/dev/mapper/${tpool}`, fs: 'ext4', defaultVolumeSize: '16M' })
  let st = await vm.status()
  t.equal(st.lvm, true, 'recognised as LVM-owned')
  t.equal(st.poolName, tpool)
  await vm.createVolume('a')
  const a = await vm.createVolume('raw', { fs: 'none', size: '4M' })
  writePattern((await vm.activate('raw')).path!, 0x77)
  await vm.snapshot('raw', 'raw-snap')
  t.ok(readPattern((await vm.activate('raw-snap')).path!, 0x77), 'snapshot data in the LVM pool')
  st = await vm.status()
  t.equal(String(st.transactionId), txBefore, "the LVM pool's transaction id never moved")
  t.same(poolIdsFromOutside(tpool), (await vm.listVolumes()).map((v) => v.deviceId).sort((x, y) => x - y))
  t.ok(a.deviceId >= 0)
  t.match(lvm('lvs', '--noheadings', '-o', 'lv_name', vg), /pool/, 'lvs still works')
  await vm.close()

  // a second open sees the same volumes (the pool is not empty now, but it carries this root's state)
  const again = await VolumeManager.open({ root, thinPoolDevice: tpool })
  t.same((await again.listVolumes()).map((v) => v.name), ['a', 'raw', 'raw-snap'])
  // a different root must not take it: it holds data now
  const other = freshRoot('lvm-other')
  t.teardown(() => rmRoot(other))
  await t.rejects(VolumeManager.open({ root: other, thinPoolDevice: tpool }), { code: 'EBUSY' }, 'a used pool is refused by another root')
  await again.destroy()
  t.same(poolIdsFromOutside(tpool), [], 'destroy deleted its thin ids and nothing else')
  t.equal(dmsetup('status', tpool).split(/\s+/)[3], txBefore)

  lvm('vgchange', '-an', vg)
  t.equal(dm.listSync().filter((d) => d.name.startsWith(`${vg}-`)).length, 0, 'vgchange -an deactivates the pool')
  lvm('vgchange', '-ay', vg)
  lvm('lvcreate', '-y', '-V', '8M', '-T', `${vg}/pool`, '-n', 'thin1')
  t.match(lvm('lvs', '--noheadings', '-o', 'lv_name', vg), /thin1/, 'LVM makes its own thin volume in the pool afterwards')
})
