// flakey `<dev> <offset> <up seconds> <down seconds> <#feature args> <feature>...` (drivers/md/dm-flakey.c):
// the device works for `upInterval` seconds, then misbehaves for `downInterval` seconds. Without features, a
// down device fails all I/O. The kernel always prints the feature-argument count, so the builder does too.
import type { Sectors, TargetType } from '../core/table'
import { Checker, decimal, join, lenient, type BlockDevice } from './common'

/** corrupt_bio_byte: while down, set byte `byte` (1-based) of matching bios to `value`. */
export type CorruptBioByte = { corruptBioByte: number; direction: 'r' | 'w'; value: number; flags: number }
/** drop_writes / error_writes / error_reads (6.5+ kernels), or a corrupt_bio_byte rule */
export type FlakeyFeature = 'drop_writes' | 'error_writes' | 'error_reads' | CorruptBioByte
export type FlakeyTarget = {
  start?: Sectors
  length: Sectors
  type: 'flakey'
  device: BlockDevice
  offset: Sectors
  upInterval: number
  downInterval: number
  features?: FlakeyFeature[]
}
export type FlakeyParams = { device: string; offset: number; upInterval: number; downInterval: number; features: FlakeyFeature[] }

const WORDS = ['drop_writes', 'error_writes', 'error_reads'] as const

export const flakeyType: TargetType = {
  type: 'flakey',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    const args: string[] = []
    const features = target.features === undefined ? [] : c.array(target.features, 'features')
    features.forEach((f, i) => {
      const field = `features[${i}]`
      if (typeof f === 'string') return args.push(c.oneOf(f, field, WORDS))
      const o = c.object(f, field)
      args.push(
        'corrupt_bio_byte',
        String(c.uint(o.corruptBioByte, `${field}.corruptBioByte`, 1, 0xffffffff)),
        c.oneOf(o.direction, `${field}.direction`, ['r', 'w']),
        String(c.uint(o.value, `${field}.value`, 0, 255)),
        String(c.uint(o.flags ?? 0, `${field}.flags`, 0, 0xffffffff)),
      )
    })
    if (features.includes('drop_writes') && features.includes('error_writes')) {
      throw c.fail('features', "must not have both 'drop_writes' and 'error_writes'")
    }
    return join(
      c.device(target.device, 'device'),
      c.sectors(target.offset ?? 0, 'offset'),
      c.uint(target.upInterval, 'upInterval', 0, 0xffffffff),
      c.uint(target.downInterval, 'downInterval', 0, 0xffffffff),
      args.length,
      ...args,
    )
  },
  parseParams: lenient((t): FlakeyParams | undefined => {
    const device = t.next()
    const [offset, upInterval, downInterval] = [t.num(), t.num(), t.num()]
    if (device === undefined || offset === undefined || upInterval === undefined || downInterval === undefined) return undefined
    const args = t.done ? [] : t.group()
    if (args === undefined || !t.done) return undefined
    const features = parseFeatures(args)
    return features && { device, offset, upInterval, downInterval, features }
  }),
  parseStatus: () => ({}),
}

function parseFeatures(args: string[]): FlakeyFeature[] | undefined {
  const out: FlakeyFeature[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === 'corrupt_bio_byte') {
      const [byte, direction, value, flags] = [decimal(args[i + 1]), args[i + 2], decimal(args[i + 3]), decimal(args[i + 4])]
      if (byte === undefined || (direction !== 'r' && direction !== 'w') || value === undefined || flags === undefined) return undefined
      out.push({ corruptBioByte: byte, direction, value, flags })
      i += 4
    } else if ((WORDS as readonly string[]).includes(a)) out.push(a as FlakeyFeature)
    else return undefined
  }
  return out
}

/** A flakey target over `device`: available for `upInterval` seconds, then failing (or corrupting, per `features`) for `downInterval` seconds. */
export function flakey(
  length: Sectors,
  device: BlockDevice,
  options: { offset?: Sectors; upInterval: number; downInterval: number; features?: FlakeyFeature[] },
): FlakeyTarget {
  return {
    length,
    type: 'flakey',
    device,
    offset: options.offset ?? 0,
    upInterval: options.upInterval,
    downInterval: options.downInterval,
    features: options.features ?? [],
  }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    flakey: FlakeyParams
  }
  interface StatusFieldsByType {
    flakey: {}
  }
}
