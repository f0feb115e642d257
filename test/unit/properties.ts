// fast-check properties over every parser and builder, the reply decoding and the name rules. Shared by
// properties.test.ts (a fixed number of runs, every time) and fuzz.test.ts (as many runs as a time budget allows).
import fc from 'fast-check'
import { DmError, formatTable, parseTable, parseTypedTable, targetType } from '../../ts'
import { toInfo, toList } from '../../ts/core/decode'
import type { NativeReply } from '../../ts/core/native'
import { fromKernel, toRawTargets } from '../../ts/core/table'
import { checkNewName, mangleName } from '../../ts/core/validate'
import { Gen, genTarget, rng } from './targets-gen'

export const STOCK = ['linear', 'striped', 'zero', 'error', 'snapshot-origin', 'snapshot', 'snapshot-merge', 'thin-pool', 'thin',
  'flakey', 'delay', 'crypt', 'cache', 'verity', 'mirror', 'raid'] as const

const WORDS = ['0', '1', '2', '3', '5', '8', '-', '/', '1/2', '0/0', '7:0', '253:1', 'Fail', 'Error', 'rw', 'ro', 'P', 'N', 'PO', 'V',
  'C', 'core', 'disk', 'sync', 'nosync', 'corrupt_bio_byte', 'r', 'w', 'needs_check', 'Invalid', 'Overflow', 'Merge', 'failed',
  'smq', 'metadata2', 'writeback', 'A', 'D', 'a', 'idle', 'out_of_data_space', 'discard_passdown', 'queue_if_no_space',
  'error_if_no_space', 'region_size', 'handle_errors', 'drop_writes', 'error_reads', 'raid1', 'sha256', '__proto__', 'constructor']

/** One kernel-ish token: known words, numbers of every size (past 2^53 and 2^64), and junk. */
export const token: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String) },
  { weight: 2, arbitrary: fc.nat(4096).map(String) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 66n })).map(([a, b]) => `${a}/${b}`) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !/[\s\0]/.test(s)) },
)

/** A status or table line: tokens joined by single spaces (what the kernel prints). */
export const line: fc.Arbitrary<string> = fc.array(token, { maxLength: 16 }).map((ws) => ws.join(' '))

/** Any text at all, whitespace and control characters included. */
export const text: fc.Arbitrary<string> = fc.oneof(line, fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }))

// Lines in the shapes the kernel prints (6.1), whose numbers the fuzzer replaces with numbers of every size.
const STATUS_LINES: [string, string][] = [
  ['thin-pool', '0 213/2048 0/1024 - rw discard_passdown queue_if_no_space - 512'],
  ['thin-pool', '7 300/2048 1024/1024 1234 out_of_data_space ignore_discard error_if_no_space needs_check'],
  ['thin', '1048576 2097151'], ['thin', '0 -'], ['snapshot', '32/131072 32'], ['snapshot-merge', '32/131072 32'],
  ['striped', '2 7:0 7:1 1 AD'], ['delay', '0 3 1'], ['mirror', '2 7:0 7:1 8/8 1 AA 3 disk 7:4 A'],
  ['cache', '8 9/2048 512 0/256 1 2 3 4 5 6 7 2 metadata2 writeback 2 migration_threshold 4096 smq 0 rw -'],
  ['raid', 'raid1 2 AA 8192/8192 idle 0 0 -'],
]

const bigNumber: fc.Arbitrary<string> = fc.oneof(fc.nat(1024), fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n }), fc.bigInt({ min: 0n, max: 2n ** 70n })).map(String)

/** Replaces some of the line's numbers (and the parts of a/b ratios) with numbers of every size. */
function withNumbers(base: string): fc.Arbitrary<string> {
  const slots = base.match(/\d+/g)?.length ?? 0
  return fc.array(fc.option(bigNumber, { nil: undefined, freq: 2 }), { minLength: slots, maxLength: slots }).map((ns) => {
    let i = 0
    return base.replace(/\d+/g, (d) => ns[i++] ?? d)
  })
}

/** [type, line] pairs: kernel-shaped status lines and built table lines, with their numbers varied. */
export const shaped: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.constantFrom(...STATUS_LINES).chain(([type, l]) => withNumbers(l).map((x): [string, string] => [type, x])),
  fc.integer().chain((seed) => {
    const target = genTarget(new Gen(rng(seed)))
    const l = formatTable([target as never], { showKeys: true }).split(' ').slice(3).join(' ')
    return withNumbers(l).map((x): [string, string] => [target.type, x])
  }),
)

/** True if every number in the value is a safe integer: nothing was rounded on the way in. */
export function exactNumbers(v: unknown): boolean {
  if (typeof v === 'number') return Number.isSafeInteger(v)
  if (Array.isArray(v)) return v.every(exactNumbers)
  if (v !== null && typeof v === 'object') return Object.values(v).every(exactNumbers)
  return true
}

const onlyDmError = (f: () => unknown): boolean => {
  try {
    f()
  } catch (err) {
    if (!(err instanceof DmError)) throw err
  }
  return true
}

export interface Property {
  name: string
  property: fc.IPropertyWithHooks<never> | fc.IProperty<never>
}

const prop = <T extends unknown[]>(name: string, arbs: { [K in keyof T]: fc.Arbitrary<T[K]> }, check: (...args: T) => boolean | void): Property => ({
  name,
  property: fc.property(...(arbs as unknown as [fc.Arbitrary<unknown>]), check as (...a: unknown[]) => boolean) as never,
})

export const properties: Property[] = [
  prop('table and status parsers never throw and never round a number', [fc.constantFrom(...STOCK), text], (type, s) => {
    const def = targetType(type)!
    const parsed = [def.parseParams!(s), def.parseStatus!(s)]
    def.redact?.(s)
    return parsed.every((p) => p !== null && typeof p === 'object' && exactNumbers(p))
  }),
  prop('kernel-shaped lines with numbers of any size parse without rounding', [shaped], ([type, l]) => {
    const def = targetType(type)
    if (!def) return true
    return [def.parseParams!(l), def.parseStatus!(l)].every(exactNumbers)
  }),
  prop('a table line parses to typed fields that format back to the same line', [fc.constantFrom(...STOCK), fc.nat(), fc.integer({ min: 1, max: 2 ** 40 }), line], (type, start, length, params) => {
    const l = `${start === 0 ? 0 : 0} ${length} ${type}${params ? ` ${params}` : ''}`
    let back: ReturnType<typeof parseTypedTable>
    try {
      back = parseTypedTable(l)
    } catch (err) {
      if (err instanceof DmError) return true
      throw err
    }
    return formatTable(back, { showKeys: true }) === l && exactNumbers(back.map(({ start: _s, length: _l, ...f }) => f))
  }),
  prop('generated typed tables round-trip through text exactly', [fc.integer()], (seed) => {
    const g = new Gen(rng(seed))
    const table = Array.from({ length: g.int(1, 4) }, () => genTarget(g))
    const text1 = formatTable(table as never, { showKeys: true })
    return formatTable(parseTypedTable(text1), { showKeys: true }) === text1
  }),
  prop('builders given any fields either build or throw a DmError naming a field', [fc.constantFrom(...STOCK), fc.dictionary(fc.constantFrom(
    'device', 'offset', 'chunkSize', 'stripes', 'origin', 'cow', 'persistent', 'features', 'metadataDevice', 'dataDevice', 'dataBlockSize',
    'lowWaterMark', 'pool', 'deviceId', 'externalOrigin', 'upInterval', 'downInterval', 'delay', 'write', 'flush', 'cipher', 'key', 'ivOffset',
    'options', 'cacheDevice', 'originDevice', 'blockSize', 'policy', 'policyArgs', 'version', 'hashDevice', 'hashBlockSize', 'dataBlocks',
    'hashStartBlock', 'algorithm', 'rootDigest', 'salt', 'log', 'mirrors', 'raidType', 'devices', 'length', 'start'), fc.anything())], (type, fields) => {
    try {
      toRawTargets([{ length: 8, ...fields, type } as never], 'create', 'x')
    } catch (err) {
      if (!(err instanceof DmError)) throw err
      return err.code !== 'EINVAL' || typeof err.field === 'string'
    }
    return true
  }),
  prop('parseTable and parseTypedTable take anything and throw only DmError', [fc.oneof(text, fc.anything())], (input) =>
    onlyDmError(() => parseTable(input as string)) && onlyDmError(() => parseTypedTable(input as string)),
  ),
  prop('targets read from the kernel never throw', [fc.constantFrom(...STOCK, 'no-such'), text, fc.constantFrom('table', 'status') as fc.Arbitrary<'table' | 'status'>], (type, s, kind) => {
    const t = fromKernel({ start: 0, length: 8, type, params: s }, kind)
    return t.type === type && typeof t.params === 'string'
  }),
  prop('replies decode into info and listings without throwing', [fc.record({
    name: fc.string(), uuid: fc.string(), major: fc.nat(4095), minor: fc.nat(0xfffff), flags: fc.nat(), eventNr: fc.nat(), openCount: fc.nat(),
    targetCount: fc.nat(), nameBuffer: fc.option(fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a)), { nil: undefined }),
    devices: fc.array(fc.record({ name: fc.string(), major: fc.nat(4095), minor: fc.nat(0xfffff), uuid: fc.option(fc.string(), { nil: undefined }), eventNr: fc.option(fc.nat(), { nil: undefined }) })),
  })], (r) => {
    const info = toInfo(r as unknown as NativeReply)
    const list = toList(r as unknown as NativeReply)
    return info.name === r.name && list.length === r.devices.length && (r.nameBuffer ? info.path === `/dev/dm-${r.minor}` && info.nameBuffer === r.nameBuffer : info.path === `/dev/mapper/${r.name}`)
  }),
  prop("new names: 'reject' takes exactly libdm's whitelisted characters", [fc.string({ minLength: 1, maxLength: 20 })], (n) => {
    const ok = /^[A-Za-z0-9#+\-.:=@_]+$/.test(n) && !['.', '..', 'control'].includes(n)
    try {
      checkNewName(n, 'create', 'name', 'reject')
      return ok
    } catch (err) {
      if (!(err instanceof DmError)) throw err
      return !ok || Buffer.byteLength(n) > 127
    }
  }),
  prop("'hex' mangling is whitelisted characters and \\xNN only, and decodes back to the name's bytes", [fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !s.includes('\\x'))], (n) => {
    let m: string
    try {
      m = mangleName(n, 'create')
    } catch (err) {
      if (!(err instanceof DmError)) throw err
      return true // mixed forms are refused, as libdm does
    }
    if (!/^(?:[A-Za-z0-9#+\-.:=@_]|\\x[0-9a-f]{2})*$/.test(m)) return false
    const bytes = Buffer.from(m.replace(/\\x([0-9a-f]{2})|./gs, (c, h: string | undefined) => (h ? String.fromCharCode(parseInt(h, 16)) : c)), 'latin1')
    return bytes.equals(Buffer.from(n))
  }),
]

/** Runs every property; a counterexample is thrown with fast-check's shrunk value and seed. */
export function checkAll(params: fc.Parameters<never>, report: (name: string, details: fc.RunDetails<never>) => void): void {
  for (const { name, property } of properties) report(name, fc.check(property as fc.IProperty<never>, params))
}
