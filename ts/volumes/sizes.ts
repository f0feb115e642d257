// Sizes as Docker reads them (docker/go-units RAMInBytes): a number is bytes; a string is a decimal number with an
// optional, case-insensitive binary unit: b, k, m, g, t, p, each optionally followed by 'b' or 'ib', so '10G',
// '10g', '10GB' and '10GiB' are all 10 GiB. One space may separate number and unit ('10 GiB'); a fraction is
// truncated after scaling ('1.5k' = 1536). Stricter than Go where Go's answer is nonsense: no hex, Inf or NaN
// numbers, and nothing above Number.MAX_SAFE_INTEGER bytes (Go wraps those to negative int64s).
import { invalid } from '../core/errors'

/** Bytes as a number, or a size string such as '64K', '10G', '2GiB', '100GB'. */
export type Size = number | string

export const SECTOR_BYTES = 512

const UNITS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 }
// What Go's strconv.ParseFloat takes in decimal form (its hex, Inf, NaN and '_' forms are refused here).
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/** Parses a Size into bytes; a DmError (EINVAL) naming `field` when it is not one. */
export function parseSize(value: unknown, field: string, operation = 'parseSize'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw invalid(operation, field, `must be a whole number of bytes from 0 to 2^53-1, got ${value}`)
    }
    return value
  }
  if (typeof value !== 'string') throw invalid(operation, field, `must be a number of bytes or a size string, got ${typeof value}`)
  const bytes = ramInBytes(value)
  if (bytes === undefined) throw invalid(operation, field, `is not a size (like 512, '64K', '10G', '10GiB'), got '${value}'`)
  if (!Number.isSafeInteger(bytes)) throw invalid(operation, field, `is too large (over 2^53-1 bytes), got '${value}'`)
  return bytes
}

// go-units parseSize(sizeStr, binaryMap), step by step; undefined where Go returns an error.
function ramInBytes(s: string): number | undefined {
  let num: string
  let sfx: string
  const space = s.indexOf(' ')
  if (space >= 0) {
    num = s.slice(0, space)
    sfx = s.slice(space + 1)
  } else {
    const sep = Math.max(...[...'0123456789.'].map((c) => s.lastIndexOf(c)))
    if (sep < 0) return undefined
    num = s.slice(0, sep + 1)
    sfx = s.slice(sep + 1)
  }
  if (!DECIMAL.test(num)) return undefined
  let size = Number(num)
  if (size < 0) return undefined
  if (sfx.length > 3) return undefined
  sfx = sfx.toLowerCase()
  if (sfx.length > 0 && sfx[0] !== 'b') {
    const mul = UNITS[sfx[0]]
    if (mul === undefined) return undefined
    if (sfx.length === 2 && sfx[1] !== 'b') return undefined
    if (sfx.length === 3 && sfx.slice(1) !== 'ib') return undefined
    size *= mul
  } else if (sfx.length > 1) {
    return undefined // 'b' allows nothing after it
  }
  return Math.trunc(size) + 0 // + 0 turns Go's -0 ('-0') into 0
}
