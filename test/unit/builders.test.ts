// Host-only: the builder functions of verity, mirror, raid and snapshot-merge give the kernel's table text,
// and each round-trips exactly: formatTable(parseTypedTable(x)) === x, with the typed fields read back equal to
// what was built.
import { t } from 'tap'
import { DmError, formatTable, mirror, parseTypedTable, raid, snapshotMerge, verity, type TargetInput } from '../../ts'

const digest = 'ab'.repeat(32)

const cases: [string, TargetInput, string][] = [
  ['verity, defaults', verity(64, '7:0', '7:1', digest), `0 64 verity 1 7:0 7:1 4096 4096 8 0 sha256 ${digest} -`],
  ['verity, every option', verity(64, '/dev/loop0', { major: 7, minor: 1 }, digest, {
    version: 0, dataBlockSize: 512, hashBlockSize: 1024, dataBlocks: 60, hashStartBlock: 1, algorithm: 'sha1', salt: 'cd'.repeat(4),
    options: ['ignore_zero_blocks', 'check_at_most_once'],
  }), `0 64 verity 0 /dev/loop0 7:1 512 1024 60 1 sha1 ${digest} ${'cd'.repeat(4)} 2 ignore_zero_blocks check_at_most_once`],
  ['mirror, core log', mirror(8192, [{ device: '7:0' }, { device: '7:1', offset: 16 }]), '0 8192 mirror core 1 1024 2 7:0 0 7:1 16'],
  ['mirror, disk log and features', mirror(8192, [{ device: '7:0' }, { device: '7:1' }], {
    log: { type: 'disk', device: '7:4', regionSize: 512, sync: 'nosync' }, features: ['handle_errors', 'keep_log'],
  }), '0 8192 mirror disk 3 7:4 512 nosync 2 7:0 0 7:1 0 2 handle_errors keep_log'],
  ['raid1', raid(8192, 'raid1', [{ metadata: '7:2', data: '7:0' }, { metadata: null, data: '7:1' }], { options: ['region_size', '1024'] }),
    '0 8192 raid raid1 3 0 region_size 1024 2 7:2 7:0 - 7:1'],
  ['raid5 default chunk', raid(16384, 'raid5_ls', [{ metadata: null, data: '7:0' }, { metadata: null, data: '7:1' }, { metadata: null, data: '7:2' }]),
    '0 16384 raid raid5_ls 1 128 3 - 7:0 - 7:1 - 7:2'],
  ['snapshot-merge', snapshotMerge(2048, '7:0', '7:1'), '0 2048 snapshot-merge 7:0 7:1 P 16'],
  ['snapshot-merge, PO with features', snapshotMerge(2048, '7:0', '7:1', { persistent: 'PO', chunkSize: 0, features: ['discard_zeroes_cow'] }),
    '0 2048 snapshot-merge 7:0 7:1 PO 0 1 discard_zeroes_cow'],
]

t.test('each builder gives the kernel\'s line and round-trips through the text form', async (t) => {
  for (const [what, built, line] of cases) {
    t.equal(formatTable([built]), line, `${what}: built`)
    const parsed = parseTypedTable(line)
    t.equal(formatTable(parsed), line, `${what}: formatTable(parseTypedTable(x)) === x`)
    t.notOk('params' in parsed[0], `${what}: read back as typed fields only`)
    const devices = (v: unknown): unknown => {
      const d = v as { major?: number; minor?: number }
      return d && typeof d === 'object' && d.major !== undefined ? `${d.major}:${d.minor}` : v
    }
    const expected = Object.fromEntries(Object.entries({ start: 0, ...built }).map(([k, v]) => [k, devices(v)]))
    t.same(parsed[0], expected, `${what}: the typed fields read back are the ones built`)
  }
})

t.test('builders leave checking to the table mechanism, which names the field', async (t) => {
  const bad: [TargetInput, string][] = [
    [verity(64, '7:0', '7:1', 'xyz'), 'table[0].rootDigest'],
    [verity(64, '7:0', '7:1', digest, { dataBlockSize: 1000 }), 'table[0].dataBlockSize'],
    [mirror(8, []), 'table[0].mirrors'],
    [raid(8, 'raid1', []), 'table[0].devices'],
    [snapshotMerge(8, '7:0', '7:1', { persistent: 'N' as 'P' }), 'table[0].persistent'],
  ]
  for (const [target, field] of bad) {
    let err: unknown
    try {
      formatTable([target])
    } catch (e) {
      err = e
    }
    t.ok(err instanceof DmError, `${field}: a DmError`)
    t.match(err, { code: 'EINVAL', field }, field)
  }
})
