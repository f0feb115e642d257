// What every verb gets: the parsed command line, the output streams, a DeviceMapper opened on first use, and
// the helpers shared by several verbs (device addressing, JSON output, sysfs names).
import { readFileSync, readlinkSync } from 'node:fs'
import { basename } from 'node:path'
import type { DeviceRef } from '../core'
import { DeviceMapper } from '../device-mapper'
import { CryptKey } from '../targets'
import { uint, UsageError, type Values } from './args'

export interface Io {
  stdout(text: string): void
  stderr(text: string): void
  /** stdin's whole text (for tables piped in) */
  stdin(): string
  /** stderr is a terminal: progress may be shown there */
  progress: boolean
  /** stdout is a terminal of this many columns (undefined on a pipe) */
  columns?: number
}

export class Ctx {
  readonly verb: string
  readonly operands: string[]
  readonly values: Values
  readonly io: Io
  #dm: DeviceMapper | undefined

  constructor(verb: string, operands: string[], values: Values, io: Io) {
    this.verb = verb
    this.operands = operands
    this.values = values
    this.io = io
  }

  get dm(): DeviceMapper {
    this.#dm ??= new DeviceMapper(this.values.noudevsync ? { udev: 'manual' } : {})
    return this.#dm
  }

  close(): void {
    this.#dm?.close()
  }

  get json(): boolean {
    return this.values.json === true
  }

  get verbose(): number {
    return this.values.verbose?.length ?? 0
  }

  out(text: string): void {
    if (text !== '') this.io.stdout(text)
  }

  /** One JSON document on stdout: the library's objects, bigints as plain numbers, keys only with --showkeys. */
  printJson(value: unknown): void {
    this.io.stdout(`${toJson(value, this.values.showkeys === true)}\n`)
  }

  /** The device a verb addresses by -u UUID or -j MAJOR -m MINOR, when no name is given. */
  optionRef(): DeviceRef | undefined {
    if (this.values.uuid !== undefined) return { uuid: this.values.uuid }
    if (this.values.major !== undefined || this.values.minor !== undefined) {
      if (this.values.major === undefined || this.values.minor === undefined) throw new UsageError('-j/--major and -m/--minor go together')
      return { major: uint(this.values.major, 'major', 0xfff), minor: uint(this.values.minor, 'minor', 0xfffff) }
    }
    return undefined
  }

  /** Operand count check, as dmsetup's min_args/max_args. */
  arity(min: number, max = Infinity): void {
    const n = this.operands.length
    if (n < min || n > max) throw new UsageError(`${this.verb}: incorrect number of arguments (see 'devmapper ${this.verb} --help')`)
  }
}

const BIG = '__devmapper_bigint__'

/** JSON text with bigints as number literals and CryptKeys revealed only when asked. */
export function toJson(value: unknown, showKeys = false): string {
  const text = JSON.stringify(
    value,
    function (this: Record<string, unknown>, key, v: unknown) {
      const raw = this[key]
      if (raw instanceof CryptKey) return showKeys ? raw.reveal() : v
      if (typeof v === 'bigint') return `${BIG}${v}`
      return v
    },
    2,
  )
  return text.replace(new RegExp(`"${BIG}(-?\\d+)"`, 'g'), '$1')
}

/** Read-ahead in sectors as libdm reads it (sysfs bdi/read_ahead_kb * 2); undefined when there is none. */
export function readAhead(major: number, minor: number): number | undefined {
  try {
    return (parseInt(readFileSync(`/sys/dev/block/${major}:${minor}/bdi/read_ahead_kb`, 'utf8'), 10) || 0) * 2
  } catch {
    return undefined
  }
}

/** The kernel's name of a block device ('dm-3', 'loop0', 'sda1'), as libdm's dm_device_get_name(..., 1). */
export function kernelName(major: number, minor: number): string | undefined {
  try {
    return basename(readlinkSync(`/sys/dev/block/${major}:${minor}`))
  } catch {
    return undefined
  }
}

/** A mapped device's name from sysfs, else the kernel name, as dm_device_get_name(..., 0). */
export function mappedName(major: number, minor: number, dmMajor: number): string | undefined {
  if (major === dmMajor) {
    try {
      return readFileSync(`/sys/dev/block/${major}:${minor}/dm/name`, 'utf8').replace(/\n$/, '')
    } catch {
      // fall back to the kernel name, as libdm does
    }
  }
  return kernelName(major, minor)
}

/** device-mapper's block major from /proc/devices (what libdm's dm_is_dm_major reads). */
export function dmMajor(fallback: number | undefined): number {
  try {
    const m = /^\s*(\d+)\s+device-mapper$/m.exec(readFileSync('/proc/devices', 'utf8'))
    if (m) return Number(m[1])
  } catch {
    // not Linux, or /proc not mounted
  }
  return fallback ?? 253
}
