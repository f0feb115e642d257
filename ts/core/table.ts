// Tables: the typed/raw target objects users write, dmsetup's text form, and the conversion to what the kernel
// is sent. Typed targets (linear, thin-pool, ...) register a TargetType in ./targets; unknown types stay raw.
import { DmError, invalid, show } from './errors'
import { Flags } from './flags'
import type { NativeRequest, NativeTarget } from './native'
import { label } from './address'
import { checkOptions, checkParams, checkTargetType } from './validate'

/**
 * A sector position or count. The kernel's sector_t is a u64: a zero or error target may be 2^54 sectors long.
 * Input takes a number (a safe integer) or a bigint up to 2^64 - 1.
 */
export type Sectors = number | bigint

/**
 * Reading start and length: `number` by default, exact up to 2^53 (4 EiB of 512-byte sectors); a value past that
 * is not rounded but refused (DmError ERANGE naming the device, target and exact value). `{ bigint: true }`
 * gives every start and length as a bigint, exact for any u64 (as `fs.stat(path, { bigint: true })` does).
 */
export interface SectorsOptions {
  bigint?: boolean
}
/** `{ bigint: true }`: start and length as bigints. */
export type BigIntSectors = SectorsOptions & { bigint: true }
/** No `bigint` (or false): start and length as numbers. */
export type NumberSectors = SectorsOptions & { bigint?: false }

/**
 * A target as the kernel reports it: sectors, type, and its parameter string. `N` is `number` (the default
 * reading) or `bigint` (read with `{ bigint: true }`).
 */
export type RawTarget<N extends Sectors = number> = {
  start: N
  length: N
  type: string
  params: string
}

/**
 * A target as a caller writes it: either raw `params`, or the typed fields of a registered target type.
 * `start` may be omitted: it then follows on from the previous target (concatenation). `start` and `length` are
 * safe-integer numbers or bigints (up to 2^64 - 1, the table's end too), sent and printed exactly.
 */
export interface TargetInput {
  start?: Sectors
  length: Sectors
  type: string
  params?: string
  [field: string]: unknown
}

/** A table: target objects, or dmsetup's text form ("0 2097152 thin /dev/mapper/pool 0", one per line). */
export type TableInput = string | readonly TargetInput[]

/** One target type's table builder and parsers. */
export interface TargetType {
  type: string
  /**
   * The constructor's parameter string for a typed target; throws a DmError naming a bad field. `at` says
   * where the target sits (`table[2]`) and which device it is for, so the error names `table[2].chunkSize`.
   */
  build(target: TargetInput, operation: string, at?: { operation: string; field?: string; device?: string }): string
  /** typed fields read back from the kernel's table line; {} when the line does not parse */
  parseParams?(params: string): Record<string, unknown>
  /** typed fields of the kernel's status line */
  parseStatus?(params: string): Record<string, unknown>
  /**
   * For targets whose table line holds a secret (crypt keys): the params with the secret masked. Such tables
   * are loaded and read with DM_SECURE_DATA_FLAG, and their raw `params` are hidden from printing.
   */
  redact?(params: string): string
}

const registry = new Map<string, TargetType>()

export function registerTargetType(def: TargetType): void {
  registry.set(def.type, def)
}

export function targetType(type: string): TargetType | undefined {
  return registry.get(type)
}

const U64_MAX = 2n ** 64n - 1n

/** A u64 sector value as a number when it is a safe integer, else as a bigint: exact either way. */
function exact(n: bigint): Sectors {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
}

/** Checks a start or length given as a number (safe integer) or bigint (u64); returns it exactly. */
export function checkSectorValue(n: unknown, operation: string, field: string, device = '', min = 0): Sectors {
  if (typeof n === 'bigint') {
    if (n < BigInt(min) || n > U64_MAX) throw invalid(operation, field, `must be a bigint in ${min}..2^64-1, got ${n}n`, device)
    return exact(n)
  }
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw invalid(operation, field, `must be a safe integer or a bigint number of sectors, got ${show(n)}`, device)
  }
  if (n < min) throw invalid(operation, field, `must be >= ${min}, got ${n}`, device)
  return n
}

/** dmsetup's text form, each start and length exact (number up to 2^53, bigint past it). */
function parseExact(text: string, operation: string, device: string): RawTarget<Sectors>[] {
  if (typeof text !== 'string') throw invalid(operation, 'text', `must be a table string, got ${show(text)}`, device)
  const out: RawTarget<Sectors>[] = []
  const lines = text.split('\n')
  lines.forEach((line, i) => {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const m = /^(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(trimmed)
    const field = `table line ${i + 1}`
    if (!m) throw invalid(operation, field, `must be '<start> <length> <type> [params]', got '${trimmed}'`, device)
    const num = (s: string, what: string): Sectors => {
      if (!/^\d+$/.test(s) || BigInt(s) > U64_MAX) {
        throw invalid(operation, `${field} ${what}`, `must be a decimal sector count (0..2^64-1), got '${s}'`, device)
      }
      return exact(BigInt(s))
    }
    out.push({ start: num(m[1], 'start'), length: num(m[2], 'length'), type: m[3], params: (m[4] ?? '').trim() })
  })
  return out
}

/**
 * `start` and `length` in the form `options` asks for: numbers (ERANGE past 2^53, never rounded) or bigints.
 * `where` names the value in the error: the device and the target's place (`table[1]`, `table line 2`).
 */
export function sectorsAs<T extends { start: Sectors; length: Sectors }>(t: T, bigint: boolean | undefined, operation: string, where: string, device: string): T {
  if (bigint) return typeof t.start === 'bigint' && typeof t.length === 'bigint' ? t : { ...t, start: BigInt(t.start), length: BigInt(t.length) }
  for (const key of ['start', 'length'] as const) {
    const v = t[key]
    if (typeof v === 'bigint') {
      throw new DmError({
        message:
          `${operation}${device ? ` ${device}` : ''}: ${where}.${key} is ${v} sectors, past 2^53 where a number is not exact: ` +
          'read start and length as bigints with { bigint: true }',
        code: 'ERANGE',
        operation,
        device,
        field: `${where}.${key}`,
      })
    }
  }
  return t
}

/**
 * Parses dmsetup's text form. Lenient about whitespace; strict about numbers. Start and length are numbers
 * (a value past 2^53: DmError ERANGE, never a rounded number), or bigints with `{ bigint: true }`.
 */
export function parseTable(text: string, options?: NumberSectors): RawTarget[]
export function parseTable(text: string, options: BigIntSectors): RawTarget<bigint>[]
export function parseTable(text: string, options?: SectorsOptions): RawTarget[] | RawTarget<bigint>[]
export function parseTable(text: string, options: SectorsOptions = {}): RawTarget<Sectors>[] {
  const o = checkOptions(options, 'parseTable')
  return parseExact(text, 'parseTable', '').map((t, i) => sectorsAs(t, o.bigint, 'parseTable', `table[${i}]`, ''))
}

/**
 * Parses dmsetup's text form into typed targets where the type is registered. A known target comes back
 * without `params` when its typed fields rebuild the exact same line; otherwise `params` is kept next to
 * whatever fields were read, so formatTable(parseTypedTable(text)) reproduces the text either way. Start and
 * length as in parseTable: numbers (ERANGE past 2^53), or bigints with `{ bigint: true }`.
 */
export function parseTypedTable(text: string, options?: NumberSectors): (TargetInput & RawTarget)[]
export function parseTypedTable(text: string, options: BigIntSectors): (TargetInput & RawTarget<bigint>)[]
export function parseTypedTable(text: string, options?: SectorsOptions): (TargetInput & RawTarget)[] | (TargetInput & RawTarget<bigint>)[]
export function parseTypedTable(text: string, options: SectorsOptions = {}): (TargetInput & RawTarget<Sectors>)[] {
  const operation = 'parseTypedTable'
  const o = checkOptions(options, operation)
  return parseExact(text, operation, '').map((exactRaw, i) => {
    const raw = sectorsAs(exactRaw, o.bigint, operation, `table[${i}]`, '')
    const def = registry.get(raw.type)
    if (!def?.parseParams) return raw
    const fields = def.parseParams(raw.params)
    const { start, length, type } = raw
    const typed: TargetInput = { ...fields, start, length, type }
    let rebuilt: string | undefined
    try {
      rebuilt = def.build(typed, operation, { operation, device: '' })
    } catch (err) {
      if (!(err instanceof DmError)) throw err
    }
    return (rebuilt === raw.params ? typed : { ...fields, ...raw }) as TargetInput & RawTarget<Sectors>
  })
}

export interface FormatOptions {
  /** print crypt keys (default: masked, as `dmsetup table` does without --showkeys) */
  showKeys?: boolean
}

/** dmsetup's text form of a table, one target per line. Secrets (crypt keys) are masked unless `showKeys`. */
export function formatTable(table: readonly TargetInput[], options: FormatOptions = {}): string {
  return toRawTargets(table, 'formatTable', '')
    .map((t) => {
      const redact = options.showKeys ? undefined : registry.get(t.type)?.redact
      const params = redact ? redact(t.params) : t.params
      return `${t.start} ${t.length} ${t.type}${params ? ` ${params}` : ''}`
    })
    .join('\n')
}

/** DM_SECURE_DATA_FLAG when a table holds secrets, so the kernel wipes its copies of the ioctl buffer. */
export function secureDataFlag(targets: readonly RawTarget<Sectors>[]): number {
  return targets.some((t) => registry.get(t.type)?.redact) ? Flags.SECURE_DATA : 0
}

/**
 * Validates a table and resolves typed targets to raw ones: contiguous from sector 0, positive lengths, the end
 * within a u64. Start and length stay exact: numbers up to 2^53, bigints past it.
 */
export function toRawTargets(table: TableInput, operation: string, device: string): RawTarget<Sectors>[] {
  const input: readonly TargetInput[] = typeof table === 'string' ? parseExact(table, operation, device) : table
  if (!Array.isArray(input)) throw invalid(operation, 'table', 'must be an array of targets or a table string', device)
  if (input.length === 0) throw invalid(operation, 'table', 'must have at least one target', device)
  let next = 0n
  return input.map((t, i) => {
    const f = `table[${i}]`
    if (t === null || typeof t !== 'object') throw invalid(operation, f, 'must be an object', device)
    const type = checkTargetType(t.type, operation, `${f}.type`, device)
    const start = t.start === undefined ? exact(next) : checkSectorValue(t.start, operation, `${f}.start`, device)
    if (BigInt(start) !== next) {
      throw invalid(operation, `${f}.start`, `must be ${next} (tables are contiguous from sector 0), got ${start}`, device)
    }
    const length = checkSectorValue(t.length, operation, `${f}.length`, device, 1)
    let params: string
    if (t.params !== undefined) params = checkParams(t.params, operation, `${f}.params`, device)
    else {
      const def = registry.get(type)
      params = def ? def.build({ ...t, start, length }, operation, { operation, field: f, device }) : ''
      checkParams(params, operation, `${f}.params`, device)
    }
    next += BigInt(length)
    if (next > U64_MAX) throw invalid(operation, `${f}.length`, 'makes the table end past 2^64 - 1 sectors', device)
    return { start, length, type, params }
  })
}

/** The kernel's argument splitter treats backslash as an escape, so literal backslashes are doubled (as libdm does). */
export function toNativeTargets(targets: readonly RawTarget<Sectors>[]): NativeTarget[] {
  return targets.map((t) => ({ ...t, params: t.params.replace(/\\/g, '\\\\') }))
}

/**
 * A target read from the kernel, with typed fields merged in when its type is known. Start and length come as
 * `bigint` asks; as numbers, a value past 2^53 is DmError ERANGE naming the device (a name, or the request it
 * was addressed by) and `table[index]`, never rounded.
 */
export function fromKernel(
  t: NativeTarget,
  kind: 'table' | 'status',
  bigint = false,
  operation: string = kind,
  device: string | NativeRequest = '',
  index = 0,
): RawTarget<Sectors> & Record<string, unknown> {
  let raw: RawTarget<Sectors> = { start: t.start, length: t.length, type: t.type, params: t.params.trim() }
  // the common case (numbers wanted, numbers decoded) costs no more than the two typeofs
  if (bigint || typeof raw.start !== 'number' || typeof raw.length !== 'number') {
    raw = sectorsAs(raw, bigint, operation, `table[${index}]`, typeof device === 'string' ? device : label(device))
  }
  const def = registry.get(t.type)
  const parse = kind === 'table' ? def?.parseParams : def?.parseStatus
  if (!parse) return raw
  const out = Object.assign(parse(raw.params), raw)
  // A secret-bearing line stays readable as `.params` (and reloads as is) but is left out of console.log,
  // util.inspect and JSON.stringify.
  if (kind === 'table' && def?.redact) Object.defineProperty(out, 'params', { enumerable: false })
  return out
}
