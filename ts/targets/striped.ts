// striped: `<#stripes> <chunk sectors> (<dev> <offset>)...`. The length must split evenly into stripes and each
// stripe's share into whole chunks (drivers/md/dm-stripe.c). Status: `<#stripes> <dev>... 1 <A|D per stripe>`.
import type { Sectors, TargetType } from '../core/table'
import { Checker, decimal, join, lenient, type BlockDevice } from './common'

export type Stripe = { device: BlockDevice; offset?: Sectors }
export type StripedTarget = { start?: Sectors; length: Sectors; type: 'striped'; chunkSize: number; stripes: Stripe[] }
export type StripedParams = { chunkSize: number; stripes: { device: string; offset: number }[] }
/** Per stripe: its device, and 'A' (alive) or 'D' (an I/O error was seen). */
export type StripedStatus = { stripes: { device: string; health: string }[] } | Record<string, never>

export const stripedType: TargetType = {
  type: 'striped',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    const stripes = c.array(target.stripes, 'stripes', 1)
    const chunk = c.uint(target.chunkSize, 'chunkSize', 1, 0xffffffff)
    // bigint arithmetic: the length may be past 2^53 (core has checked it is a u64)
    const length = BigInt(target.length)
    const n = BigInt(stripes.length)
    if (length % n !== 0n) {
      throw c.fail('length', `(${length}) must be divisible by the number of stripes (${stripes.length})`)
    }
    if ((length / n) % BigInt(chunk) !== 0n) {
      throw c.fail('chunkSize', `(${chunk}) must divide the length per stripe (${length / n})`)
    }
    const devs = stripes.map((s, i) => {
      const o = c.object(s, `stripes[${i}]`)
      return join(c.device(o.device, `stripes[${i}].device`), c.sectors(o.offset ?? 0, `stripes[${i}].offset`))
    })
    return join(stripes.length, chunk, ...devs)
  },
  parseParams: lenient((t): StripedParams | undefined => {
    const n = t.num()
    const chunkSize = t.num()
    if (n === undefined || chunkSize === undefined || t.all.length !== 2 + 2 * n) return undefined
    const stripes = []
    for (let i = 0; i < n; i++) {
      const device = t.next()!
      const offset = decimal(t.next())
      if (offset === undefined) return undefined
      stripes.push({ device, offset })
    }
    return { chunkSize, stripes }
  }),
  parseStatus: lenient((t): StripedStatus | undefined => {
    const n = t.num()
    if (n === undefined || t.all.length < n + 3) return undefined
    const devices = t.all.slice(1, 1 + n)
    t.pos = 1 + n
    if (t.next() !== '1') return undefined
    const health = t.next() ?? ''
    return { stripes: devices.map((device, i) => ({ device, health: health[i] ?? '' })) }
  }),
}

/** Stripes `length` sectors over `stripes` in chunks of `chunkSize` sectors. */
export function striped(length: Sectors, chunkSize: number, stripes: Stripe[]): StripedTarget {
  return { length, type: 'striped', chunkSize, stripes }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    striped: StripedParams
  }
  interface StatusFieldsByType {
    striped: Partial<{ stripes: { device: string; health: string }[] }>
  }
}
