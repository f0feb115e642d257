// linear: `<dev> <offset>` -> maps a range of one device. No status.
import type { Sectors, TargetType } from '../core/table'
import { Checker, decimal, join, lenient, type BlockDevice } from './common'

export type LinearTarget = { start?: Sectors; length: Sectors; type: 'linear'; device: BlockDevice; offset?: Sectors }
export type LinearParams = { device: string; offset: number }

export const linearType: TargetType = {
  type: 'linear',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    return join(c.device(target.device, 'device'), c.sectors(target.offset ?? 0, 'offset'))
  },
  parseParams: lenient((t): LinearParams | undefined => {
    const [device, offset] = [t.next(), decimal(t.next())]
    if (device === undefined || offset === undefined || !t.done) return undefined
    return { device, offset }
  }),
  parseStatus: () => ({}),
}

/** `length` sectors of `device` from sector `offset` (default 0). */
export function linear(length: Sectors, device: BlockDevice, offset: Sectors = 0): LinearTarget {
  return { length, type: 'linear', device, offset }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    linear: LinearParams
  }
  interface StatusFieldsByType {
    linear: {}
  }
}
