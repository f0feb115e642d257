// crypt `<cipher> <key> <iv offset> <dev> <offset> [<#opts> <opt>...]` (drivers/md/dm-crypt.c). The key is
// hex, '-' (none), or a keyring reference ':<bytes>:<logon|user|encrypted|trusted>:<description>'. Tables with
// a crypt target are loaded and read with DM_SECURE_DATA_FLAG; keys read back come as CryptKey, which prints
// as '<redacted>' (console.log, JSON, template strings) until `.reveal()` is called.
import { inspect } from 'node:util'
import type { Sectors, TargetType } from '../core/table'
import { Checker, argGroup, join, lenient, type BlockDevice } from './common'

export const REDACTED = '<redacted>'

export class CryptKey {
  readonly #text: string

  constructor(text: string) {
    this.#text = text
  }

  /** The key as the kernel takes it (hex, '-' or a keyring reference). */
  reveal(): string {
    return this.#text
  }

  toString(): string {
    return REDACTED
  }

  toJSON(): string {
    return REDACTED
  }

  [inspect.custom](): string {
    return `CryptKey(${REDACTED})`
  }
}

export type CryptTarget = {
  start?: Sectors
  length: Sectors
  type: 'crypt'
  /** 'aes-xts-plain64', 'capi:xts(aes)-plain64', ... */
  cipher: string
  key: string | CryptKey
  /** sector number added to the IV */
  ivOffset: Sectors
  device: BlockDevice
  offset: Sectors
  /** allow_discards, same_cpu_crypt, sector_size:<bytes>, iv_large_sectors, ... */
  options?: string[]
}
export type CryptParams = { cipher: string; key: CryptKey; ivOffset: number; device: string; offset: number; options: string[] }

const KEY = /^(-|([0-9a-fA-F]{2})+|:\d+:(logon|user|encrypted|trusted):\S+)$/

export const cryptType: TargetType = {
  type: 'crypt',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    const key = target.key instanceof CryptKey ? target.key.reveal() : target.key
    if (typeof key !== 'string' || !KEY.test(key)) {
      // never echo the value: it may be most of a key
      throw c.fail('key', "must be hex (an even number of digits), '-', or ':<bytes>:<logon|user|encrypted|trusted>:<description>'")
    }
    return join(
      c.word(target.cipher, 'cipher'),
      key,
      c.sectors(target.ivOffset ?? 0, 'ivOffset'),
      c.device(target.device, 'device'),
      c.sectors(target.offset ?? 0, 'offset'),
      argGroup(c.words(target.options, 'options'), false),
    )
  },
  parseParams: lenient((t): CryptParams | undefined => {
    const [cipher, key] = [t.next(), t.next()]
    const ivOffset = t.num()
    const device = t.next()
    const offset = t.num()
    if (cipher === undefined || key === undefined || ivOffset === undefined || device === undefined || offset === undefined) return undefined
    const options = t.done ? [] : t.group()
    if (options === undefined || !t.done) return undefined
    return { cipher, key: new CryptKey(key), ivOffset, device, offset, options }
  }),
  parseStatus: () => ({}),
  redact(params) {
    // hex keys only: '-' and keyring references name a key, they are not one
    return params.replace(/^(\s*\S+\s+)([0-9a-fA-F]+)(?=\s|$)/, `$1${REDACTED}`)
  },
}

/** A dm-crypt target over `device` with `cipher` (e.g. aes-xts-plain64) and `key` (hex, or a CryptKey); the table is sent with DM_SECURE_DATA_FLAG. */
export function crypt(
  length: Sectors,
  device: BlockDevice,
  cipher: string,
  key: string | CryptKey,
  options: { offset?: Sectors; ivOffset?: Sectors; options?: string[] } = {},
): CryptTarget {
  return { length, type: 'crypt', cipher, key, ivOffset: options.ivOffset ?? 0, device, offset: options.offset ?? 0, options: options.options ?? [] }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    crypt: CryptParams
  }
  interface StatusFieldsByType {
    crypt: {}
  }
}
