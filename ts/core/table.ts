// Tables: the typed/raw target objects users write, dmsetup's text form, and the conversion to what the kernel
// is sent. Typed targets (linear, thin-pool, ...) register a TargetType in ./targets; unknown types stay raw.
import { DmError, invalid, show } from './errors'
import { Flags } from './flags'
import type { NativeTarget } from './native'
import { checkParams, checkSectors, checkTargetType } from './validate'

/** A target as the kernel reports it: sectors, type, and its parameter string. */
export type RawTarget = {
  start: number
  length: number
  type: string
  params: string
}

/**
 * A target as a caller writes it: either raw `params`, or the typed fields of a registered target type.
 * `start` may be omitted: it then follows on from the previous target (concatenation).
 */
export interface TargetInput {
  start?: number
  length: number
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

/** Parses dmsetup's text form. Lenient about whitespace; strict about numbers. */
export function parseTable(text: string, operation = 'parseTable', device = ''): RawTarget[] {
  if (typeof text !== 'string') throw invalid(operation, 'text', `must be a table string, got ${show(text)}`, device)
  const out: RawTarget[] = []
  const lines = text.split('\n')
  lines.forEach((line, i) => {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const m = /^(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(trimmed)
    const field = `table line ${i + 1}`
    if (!m) throw invalid(operation, field, `must be '<start> <length> <type> [params]', got '${trimmed}'`, device)
    const num = (s: string, what: string): number => {
      if (!/^\d+$/.test(s)) throw invalid(operation, `${field} ${what}`, `must be a decimal sector count, got '${s}'`, device)
      return checkSectors(Number(s), operation, `${field} ${what}`, device)
    }
    out.push({ start: num(m[1], 'start'), length: num(m[2], 'length'), type: m[3], params: (m[4] ?? '').trim() })
  })
  return out
}

/**
 * Parses dmsetup's text form into typed targets where the type is registered. A known target comes back
 * without `params` when its typed fields rebuild the exact same line; otherwise `params` is kept next to
 * whatever fields were read, so formatTable(parseTypedTable(text)) reproduces the text either way.
 */
export function parseTypedTable(text: string, operation = 'parseTypedTable', device = ''): (TargetInput & RawTarget)[] {
  return parseTable(text, operation, device).map((raw) => {
    const def = registry.get(raw.type)
    if (!def?.parseParams) return raw
    const fields = def.parseParams(raw.params)
    const { start, length, type } = raw
    const typed: TargetInput = { ...fields, start, length, type }
    let rebuilt: string | undefined
    try {
      rebuilt = def.build(typed, operation, { operation, device })
    } catch (err) {
      if (!(err instanceof DmError)) throw err
    }
    return (rebuilt === raw.params ? typed : { ...fields, ...raw }) as TargetInput & RawTarget
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
export function secureDataFlag(targets: readonly RawTarget[]): number {
  return targets.some((t) => registry.get(t.type)?.redact) ? Flags.SECURE_DATA : 0
}

/** Validates a table and resolves typed targets to raw ones: contiguous from sector 0, positive lengths. */
export function toRawTargets(table: TableInput, operation: string, device: string): RawTarget[] {
  const input: readonly TargetInput[] = typeof table === 'string' ? parseTable(table, operation, device) : table
  if (!Array.isArray(input)) throw invalid(operation, 'table', 'must be an array of targets or a table string', device)
  if (input.length === 0) throw invalid(operation, 'table', 'must have at least one target', device)
  let next = 0
  return input.map((t, i) => {
    const f = `table[${i}]`
    if (t === null || typeof t !== 'object') throw invalid(operation, f, 'must be an object', device)
    const type = checkTargetType(t.type, operation, `${f}.type`, device)
    const start = t.start === undefined ? next : checkSectors(t.start, operation, `${f}.start`, device)
    if (start !== next) {
      throw invalid(operation, `${f}.start`, `must be ${next} (tables are contiguous from sector 0), got ${start}`, device)
    }
    const length = checkSectors(t.length, operation, `${f}.length`, device, 1)
    let params: string
    if (t.params !== undefined) params = checkParams(t.params, operation, `${f}.params`, device)
    else {
      const def = registry.get(type)
      params = def ? def.build({ ...t, start, length }, operation, { operation, field: f, device }) : ''
      checkParams(params, operation, `${f}.params`, device)
    }
    next = start + length
    if (!Number.isSafeInteger(next)) throw invalid(operation, `${f}.length`, 'makes the table end past 2^53 sectors', device)
    return { start, length, type, params }
  })
}

/** The kernel's argument splitter treats backslash as an escape, so literal backslashes are doubled (as libdm does). */
export function toNativeTargets(targets: readonly RawTarget[]): NativeTarget[] {
  return targets.map((t) => ({ ...t, params: t.params.replace(/\\/g, '\\\\') }))
}

/** A target read from the kernel, with typed fields merged in when its type is known. */
export function fromKernel(t: NativeTarget, kind: 'table' | 'status'): RawTarget & Record<string, unknown> {
  const raw: RawTarget = { start: Number(t.start), length: Number(t.length), type: t.type, params: t.params.trim() }
  const def = registry.get(t.type)
  const parse = kind === 'table' ? def?.parseParams : def?.parseStatus
  if (!parse) return raw
  const out = Object.assign(parse(raw.params), raw)
  // A secret-bearing line stays readable as `.params` (and reloads as is) but is left out of console.log,
  // util.inspect and JSON.stringify.
  if (kind === 'table' && def?.redact) Object.defineProperty(out, 'params', { enumerable: false })
  return out
}
