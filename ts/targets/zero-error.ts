// zero (reads zeroes, discards writes) and error (fails all I/O): no arguments, no status.
import type { Sectors, TargetType } from '../core/table'
import { Checker } from './common'

export type ZeroTarget = { start?: Sectors; length: Sectors; type: 'zero' }
export type ErrorTarget = { start?: Sectors; length: Sectors; type: 'error' }

function noArgs(type: string): TargetType {
  return {
    type,
    build(target, operation, at) {
      const c = new Checker(target, at ?? { operation })
      const extra = Object.keys(target).filter((k) => !['start', 'length', 'type', 'params'].includes(k))
      if (extra.length > 0) throw c.fail(extra[0], `is not a field of a ${type} target (it takes no arguments)`)
      return ''
    },
    parseParams: () => ({}),
    parseStatus: () => ({}),
  }
}

export const zeroType = noArgs('zero')
export const errorType = noArgs('error')

/** Reads zeroes, discards writes. */
export function zero(length: Sectors): ZeroTarget {
  return { length, type: 'zero' }
}

/** Fails every I/O. */
export function error(length: Sectors): ErrorTarget {
  return { length, type: 'error' }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    zero: {}
    error: {}
  }
  interface StatusFieldsByType {
    zero: {}
    error: {}
  }
}
