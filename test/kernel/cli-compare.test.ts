// `devmapper ls` and `info` (long and -c forms) against `dmsetup`, byte for byte, on the mixed device set of
// cli-fixture.ts (suspended, read-only, inactive-table, table-less, uuid'd, crypt, a two-level tree). The bin runs
// through node_modules/.bin (cli-helpers.ts). Node starts in ~2 s in the guest, so each comparison costs that.
import { t } from 'tap'
import { prefix, sweep } from './helpers'
import { devmapper, removeBinDir, run, same } from './cli-helpers'
import { makeFixture, releaseFixture } from './cli-fixture'

t.setTimeout(100_000)
const f = makeFixture()
t.teardown(() => {
  releaseFixture(f)
  sweep()
  removeBinDir()
})

t.test("version: the driver line is dmsetup's; --help works through the bin link", async (t) => {
  const v = devmapper('version')
  t.equal(v.status, 0, v.stderr)
  const d = run('dmsetup', ['version'])
  // the library line names devmapper (it is not libdevmapper); the driver line is the kernel's, as dmsetup has it
  t.equal(v.stdout.split('\n')[1], d.stdout.split('\n')[1], 'Driver version line identical')
  t.match(v.stdout, /^Library version:   devmapper \d+\.\d+\.\d+\nDriver version:    4\.\d+\.\d+\n$/)
})

t.test('ls and info, every layout option', async (t) => {
  for (const args of [
    ['ls'], ['ls', '-o', 'blkdevname'], ['ls', '-o', 'devname'], ['ls', '--target', 'crypt'],
    ['ls', '--tree'], ['ls', '--tree', '-o', 'ascii,blkdevname,active,open,rw,uuid'], ['ls', '--tree', '-o', 'inverted,utf'],
    ['info'], ['info', f.ro, f.susp, f.inactive, f.empty], ['info', '-u', `${prefix}uuid-linear`],
    ['info', '-c'], ['info', '-c', f.lin], ['info', '-C', '--noheadings'],
    ['info', '-c', '--noheadings', '--separator', '|', '-o', 'name,uuid,attr'],
    // blkdevname fails for a device that has no table yet (no block device), in dmsetup too: not f.empty
    ['info', '-c', '-o', 'name,mangled_name,unmangled_name,uuid,mangled_uuid,unmangled_uuid,read_ahead,blkdevname,attr,tables_loaded,suspended,readonly,devno,major,minor,open,segments,events', f.crypt, f.lin, f.ro, f.susp, f.inactive, f.top],
    ['info', '-c', '--separator', ',', '-o', 'name,device_count,devs_used,devnos_used,blkdevs_used,device_ref_count,names_using_dev,devnos_using_dev', f.crypt, f.lin, f.upper, f.top, f.ro],
    ['-c', '-o', '+subsystem,vg_name,lv_name,lv_layer', 'info'],
  ]) {
    same(t, args)
  }
  const r = devmapper('info', '-c', '-o', 'name,blkdevname', f.empty)
  t.equal(r.status, 1, 'blkdevname of a table-less device fails, as in dmsetup')
  t.match(r.stderr, /Could not resolve block device name/)
})
