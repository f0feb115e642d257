// Shared pieces of the target builders and parsers: device references, strict field checks that name the
// field, and a lenient token reader for the kernel's table and status lines.
import { invalid, show, type DmError } from '../core/errors'
import type { TargetInput } from '../core/table'

/** A block device: a path ('/dev/loop0', '/dev/mapper/x'), 'major:minor', or `{ major, minor }`. */
export type BlockDevice = string | { major: number; minor: number }

/** Where a builder reports a bad field: the API call, the target's place in the table and the device. */
export interface BuildContext {
  operation: string
  field?: string
  device?: string
}

/** Raises field-naming EINVAL errors for one target. */
export class Checker {
  constructor(
    readonly target: TargetInput,
    private readonly at: BuildContext,
  ) {}

  fail(field: string, problem: string): DmError {
    return invalid(this.at.operation, this.at.field ? `${this.at.field}.${field}` : field, problem, this.at.device ?? '')
  }

  /** An integer in min..max (safe integers by default). */
  uint(value: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw this.fail(field, `must be an integer in ${min}..${max}, got ${show(value)}`)
    }
    return value
  }

  /** A sector offset or count (sector_t): a safe-integer number, or a bigint up to 2^64 - 1, kept exact. */
  sectors(value: unknown, field: string, min = 0): number | bigint {
    if (typeof value === 'bigint') {
      if (value < BigInt(min) || value > 2n ** 64n - 1n) throw this.fail(field, `must be a bigint in ${min}..2^64-1, got ${value}n`)
      return value
    }
    return this.uint(value, field, min)
  }

  /** A device reference, as the kernel argument: the path, or 'major:minor'. */
  device(value: unknown, field: string): string {
    if (typeof value === 'string') {
      if (/^\d+:\d+$/.test(value)) {
        const [major, minor] = value.split(':').map(Number)
        return this.devnum(major, minor, field)
      }
      if (value.length === 0 || /[\s\0]/.test(value)) {
        throw this.fail(field, `must be a device path, 'major:minor' or { major, minor }, got ${show(value)}`)
      }
      return value
    }
    if (value !== null && typeof value === 'object' && 'major' in value && 'minor' in value) {
      const v = value as { major: unknown; minor: unknown }
      return this.devnum(v.major, v.minor, field)
    }
    throw this.fail(field, `must be a device path, 'major:minor' or { major, minor }, got ${show(value)}`)
  }

  private devnum(major: unknown, minor: unknown, field: string): string {
    // dev_t is 12-bit major, 20-bit minor
    if (!Number.isSafeInteger(major) || (major as number) < 0 || (major as number) > 0xfff) {
      throw this.fail(`${field}.major`, `must be an integer in 0..4095, got ${show(major)}`)
    }
    if (!Number.isSafeInteger(minor) || (minor as number) < 0 || (minor as number) > 0xfffff) {
      throw this.fail(`${field}.minor`, `must be an integer in 0..1048575, got ${show(minor)}`)
    }
    return `${major}:${minor}`
  }

  /** A single kernel argument: non-empty, no whitespace. */
  word(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.length === 0 || /[\s\0]/.test(value)) {
      throw this.fail(field, `must be a non-empty string without whitespace, got ${show(value)}`)
    }
    return value
  }

  /** An array of kernel arguments (default []). */
  words(value: unknown, field: string): string[] {
    if (value === undefined) return []
    if (!Array.isArray(value)) throw this.fail(field, `must be an array of strings, got ${show(value)}`)
    return value.map((w, i) => this.word(w, `${field}[${i}]`))
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) throw this.fail(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(value)}`)
    return value as T
  }

  array(value: unknown, field: string, min = 0): unknown[] {
    if (!Array.isArray(value) || value.length < min) throw this.fail(field, `must be an array of at least ${min} element(s), got ${show(value)}`)
    return value
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw this.fail(field, `must be an object, got ${show(value)}`)
    return value as Record<string, unknown>
  }
}

/** A decimal token as a number, or undefined (not decimal, or past 2^53). */
export function decimal(token: string | undefined): number | undefined {
  if (token === undefined || !/^\d+$/.test(token)) return undefined
  const n = Number(token)
  return Number.isSafeInteger(n) ? n : undefined
}

/** Reads a whitespace-separated line token by token; every read returns undefined past the end. */
export class Tokens {
  readonly all: string[]
  pos = 0

  constructor(line: string) {
    this.all = line.trim() === '' ? [] : line.trim().split(/\s+/)
  }

  get done(): boolean {
    return this.pos >= this.all.length
  }

  peek(): string | undefined {
    return this.all[this.pos]
  }

  next(): string | undefined {
    return this.pos < this.all.length ? this.all[this.pos++] : undefined
  }

  /** The next token as a decimal number; undefined (and not consumed) if it is not one. */
  num(): number | undefined {
    const n = decimal(this.peek())
    if (n !== undefined) this.pos++
    return n
  }

  /** `<count> <arg>...`: the count, then that many tokens; undefined if malformed. */
  group(): string[] | undefined {
    const n = this.num()
    if (n === undefined || n > this.all.length - this.pos) return undefined
    const out = this.all.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** `<a>/<b>` */
  ratio(): [number, number] | undefined {
    const m = /^(\d+)\/(\d+)$/.exec(this.peek() ?? '')
    if (!m) return undefined
    const a = decimal(m[1])
    const b = decimal(m[2])
    if (a === undefined || b === undefined) return undefined
    this.pos++
    return [a, b]
  }

  rest(): string[] {
    const out = this.all.slice(this.pos)
    this.pos = this.all.length
    return out
  }
}

/** `<count> <args...>` as a kernel argument group; empty when there are no args and `always` is false. */
export function argGroup(args: readonly string[], always: boolean): string {
  if (args.length === 0 && !always) return ''
  return [String(args.length), ...args].join(' ')
}

/** Joins non-empty parts with single spaces. */
export function join(...parts: (string | number | bigint | undefined)[]): string {
  return parts.filter((p) => p !== undefined && p !== '').join(' ')
}

/**
 * A table-line parser: one that cannot read the line gives {} so the raw params stand alone. Parsers are total
 * by construction (Tokens never throws); the fuzz tests hold them to it, so no catch-all hides a bug here.
 */
export function lenient<T extends object>(parse: (t: Tokens) => T | undefined): (params: string) => T | Record<string, never> {
  return (params: string) => parse(new Tokens(params)) ?? {}
}

/** A device token from the kernel: kept as printed ('major:minor' from the kernel, a path from user text). */
export function deviceToken(token: string | undefined): string | undefined {
  return token !== undefined && token !== '-' ? token : undefined
}
