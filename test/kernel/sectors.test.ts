// Sector counts past 2^53 against the kernel: a zero device of 2^54 - 1 sectors (the largest this kernel takes:
// dm-table refuses a table ending past LLONG_MAX >> 9 as "too large device", so 2^54 + 1 is refused, and cleanly)
// and a two-target table whose second start is past 2^53. dm.table()/status() (bigint reads exact, number reads ERANGE, never rounded),
// tableAll/statusAll, a device dmsetup made, and the CLI's table/status/--concise/--json/remove -f, each checked
// against dmsetup byte for byte.
import { t } from 'tap'
import { formatTable } from '../../ts'
import { error, zero } from '../../ts/targets'
import { devmapper, ok, removeBinDir, same } from './cli-helpers'
import { dm, dmsetup, name, sweep } from './helpers'

t.setTimeout(100_000)
t.teardown(() => {
  sweep()
  removeBinDir()
})

const HUGE = 2n ** 54n - 1n // 18014398509481983 sectors: the largest table the kernel takes (end <= LLONG_MAX >> 9)
const PAST = 2n ** 53n + 1n // the second target's start: past 2^53
const THEIRS = HUGE - 8n // after an 8-sector target, to end at the limit
const huge = name('huge')
const two = name('two')
const theirs = name('theirs')

/** dmsetup's table/status text for one device: `<start> <length> <type> <params>` (a space even with no params). */
const lines = (targets: { start: bigint; length: bigint; type: string; params: string }[]): string =>
  targets.map((x) => `${x.start} ${x.length} ${x.type} ${x.params}\n`).join('')

t.test('create: a string table and builder objects with bigint sizes go to the kernel exactly', async (t) => {
  await dm.create(huge, `0 ${HUGE} zero`)
  await dm.create(two, [zero(PAST), error(8n)])
  dmsetup('create', theirs, '--table', `0 8 error\n8 ${THEIRS} zero`)
  t.equal(dmsetup('table', huge), `0 ${HUGE} zero \n`)
  t.equal(dmsetup('table', two), `0 ${PAST} zero \n${PAST} 8 error \n`)
})

t.test('2^54 + 1 sectors: the kernel refuses it ("too large device"), and nothing is left behind', async (t) => {
  const big = name('toolarge')
  await t.rejects(dm.create(big, `0 ${2n ** 54n + 1n} zero`), { name: 'DmError', code: 'EINVAL', message: /too large device|Invalid argument/ })
  t.equal(dm.listSync().filter((d) => d.name === big).length, 0)
  t.throws(() => dmsetup('create', name('toolarge2'), '--table', `0 ${2n ** 54n + 1n} zero`), /Invalid argument/, 'dmsetup is refused too')
})

t.test('table() and status(): bigint reads are exact and match dmsetup; number reads are ERANGE', async (t) => {
  for (const [dev, want] of [
    [huge, [{ start: 0n, length: HUGE, type: 'zero', params: '' }]],
    [two, [{ start: 0n, length: PAST, type: 'zero', params: '' }, { start: PAST, length: 8n, type: 'error', params: '' }]],
    [theirs, [{ start: 0n, length: 8n, type: 'error', params: '' }, { start: 8n, length: THEIRS, type: 'zero', params: '' }]],
  ] as const) {
    const table = await dm.table(dev, { bigint: true })
    t.same(table, want, `${dev} table`)
    t.equal(lines(table), dmsetup('table', dev), `${dev}: table() is what dmsetup table prints`)
    t.equal(formatTable(table), dmsetup('table', dev).replace(/ \n/g, '\n').trimEnd(), `${dev}: formatTable`)
    t.same(dm.tableSync(dev, { bigint: true }), want)
    const status = await dm.status(dev, { bigint: true })
    t.equal(lines(status), dmsetup('status', dev), `${dev}: status() is what dmsetup status prints`)
    t.same(dm.statusSync(dev, { bigint: true }), status)
    // the first value past 2^53, named: huge's and two's first length, theirs' second
    const erange = { name: 'DmError', code: 'ERANGE', device: dev, field: dev === theirs ? 'table[1].length' : 'table[0].length' }
    await t.rejects(dm.table(dev), erange, `${dev}: table() as numbers is ERANGE`)
    t.throws(() => dm.statusSync(dev), erange)
  }
  // all devices at once
  const tables = await dm.tableAll({ bigint: true })
  const statuses = dm.statusAllSync({ bigint: true, noFlush: true })
  for (const dev of [huge, two, theirs]) {
    t.equal(lines(tables.get(dev)!), dmsetup('table', dev), `tableAll: ${dev}`)
    t.equal(lines(statuses.get(dev)!), dmsetup('status', dev), `statusAll: ${dev}`)
  }
  t.throws(() => dm.tableAllSync(), { code: 'ERANGE' })
})

t.test('the CLI prints what dmsetup prints', async (t) => {
  for (const args of [
    ['table', huge], ['status', huge], ['table', two], ['status', two], ['table', theirs], ['status', theirs],
    ['table', huge, two, theirs], ['status', huge, two, theirs], ['table', '--concise', huge, two, theirs], ['table'], ['status'],
    ['ls', '--target', 'zero'],
  ]) {
    same(t, args)
  }
  const json = JSON.parse(ok(t, 'table', '--json', huge).replace(/(\d{16,})/g, '"$1"')) as { targets: { length: string }[] }
  t.equal(json.targets[0].length, String(HUGE), '--json prints the exact length')
})

t.test('remove -f reloads an error table of the exact size first', async (t) => {
  ok(t, 'remove', '-f', theirs)
  t.equal(dm.listSync().filter((d) => d.name === theirs).length, 0)
  t.match(devmapper('table', huge).stdout, `0 ${HUGE} zero \n`)
})
