// Sector counts are u64s to the kernel (a zero or error target may be 2^54 sectors): start and length are never
// rounded. Numbers by default (ERANGE past 2^53, naming the device and the target), bigints with { bigint: true };
// tables take bigints in and print them exactly. Properties over every u64 through format -> parse and through
// the reply decoder; the facade on the fake control. The kernel side: test/kernel/sectors.test.ts.
import fc from 'fast-check'
import { t } from 'tap'
import { DeviceMapper, DmError, formatTable, parseTable, parseTypedTable } from '../../ts'
import { decodeReply } from '../../ts/core/abi'
import { fromKernel, toRawTargets } from '../../ts/core/table'
import { error, linear, striped, zero } from '../../ts/targets'
import { FakeControl } from '../fakes/control'

const SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const U64 = 2n ** 64n - 1n
const HUGE = 2n ** 54n + 1n // 18014398509481985
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: U64 }), fc.bigInt({ min: SAFE - 4n, max: SAFE + 4n }), fc.bigInt({ min: 0n, max: 4096n }))
/** the default reading of an exact u64: a number when it is one, else ERANGE */
const asNumber = (n: bigint): number | 'ERANGE' => (n <= SAFE ? Number(n) : 'ERANGE')
const code = (f: () => unknown): string | undefined => {
  try {
    f()
    return undefined
  } catch (e) {
    if (!(e instanceof DmError)) throw e
    return e.code
  }
}

t.test('a 2^54+1-sector zero table: exact as bigint, ERANGE (not rounded) as number', async (t) => {
  const text = `0 ${HUGE} zero`
  t.same(parseTable(text, { bigint: true }), [{ start: 0n, length: HUGE, type: 'zero', params: '' }])
  t.same(parseTypedTable(text, { bigint: true }), [{ start: 0n, length: HUGE, type: 'zero' }])
  t.throws(() => parseTable(text), { name: 'DmError', code: 'ERANGE', field: 'table[0].length', message: /18014398509481985/ })
  t.throws(() => parseTypedTable(text), { code: 'ERANGE', field: 'table[0].length' })
  // the small case stays plain numbers, and bigint mode gives bigints throughout
  t.same(parseTable('0 8 zero'), [{ start: 0, length: 8, type: 'zero', params: '' }])
  t.same(parseTable('0 8 zero', { bigint: true }), [{ start: 0n, length: 8n, type: 'zero', params: '' }])
  t.equal(formatTable(parseTable(text, { bigint: true })), text)
  t.equal(formatTable(parseTypedTable(`0 8 error\n8 ${HUGE} zero`, { bigint: true })), `0 8 error\n8 ${HUGE} zero`)
  // the largest u64 is a valid sector count; one past it is not
  t.same(parseTable(`0 ${U64} error`, { bigint: true })[0].length, U64)
  t.throws(() => parseTable(`0 ${U64 + 1n} error`, { bigint: true }), { code: 'EINVAL', field: 'table line 1 length' })
  t.throws(() => parseTable('0 8 zero', null as never), { code: 'EINVAL', field: 'options' })
})

t.test('builders take bigint start and length and emit them exactly; the table must end within a u64', async (t) => {
  t.equal(formatTable([zero(HUGE)]), `0 ${HUGE} zero`)
  t.equal(formatTable([error(8), zero(HUGE)]), `0 8 error\n8 ${HUGE} zero`)
  t.equal(formatTable([{ start: 0n, length: HUGE, type: 'zero' }]), `0 ${HUGE} zero`)
  t.equal(formatTable([zero(8n), { start: 8n, length: HUGE, type: 'error' }]), `0 8 zero\n8 ${HUGE} error`)
  t.equal(formatTable([linear(HUGE, '7:0')]), `0 ${HUGE} linear 7:0 0`)
  t.equal(formatTable([striped(2n ** 60n, 8, [{ device: '7:0', offset: 0 }, { device: '7:1', offset: 0 }])]), `0 ${2n ** 60n} striped 2 8 7:0 0 7:1 0`)
  t.throws(() => formatTable([striped(2n ** 60n + 1n, 8, [{ device: '7:0', offset: 0 }, { device: '7:1', offset: 0 }])]), { code: 'EINVAL', field: 'table[0].length' })
  // sector offsets (sector_t) too: exact as bigints; read back, a field past 2^53 keeps the line raw and exact
  const far = 2n ** 60n + 3n
  t.equal(formatTable([linear(8, '7:0', far)]), `0 8 linear 7:0 ${far}`)
  t.equal(formatTable([striped(16, 8, [{ device: '7:0', offset: far }, { device: '7:1' }])]), `0 16 striped 2 8 7:0 ${far} 7:1 0`)
  t.equal(formatTable([{ length: 8, type: 'delay', device: '7:0', offset: far, delay: 5 }]), `0 8 delay 7:0 ${far} 5`)
  t.equal(formatTable([{ length: 8, type: 'flakey', device: '7:0', offset: far, upInterval: 1, downInterval: 0 }]), `0 8 flakey 7:0 ${far} 1 0 0`)
  t.equal(formatTable([{ length: 8, type: 'crypt', cipher: 'aes-xts-plain64', key: '-', ivOffset: far, device: '7:0', offset: far }]), `0 8 crypt aes-xts-plain64 - ${far} 7:0 ${far}`)
  t.equal(formatTable(parseTypedTable(`0 8 linear 7:0 ${far}`)), `0 8 linear 7:0 ${far}`)
  t.throws(() => formatTable([linear(8, '7:0', 2n ** 64n)]), { code: 'EINVAL', field: 'table[0].offset' })
  // limits, each naming its field
  t.throws(() => toRawTargets([zero(0n)], 'load', 'x'), { code: 'EINVAL', field: 'table[0].length' })
  t.throws(() => toRawTargets([zero(U64 + 1n)], 'load', 'x'), { code: 'EINVAL', field: 'table[0].length' })
  t.throws(() => toRawTargets([zero(-1n)], 'load', 'x'), { code: 'EINVAL', field: 'table[0].length' })
  t.throws(() => toRawTargets([zero(U64), zero(1)], 'load', 'x'), { code: 'EINVAL', field: 'table[1].length', message: /past 2\^64 - 1/ })
  t.throws(() => toRawTargets([zero(HUGE), { start: HUGE - 1n, length: 8, type: 'zero' }], 'load', 'x'), { code: 'EINVAL', field: 'table[1].start', message: /must be 18014398509481985/ })
  t.throws(() => toRawTargets([{ length: 2 ** 60, type: 'zero' }], 'load', 'x'), { code: 'EINVAL', field: 'table[0].length' }, 'an unsafe number is refused')
  // what goes to the native layer is exact: a number up to 2^53, a bigint past it
  t.same(toRawTargets([zero(8n), zero(HUGE)], 'load', 'x').map((r) => [r.start, r.length]), [[0, 8], [8, HUGE]])
})

t.test('property: any u64 start and length survive format -> parse exactly', async (t) => {
  fc.assert(
    fc.property(u64.filter((a) => a >= 1n), u64.filter((b) => b >= 1n), (a, b) => {
      fc.pre(a + b <= U64)
      const text = `0 ${a} zero\n${a} ${b} error`
      const table = [zero(a), error(b)]
      if (formatTable(table) !== text) return false
      const big = parseTable(text, { bigint: true })
      if (big[0].length !== a || big[1].start !== a || big[1].length !== b) return false
      if (formatTable(parseTypedTable(text, { bigint: true })) !== text) return false
      const want = [asNumber(0n), asNumber(a), asNumber(a), asNumber(b)]
      if (want.includes('ERANGE')) return code(() => parseTable(text)) === 'ERANGE'
      const num = parseTable(text)
      return num[0].length === want[1] && num[1].start === want[2] && num[1].length === want[3]
    }),
    { numRuns: 2000 },
  )
})

/** A TABLE_STATUS reply with one dm_target_spec per target. */
function tableReply(targets: { start: bigint; length: bigint; type: string; params: string }[]): Buffer {
  const specs = targets.map((x, i) => {
    const s = Buffer.alloc((40 + Buffer.byteLength(x.params) + 1 + 7) & ~7)
    s.writeBigUInt64LE(x.start, 0)
    s.writeBigUInt64LE(x.length, 8)
    s.write(x.type, 24)
    s.write(x.params, 40)
    return { s, last: i === targets.length - 1 }
  })
  let off = 0
  for (const { s } of specs) s.writeUInt32LE((off += s.length), 20)
  const payload = Buffer.concat(specs.map((x) => x.s))
  const b = Buffer.alloc(312 + payload.length)
  b.writeUInt32LE(4, 0)
  b.writeUInt32LE(47, 4)
  b.writeUInt32LE(b.length, 12)
  b.writeUInt32LE(312, 16)
  b.writeUInt32LE(targets.length, 20)
  b.write('dev', 48)
  payload.copy(b, 312)
  return b
}

t.test('property: any u64 from the kernel reply decodes exactly, and reads exactly or ERANGE', async (t) => {
  fc.assert(
    fc.property(u64, u64, fc.constantFrom('zero', 'linear', 'thin-pool', 'no-such'), fc.constantFrom('table', 'status') as fc.Arbitrary<'table' | 'status'>, (start, length, type, kind) => {
      const [d] = decodeReply('targets', tableReply([{ start, length, type, params: '7:0 0' }])).targets!
      // the decoder: a number when exact, else the bigint
      if (BigInt(d.start) !== start || BigInt(d.length) !== length) return false
      if ((typeof d.length === 'number') !== length <= SAFE) return false
      const big = fromKernel(d, kind, true, kind, 'dev', 3)
      if (big.start !== start || big.length !== length) return false
      if (start > SAFE || length > SAFE) {
        try {
          fromKernel(d, kind, false, kind, 'dev', 3)
          return false
        } catch (e) {
          return e instanceof DmError && e.code === 'ERANGE' && e.device === 'dev' && /^table\[3\]\.(start|length)$/.test(e.field ?? '')
        }
      }
      const num = fromKernel(d, kind, false, kind, 'dev', 3)
      return num.start === Number(start) && num.length === Number(length)
    }),
    { numRuns: 2000 },
  )
})

t.test('the facade: table/status/tableAll/statusAll of a 2^54+1-sector device (fake control)', async (t) => {
  const fake = new FakeControl()
  const dm = new DeviceMapper({ control: fake.asControl(), udev: 'none' })
  await dm.create('small', [zero(8)])
  await dm.create('huge', `0 8 error\n8 ${HUGE} zero`)
  t.same(fake.devices.get('huge')!.table.map((x) => [x.start, x.length]), [[0, 8], [8, HUGE]], 'sent exactly')
  const exact = [
    { start: 0n, length: 8n, type: 'error', params: '' },
    { start: 8n, length: HUGE, type: 'zero', params: '' },
  ]
  t.same(await dm.table('huge', { bigint: true }), exact)
  t.same(dm.tableSync('huge', { bigint: true }), exact)
  t.same(await dm.status('huge', { bigint: true }), exact)
  t.same(dm.statusSync('huge', { bigint: true }), exact)
  t.same((await dm.tableAll({ bigint: true })).get('huge'), exact)
  t.same(dm.statusAllSync({ bigint: true }).get('huge'), exact)
  t.same((await dm.statusAll({ bigint: true })).get('small'), [{ start: 0n, length: 8n, type: 'zero', params: '' }])
  const erange = { name: 'DmError', code: 'ERANGE', device: 'huge', field: 'table[1].length', message: /table\[1\]\.length is 18014398509481985 sectors.*\{ bigint: true \}/ }
  await t.rejects(dm.table('huge'), erange)
  t.throws(() => dm.tableSync('huge'), erange)
  await t.rejects(dm.status('huge'), erange)
  t.throws(() => dm.statusSync('huge'), erange)
  await t.rejects(dm.tableAll(), { code: 'ERANGE', device: 'huge' })
  t.throws(() => dm.statusAllSync(), { code: 'ERANGE', device: 'huge' })
  // ordinary devices read as plain numbers, as before
  t.same(await dm.table('small'), [{ start: 0, length: 8, type: 'zero', params: '' }])
  t.throws(() => dm.tableAllSync(null as never), { code: 'EINVAL', field: 'options' })
  // the types follow the option: number by default, bigint with { bigint: true }; typed fields still narrow
  const asNum: number = (await dm.table('small'))[0].length
  const asBig: bigint = dm.tableSync('huge', { bigint: true })[1].length
  const statusBig: bigint | undefined = (await dm.statusAll({ bigint: true, noFlush: true })).get('huge')?.[0].start
  t.same([asNum, asBig, statusBig], [8, HUGE, 0n])
  await dm.create('lin', [linear(HUGE, '7:0', 2048)])
  const [lt] = await dm.table('lin', { bigint: true })
  if (lt.type === 'linear') t.same([lt.device, lt.offset, lt.length], ['7:0', 2048, HUGE], 'typed fields next to bigint sectors')
  else t.fail('not narrowed to linear')
  // a reload keeps the exact size (what the CLI's remove -f does)
  const size = dm.tableSync('huge', { bigint: true }).reduce((n, x) => n + x.length, 0n)
  await dm.load('huge', [error(size)])
  t.same(fake.devices.get('huge')!.table.map((x) => x.length), [HUGE + 8n])
})
