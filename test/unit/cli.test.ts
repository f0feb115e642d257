// The CLI's pieces that need no kernel: argument parsing, dmsetup's layouts of fixed objects (info, ls, table
// with key masking, deps, targets, the info -c report, the ls --tree drawing), error reporting and exit codes.
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { t } from 'tap'
import { DmError, invalid } from '../../ts/core'
import { CryptKey } from '../../ts/targets'
import { parseCommandLine, uint, UsageError } from '../../ts/cli/args'
import { toJson } from '../../ts/cli/context'
import {
  conciseEntry, depsLine, infoLong, lsLine, lsTargetLine, maskKeys, messageReply, tableLines, targetsLines, versionLines,
} from '../../ts/cli/dmsetup-format'
import { report } from '../../ts/cli/errors'
import { findLine, listTable } from '../../ts/cli/loop-verbs'
import { formatReport, parseFields, ReportError, type ReportRow } from '../../ts/cli/report'
import { run } from '../../ts/cli/run'
import { DepTree, drawTree, type TreeDrawOptions } from '../../ts/cli/tree'
import { volumeTable } from '../../ts/cli/volume-verbs'

const info = {
  name: 'vol', uuid: '', major: 253, minor: 4, openCount: 0, eventNr: 0, targetCount: 1, suspended: false,
  readOnly: false, activeTable: true, inactiveTable: false, deferredRemove: false, path: '/dev/mapper/vol',
}

t.test('options before or after the verb; unknown options are usage errors', async (t) => {
  const a = parseCommandLine(['-c', '-o', 'name', 'info', 'x'])
  const b = parseCommandLine(['info', 'x', '-c', '-o', 'name'])
  t.same(a, b)
  t.equal(a.verb, 'info')
  t.same(a.operands, ['x'])
  t.equal(a.values.columns, true)
  t.equal(a.values.options, 'name')
  const m = parseCommandLine(['remove', '-f', '--retry', '--deferred', 'a', 'b'])
  t.same([m.values.force, m.values.retry, m.values.deferred, m.operands], [true, true, true, ['a', 'b']])
  t.same(parseCommandLine(['-vv', 'ls']).values.verbose, [true, true])
  t.throws(() => parseCommandLine(['ls', '--bogus']), UsageError)
  t.throws(() => parseCommandLine(['info', '-o']), UsageError, 'an option missing its value')
  t.equal(uint('42', 'x'), 42)
  t.throws(() => uint('-1', 'sector'), /sector must be a non-negative integer/)
  t.throws(() => uint('256', 'head', 255), /up to 255/)
})

t.test('info (long form): dmsetup\'s block with its optional lines', async (t) => {
  t.equal(
    infoLong({ ...info, readAhead: 256 }),
    'Name:              vol\nState:             ACTIVE\nRead Ahead:        256\nTables present:    LIVE\n' +
      'Open count:        0\nEvent number:      0\nMajor, minor:      253, 4\nNumber of targets: 1\n\n',
  )
  const odd = infoLong({
    ...info, uuid: 'LVM-abc', suspended: true, readOnly: true, deferredRemove: true, inactiveTable: true, openCount: 2, eventNr: 7,
  })
  t.match(odd, 'State:             SUSPENDED (READ-ONLY) (DEFERRED REMOVE)\n')
  t.match(odd, 'Tables present:    LIVE & INACTIVE\n')
  t.match(odd, /UUID: LVM-abc\n\n$/)
  t.notMatch(odd, 'Read Ahead', 'no read-ahead line when the kernel has none (no table yet)')
  t.match(infoLong({ ...info, activeTable: false }), 'Tables present:    None\n')
  t.match(infoLong({ ...info, activeTable: false, inactiveTable: true }), 'Tables present:    INACTIVE\n')
})

t.test('ls, deps, targets, version, message layouts', async (t) => {
  t.equal(lsLine('vol', 253, 4), 'vol\t(253:4)\n')
  t.equal(lsLine('vol', 253, 4, 'dm-4'), 'vol\t(dm-4)\n')
  t.equal(lsTargetLine('vol', 253, 4), 'vol\t(253, 4)\n')
  t.equal(depsLine([{ major: 7, minor: 0 }, { major: 253, minor: 1 }]), '2 dependencies\t: (7, 0) (253, 1)\n')
  t.equal(depsLine([], 'vol'), 'vol: 0 dependencies\t:\n')
  t.equal(depsLine([{ major: 7, minor: 0 }], undefined, ['loop0']), '1 dependencies\t: (loop0)\n')
  t.equal(targetsLines([{ name: 'thin-pool', version: [1, 23, 0] }, { name: 'a-very-long-target-name', version: [1, 0, 0] }]),
    'thin-pool        v1.23.0\na-very-long-target-name v1.0.0\n')
  t.equal(versionLines('devmapper 0.1.0', { major: 4, minor: 47, patch: 0 }), 'Library version:   devmapper 0.1.0\nDriver version:    4.47.0\n')
  t.equal(messageReply(undefined), '')
  t.equal(messageReply(''), '')
  t.equal(messageReply('ok'), 'ok\n')
  t.equal(messageReply('ok\n'), 'ok\n')
})

t.test('table/status lines: the space after the type, prefixes, --target, empty tables', async (t) => {
  const targets = [
    { start: 0, length: 8, type: 'zero', params: '' },
    { start: 8, length: 8, type: 'linear', params: '7:0 0' },
  ]
  t.equal(tableLines(targets), '0 8 zero \n8 8 linear 7:0 0\n')
  t.equal(tableLines(targets, { prefix: 'vol' }), 'vol: 0 8 zero \nvol: 8 8 linear 7:0 0\n')
  t.equal(tableLines(targets, { target: 'linear' }), '8 8 linear 7:0 0\n')
  t.equal(tableLines([]), '\n', 'a device without a table prints an empty line')
  t.equal(tableLines([], { prefix: 'vol' }), 'vol: \n')
  t.equal(tableLines([], { target: 'zero' }), '', 'and nothing when filtering by type')
})

t.test('key masking as dmsetup does it', async (t) => {
  const key = 'aabbccdd'.repeat(8)
  t.equal(maskKeys('crypt', `aes-xts-plain64 ${key} 0 7:0 0`), `aes-xts-plain64 ${'0'.repeat(64)} 0 7:0 0`)
  t.equal(maskKeys('crypt', 'aes-xts-plain64 :64:logon:my:key 0 7:0 0'), 'aes-xts-plain64 :64:logon:my:key 0 7:0 0', 'keyring references stay')
  t.equal(maskKeys('crypt', 'aes-xts-plain64 - 0 7:0 0'), 'aes-xts-plain64 0 0 7:0 0', "'-' is zeroed like any word")
  t.equal(maskKeys('crypt', 'cipher'), 'cipher')
  t.equal(maskKeys('linear', `7:0 ${key}`), `7:0 ${key}`)
  t.equal(
    maskKeys('integrity', '7:0 0 32 J 2 internal_hash:hmac(sha256):abcd journal_mac:hmac(sha256):ef01'),
    '7:0 0 32 J 2 internal_hash:hmac(sha256):0000 journal_mac:hmac(sha256):0000',
  )
  t.equal(maskKeys('integrity', '7:0 0 32 J 1 internal_hash:crc32c'), '7:0 0 32 J 1 internal_hash:crc32c', 'no key: unchanged')
  const entry = conciseEntry({ ...info, name: 'a,b', uuid: 'u;1' }, [{ start: 0, length: 8, type: 'crypt', params: `aes ${key} 0 7:0 0` }], true)
  t.equal(entry, `a\\,b,u\\;1,4,rw,0 8 crypt aes ${'0'.repeat(64)} 0 7:0 0`)
})

t.test('info -c: widths, alignment, headings, --noheadings, --separator, -o', async (t) => {
  const rows: ReportRow[] = [
    { ...info, uuid: 'LVM-x' },
    { ...info, name: 'a-name-longer-than-sixteen', major: 253, minor: 12, openCount: 1234, eventNr: 5, suspended: true, readOnly: true },
  ]
  const fields = parseFields(undefined)
  t.equal(
    formatReport(rows, { fields }),
    'Name                       Maj Min Stat Open Targ Event  UUID                            \n' +
      'vol                        253   4 L--w    0    1      0 LVM-x                           \n' +
      'a-name-longer-than-sixteen 253  12 L-sr 1234    1      5                                 \n',
  )
  t.equal(formatReport(rows, { fields, noHeadings: true }), 'vol:253:4:L--w:0:1:0:LVM-x\na-name-longer-than-sixteen:253:12:L-sr:1234:1:5:\n')
  t.equal(formatReport(rows.slice(0, 1), { fields: ['name', 'attr'], separator: ',' }), 'Name,Stat\nvol,L--w\n')
  t.equal(formatReport([], { fields }), '', 'no rows, no headings')
  t.same(parseFields('+devno'), ['name', 'major', 'minor', 'attr', 'open', 'segments', 'events', 'uuid', 'devno'])
  t.throws(() => parseFields('name,nope'), ReportError)
  const lvm = formatReport([{ ...info, name: 'vg-lv--x-cow', uuid: 'LVM-abc' }], { fields: parseFields('subsystem,vg_name,lv_name,lv_layer'), separator: '|' })
  t.equal(lvm, 'Subsys|VG|LV|LVLayer\nLVM|vg|lv-x|cow\n', 'LVM names split as libdm does')
  const deps = formatReport([{ ...info, deps: [{ major: 7, minor: 0 }, { major: 253, minor: 1 }], blkName: (a, b) => `b${a}.${b}` }], {
    fields: ['device_count', 'devnos_used', 'blkdevs_used'],
  })
  t.equal(deps, '#Devs DevNosUsed       BlkDevNamesUsed \n    2 7:0,253:1        b7.0,b253.1     \n')
})

const drawDefaults: TreeDrawOptions = {
  utf: false, width: 80, truncate: true, device: true, blkdevname: false, active: false, rw: false, open: false, uuid: false, inverted: false,
}

t.test('ls --tree: libdm deptree order and drawing', async (t) => {
  const deps: Record<string, { major: number; minor: number }[]> = {
    '253:0': [{ major: 253, minor: 1 }],
    '253:1': [{ major: 7, minor: 0 }, { major: 7, minor: 1 }],
    '253:2': [],
    '253:3': [{ major: 253, minor: 1 }],
  }
  const tree = new DepTree({
    devices: [
      { name: 'a', major: 253, minor: 0 },
      { name: 'b', major: 253, minor: 1 },
      { name: 'c', major: 253, minor: 2 },
      { name: 'd', major: 253, minor: 3 },
    ],
    dmMajor: 253,
    deps: (major, minor) => deps[`${major}:${minor}`],
  })
  t.equal(
    drawTree(tree, drawDefaults),
    'a (253:0)\n `-b (253:1)\n    |- (7:0)\n    `- (7:1)\nc (253:2)\nd (253:3)\n `-b (253:1)\n    |- (7:0)\n    `- (7:1)\n',
  )
  t.equal(
    drawTree(tree, { ...drawDefaults, inverted: true }),
    ' (7:0)\n `-b (253:1)\n    |-a (253:0)\n    `-d (253:3)\n (7:1)\n `-b (253:1)\n    |-a (253:0)\n    `-d (253:3)\nc (253:2)\n',
  )
  t.equal(drawTree(tree, { ...drawDefaults, utf: true }).split('\n')[1], ' \u2514\u2500b (253:1)')
  const b = tree.find(253, 1)!
  t.equal(tree.childCount(b, true), 2, 'b is used by a and d')
  t.equal(tree.childCount(tree.find(253, 2)!, true), 0, 'c is top level')
  // truncation at the width: '...' replaces the rest
  const long = new DepTree({ devices: [{ name: 'x'.repeat(90), major: 253, minor: 9 }], dmMajor: 253, deps: () => [] })
  t.equal(drawTree(long, drawDefaults), `${'x'.repeat(79)}...\n`, 'dmsetup keeps 79 characters, then ...')
  t.equal(drawTree(long, { ...drawDefaults, truncate: false }), `${'x'.repeat(90)} (253:9)\n`)
})

t.test('errors: one line, exit 1 for failed operations, 2 for bad usage, JSON on request', async (t) => {
  const kernel = new DmError({ message: 'DM_DEV_REMOVE vol: Device or resource busy (EBUSY)', code: 'EBUSY', operation: 'DM_DEV_REMOVE', device: 'vol' })
  const r = report(kernel, false, 'remove')
  t.equal(r.status, 1)
  t.match(r.stderr, /^devmapper: DM_DEV_REMOVE vol: Device or resource busy \(EBUSY\): the device is open; .*--retry.*--deferred.*-f/)
  t.equal(r.stderr.split('\n').length, 2, 'one line')
  const open = new DmError({ message: 'open /dev/mapper/control: No such device (ENODEV)', code: 'ENODEV', operation: 'open', device: '/dev/mapper/control' })
  t.match(report(open, false, 'ls').stderr, /this kernel has no device-mapper; load dm_mod\n$/)
  const bad = invalid('create', 'table line 1 length', "must be a decimal sector count, got 'x'", 'vol')
  t.equal(report(bad, false, 'create').status, 2)
  t.same(JSON.parse(report(bad, true, 'create').stderr), {
    error: { code: 'EINVAL', message: bad.message, operation: 'create', device: 'vol', field: 'table line 1 length' },
  })
  t.equal(report(new UsageError('no verb given'), false, undefined).status, 2)
})

t.test('JSON: bigints as numbers, crypt keys hidden unless asked', async (t) => {
  t.equal(toJson({ a: 2n ** 64n, b: 1 }), '{\n  "a": 18446744073709551616,\n  "b": 1\n}')
  const key = new CryptKey('abcd')
  t.equal(toJson({ key }), '{\n  "key": "<redacted>"\n}')
  t.equal(toJson({ key }, true), '{\n  "key": "abcd"\n}')
})

t.test('run(): --help per verb, unknown verbs and missing verbs, without touching the kernel', async (t) => {
  const io = () => {
    const o = { out: '', err: '' }
    return { o, io: { stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s), stdin: () => '', progress: false } }
  }
  let x = io()
  t.equal(await run(['--help'], x.io), 0)
  t.match(x.o.out, /^Usage: devmapper/)
  x = io()
  t.equal(await run(['remove', '--help'], x.io), 0)
  t.match(x.o.out, /^Usage: devmapper remove DEVICE\.\.\. \[-f\] \[--retry\] \[--deferred\]/)
  x = io()
  t.equal(await run(['frobnicate'], x.io), 2)
  t.match(x.o.err, /unknown verb 'frobnicate'/)
  x = io()
  t.equal(await run([], x.io), 2)
  x = io()
  t.equal(await run(['--json', 'nope'], x.io), 2)
  t.equal((JSON.parse(x.o.err) as { error: { code: string } }).error.code, 'EUSAGE')
  x = io()
  t.equal(await run(['info', '-c', '-o', 'name,bogus'], x.io), 2, 'an unknown field is bad usage, found before any ioctl')
  t.match(x.o.err, /Unrecognised field: bogus/)
})

t.test('loop layouts: losetup --list columns and losetup -j lines', async (t) => {
  const info = {
    path: '/dev/loop0', number: 0, major: 7, minor: 0, backingFile: '/tmp/a.img', offset: 0, sizeLimit: 0, readOnly: false,
    autoclear: false, directIo: false, partscan: false, sizeBytes: 1048576, blockSize: 512, backingDevice: '8:1', backingInode: 1234,
  }
  t.equal(
    listTable([info, { ...info, path: '/dev/loop10', backingFile: '/tmp/b', offset: 4096, readOnly: true, blockSize: 4096 }]),
    'NAME        SIZELIMIT OFFSET AUTOCLEAR RO BACK-FILE  DIO LOG-SEC\n' +
      '/dev/loop0          0      0         0  0 /tmp/a.img   0     512\n' +
      '/dev/loop10         0   4096         0  1 /tmp/b       0    4096\n',
  )
  t.equal(findLine(info), '/dev/loop0: [2049]:1234 (/tmp/a.img)\n')
  t.equal(findLine({ ...info, backingDevice: '0:31', offset: 512, sizeLimit: 1024 }), '/dev/loop0: [0031]:1234 (/tmp/a.img), offset 512, sizelimit 1024\n')
})

t.test('thin-metadata-size through the bin: the tool\'s bytes and exit codes (thin_metadata_size 0.9.0 on the host)', async (t) => {
  const main = resolve(__dirname, '..', '..', 'ts', 'cli', 'main.js')
  for (const args of [['-b', '2m', '-s', '100G', '-m', '100000', '-u', 'M'], ['-b', '128', '-s', '2097152', '-m', '1', '-n'], ['-b', '64k', '-s', '1t', '-m', '10', '-nlong', '-u', 'g'], ['-b', '3', '-s', '1G', '-m', '1'], ['-q']]) {
    const ours = spawnSync(process.execPath, [main, 'thin-metadata-size', ...args], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } })
    const tool = spawnSync('thin_metadata_size', args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } })
    t.same({ stdout: ours.stdout, stderr: ours.stderr, status: ours.status }, { stdout: tool.stdout, stderr: tool.stderr, status: tool.status }, args.join(' '))
  }
})

t.test('volume ls layout', async (t) => {
  const v = { name: 'a', deviceId: 1, size: 67108864, fs: 'ext4' as const, active: true, createdAt: '', usedBytes: 0, mountpoint: '/mnt/a' }
  t.equal(
    volumeTable([v, { ...v, name: 'a-snap', deviceId: 12, parent: 'a', active: false, mountpoint: undefined }]),
    'NAME    ID  SIZE      FS    ACTIVE  PARENT  MOUNTPOINT\n' +
      'a       1   67108864  ext4  yes     -       /mnt/a\n' +
      'a-snap  12  67108864  ext4  no      a       -\n',
  )
  t.equal(volumeTable([]), 'NAME  ID  SIZE  FS  ACTIVE  PARENT  MOUNTPOINT\n')
})
