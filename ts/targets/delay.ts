// delay `<dev> <offset> <ms> [<write dev> <offset> <ms> [<flush dev> <offset> <ms>]]` (drivers/md/dm-delay.c):
// reads (and, without a write class, writes and flushes) are delayed by `delay` ms. Status:
// `<reads> <writes> <flushes>` in flight.
import type { Sectors, TargetType } from '../core/table'
import { Checker, join, lenient, type BlockDevice } from './common'

export type DelayClass = { device: BlockDevice; offset?: Sectors; delay: number }
export type DelayTarget = {
  start?: Sectors
  length: Sectors
  type: 'delay'
  device: BlockDevice
  offset: Sectors
  /** milliseconds */
  delay: number
  /** where writes go and their delay (default: same as reads) */
  write?: DelayClass
  /** where flushes go and their delay; needs `write` */
  flush?: DelayClass
}
export type DelayParams = {
  device: string
  offset: number
  delay: number
  write?: { device: string; offset: number; delay: number }
  flush?: { device: string; offset: number; delay: number }
}
export type DelayStatus = { reads: number; writes: number; flushes?: number } | Record<string, never>

export const delayType: TargetType = {
  type: 'delay',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    const cls = (o: Record<string, unknown>, f: string) =>
      join(c.device(o.device, `${f}device`), c.sectors(o.offset ?? 0, `${f}offset`), c.uint(o.delay, `${f}delay`, 0, 0xffffffff))
    if (target.flush !== undefined && target.write === undefined) throw c.fail('flush', "needs 'write' (the kernel reads classes in order)")
    return join(
      cls(target, ''),
      target.write === undefined ? undefined : cls(c.object(target.write, 'write'), 'write.'),
      target.flush === undefined ? undefined : cls(c.object(target.flush, 'flush'), 'flush.'),
    )
  },
  parseParams: lenient((t): DelayParams | undefined => {
    if (![3, 6, 9].includes(t.all.length)) return undefined
    const cls = () => {
      const device = t.next()!
      const [offset, delay] = [t.num(), t.num()]
      return offset === undefined || delay === undefined ? undefined : { device, offset, delay }
    }
    const classes = []
    while (!t.done) {
      const k = cls()
      if (!k) return undefined
      classes.push(k)
    }
    const out: DelayParams = { ...classes[0] }
    if (classes[1]) out.write = classes[1]
    if (classes[2]) out.flush = classes[2]
    return out
  }),
  parseStatus: lenient((t): DelayStatus | undefined => {
    const [reads, writes, flushes] = [t.num(), t.num(), t.num()]
    if (reads === undefined || writes === undefined) return undefined
    return flushes === undefined ? { reads, writes } : { reads, writes, flushes }
  }),
}

/** A delay target: I/O to `device` held back `ms` milliseconds; `write` and `flush` can go elsewhere with their own delays. */
export function delay(length: Sectors, device: BlockDevice, ms: number, options: { offset?: Sectors; write?: DelayClass; flush?: DelayClass } = {}): DelayTarget {
  const out: DelayTarget = { length, type: 'delay', device, offset: options.offset ?? 0, delay: ms }
  if (options.write) out.write = options.write
  if (options.flush) out.flush = options.flush
  return out
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    delay: DelayParams
  }
  interface StatusFieldsByType {
    delay: Partial<{ reads: number; writes: number; flushes: number }>
  }
}
