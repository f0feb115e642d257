// `devmapper ls` / `info -c` / `info` / `table` / `ls --tree` against dmsetup with 300 devices (names of many
// widths, a third with uuids), byte for byte. The devices are made through the library in 'manual' node mode:
// no udev cookie wait per device in either sandbox pass.
import { t } from 'tap'
import { DeviceMapper } from '../../ts'
import { name, prefix, sweep } from './helpers'
import { removeBinDir, same, withUdev } from './cli-helpers'

t.setTimeout(120_000)
const quick = new DeviceMapper({ udev: 'manual' })
const bulk: string[] = []

t.teardown(() => {
  for (const n of bulk.splice(0)) {
    try {
      quick.removeSync(n, { retries: 5 })
    } catch {
      // sweep() retries
    }
  }
  sweep()
  removeBinDir()
})

t.test('300 devices: ls and info -c as dmsetup prints them', async (t) => {
  for (let i = 0; i < 300; i++) {
    const n = name(`bulk-${String(i).padStart(3, '0')}${'x'.repeat(i % 23)}`)
    quick.createSync(n, [{ start: 0, length: 8 + i, type: 'zero' }], i % 3 === 0 ? { uuid: `${prefix}bulk-uuid-${i}` } : {})
    bulk.push(n)
  }
  const ls = same(t, ['ls'])
  t.equal(ls.split('\n').filter((l) => l.startsWith(`${prefix}bulk-`)).length, 300, 'all 300 listed')
  same(t, ['info', '-c'])
  same(t, ['info', '-c', '--noheadings'])
  // With udev, the 300 uevents each way cost ~40 s of this file already: the udev pass stops at ls and info -c
  // (the layouts below do not depend on udev, and the pass without udev compares them).
  if (withUdev) return
  same(t, ['info'])
  same(t, ['ls', '--target', 'zero'])
  same(t, ['table'])
  same(t, ['ls', '--tree'])
})
