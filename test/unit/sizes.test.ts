// Size strings as Docker reads them (go-units RAMInBytes): go-units' own table, then properties over generated
// inputs (fast-check), then junk, which must be a DmError EINVAL naming the field and nothing else.
import fc from 'fast-check'
import { t } from 'tap'
import { DmError, parseSize } from '../../ts'

const KiB = 1024
const MiB = KiB * 1024
const GiB = MiB * 1024
const TiB = GiB * 1024
const PiB = TiB * 1024
const MULT: Record<string, number> = { '': 1, b: 1, k: KiB, m: MiB, g: GiB, t: TiB, p: PiB }

t.test("go-units' RAMInBytes table", async (t) => {
  const table: [string, number][] = [
    ['32', 32], ['32b', 32], ['32B', 32], ['32k', 32 * KiB], ['32K', 32 * KiB], ['32kb', 32 * KiB], ['32Kb', 32 * KiB],
    ['32Kib', 32 * KiB], ['32KIB', 32 * KiB], ['32Mb', 32 * MiB], ['32Gb', 32 * GiB], ['32Tb', 32 * TiB],
    ['7Pb', 7 * PiB], ['7PB', 7 * PiB], ['7P', 7 * PiB], ['32.3', 32], ['32.3 mb', Math.trunc(32.3 * MiB)],
    ['0.3MB', Math.trunc(0.3 * MiB)],
  ]
  for (const [s, want] of table) t.equal(parseSize(s, 'size'), want, s)
  // go-units has 32Pb etc.: 32 PiB is over Number.MAX_SAFE_INTEGER, refused here (see sizes.ts).
  for (const s of ['', 'hello', '-32', ' 32 ', '32m b', '32bm', '32Pb', '32PB', '32P']) t.throws(() => parseSize(s, 'size'), { code: 'EINVAL', field: 'size' }, `'${s}'`)
})

t.test("the contract's spellings of 10 GiB, and the other forms Docker takes", async (t) => {
  for (const s of ['10G', '10g', '10GB', '10GiB', '10gib', '10 G', '10 GiB', '10737418240', '10737418240b', '10240M']) {
    t.equal(parseSize(s, 'f'), 10 * GiB, s)
  }
  const more: [string, number][] = [
    ['1.5k', 1536], ['0.5', 0], ['1.7', 1], ['1e3', 1000], ['1e3k', 1000 * KiB], ['.5k', 512], ['1.1k', 1126], ['+5', 5],
    ['-0', 0], ['10 ', 10], ['0', 0], ['64K', 65536], ['2m', 2 * MiB], ['100G', 100 * GiB], ['7P', 7 * PiB],
  ]
  for (const [s, want] of more) t.equal(parseSize(s, 'f'), want, s)
  for (const n of [0, 1, 512, 2 ** 53 - 1]) t.equal(parseSize(n, 'f'), n, `number ${n}`)
})

t.test('junk is a DmError EINVAL naming the field', async (t) => {
  const junk: unknown[] = [
    '', ' ', 'G', 'GiB', '10x', '10KI', '10kibb', '10bb', '10 bb', '-1', '-1k', 'Inf', 'NaN', 'Infinity', '0x10',
    '0x1p4', '1_000', ' 10', '10  G', '10EiB', '10E', '1e400', '9P', '10\tG', '1.2.3', '10Mi', '10KiB ', 'k10', '.',
    -1, 1.5, NaN, Infinity, 2 ** 53, 10n, null, undefined, {}, [], true,
  ]
  for (const v of junk) {
    t.throws(() => parseSize(v, 'loopDataSize', 'VolumeManager.open'),
      { name: 'DmError', code: 'EINVAL', errno: 22, field: 'loopDataSize', operation: 'VolumeManager.open' }, String(v))
  }
})

// true when fn throws a DmError EINVAL naming field 'f', false when it returns; any other exception escapes
function refused(fn: () => unknown): boolean {
  try {
    fn()
    return false
  } catch (err) {
    if (err instanceof DmError && err.code === 'EINVAL' && err.field === 'f') return true
    throw err
  }
}

t.test('properties (fast-check)', async (t) => {
  const unit = fc.tuple(fc.constantFrom('', 'b', 'k', 'm', 'g', 't', 'p'), fc.constantFrom('', 'b', 'ib'), fc.boolean(), fc.boolean())
    .filter(([u, tail]) => u !== 'b' && u !== '' ? true : tail === '')
    .map(([u, tail, upper, space]) => ({ u, text: (space && u ? ' ' : '') + (upper ? (u + tail).toUpperCase() : u + tail) }))
  let checked = 0
  fc.assert(fc.property(fc.nat({ max: 2 ** 20 }), unit, (n, { u, text }) => {
    checked++
    const want = n * MULT[u]
    if (Number.isSafeInteger(want)) return parseSize(`${n}${text}`, 'f') === want
    return refused(() => parseSize(`${n}${text}`, 'f'))
  }), { numRuns: 2000 })
  fc.assert(fc.property(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 999 }), fc.constantFrom('k', 'm', 'g', 't'), (i, f, u) => {
    const s = `${i}.${String(f).padStart(3, '0')}${u}`
    return parseSize(s, 'f') === Math.trunc(Number(`${i}.${String(f).padStart(3, '0')}`) * MULT[u])
  }), { numRuns: 1000 })
  fc.assert(fc.property(fc.maxSafeNat(), (n) => parseSize(n, 'f') === n))
  // Anything at all: a safe whole number of bytes, or a DmError naming the field; never another exception.
  fc.assert(fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9. +\-eEkKmMgGtTpPiIbB]{0,8}$/), fc.anything()), (v) => {
    let n = -1
    return refused(() => (n = parseSize(v, 'f'))) || (Number.isSafeInteger(n) && n >= 0)
  }), { numRuns: 3000 })
  t.equal(checked, 2000)
})
