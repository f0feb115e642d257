// mirror `<log type> <#log args> <log args> <#mirrors> (<dev> <offset>)... [<#features> <feature>...]`
// (drivers/md/dm-raid1.c). Logs: `core <region> [sync|nosync]` in memory, `disk <dev> <region> [sync|nosync]`
// on a log device. Status: `<#mirrors> <dev>... <in sync>/<regions> 1 <health chars> <#log status> <log status>`.
import type { Sectors, TargetType } from '../core/table'
import { Checker, Tokens, argGroup, decimal, join, lenient, type BlockDevice } from './common'

export type MirrorLog =
  | { type: 'core'; regionSize: number; sync?: 'sync' | 'nosync' }
  | { type: 'disk'; device: BlockDevice; regionSize: number; sync?: 'sync' | 'nosync' }
/** mirror features: handle_errors (a failed leg is taken out instead of ignored), keep_log (needs handle_errors) */
export type MirrorFeature = 'handle_errors' | 'keep_log'
export type MirrorTarget = {
  start?: Sectors
  length: Sectors
  type: 'mirror'
  log: MirrorLog
  mirrors: { device: BlockDevice; offset: number }[]
  /** handle_errors, keep_log */
  features?: string[]
}
export type MirrorParams = {
  log: { type: 'core'; regionSize: number; sync?: 'sync' | 'nosync' } | { type: 'disk'; device: string; regionSize: number; sync?: 'sync' | 'nosync' }
  mirrors: { device: string; offset: number }[]
  features: string[]
}
export type MirrorStatus =
  | {
      state: 'active'
      /** per mirror: A alive, D dead, S sync failure, R read failure, F flush failure, U unclassified */
      mirrors: { device: string; health: string }[]
      syncedRegions: number
      totalRegions: number
      log: string[]
    }
  | { state: 'unknown'; text: string }

export const mirrorType: TargetType = {
  type: 'mirror',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    const log = c.object(target.log, 'log')
    const kind = c.oneOf(log.type, 'log.type', ['core', 'disk'])
    const logArgs = [
      ...(kind === 'disk' ? [c.device(log.device, 'log.device')] : []),
      String(c.uint(log.regionSize, 'log.regionSize', 1, 0xffffffff)),
      ...(log.sync === undefined ? [] : [c.oneOf(log.sync, 'log.sync', ['sync', 'nosync'])]),
    ]
    const mirrors = c.array(target.mirrors, 'mirrors', 1).map((m, i) => {
      const o = c.object(m, `mirrors[${i}]`)
      return join(c.device(o.device, `mirrors[${i}].device`), c.uint(o.offset ?? 0, `mirrors[${i}].offset`))
    })
    const features = c.words(target.features, 'features')
    features.forEach((f, i) => c.oneOf(f, `features[${i}]`, ['handle_errors', 'keep_log']))
    return join(kind, argGroup(logArgs, true), mirrors.length, ...mirrors, argGroup(features, false))
  },
  parseParams: lenient((t): MirrorParams | undefined => {
    const kind = t.next()
    const args = t.group()
    const n = t.num()
    if ((kind !== 'core' && kind !== 'disk') || !args || n === undefined) return undefined
    const [device, region, sync] = kind === 'disk' ? args : [undefined, ...args]
    const regionSize = decimal(region)
    if (regionSize === undefined || args.length > (kind === 'disk' ? 3 : 2)) return undefined
    if (sync !== undefined && sync !== 'sync' && sync !== 'nosync') return undefined
    const log: MirrorParams['log'] = kind === 'disk' ? { type: 'disk', device: device!, regionSize } : { type: 'core', regionSize }
    if (sync) log.sync = sync
    const mirrors = []
    for (let i = 0; i < n; i++) {
      const dev = t.next()
      const offset = t.num()
      if (dev === undefined || offset === undefined) return undefined
      mirrors.push({ device: dev, offset })
    }
    const features = t.done ? [] : t.group()
    if (!features || !t.done) return undefined
    return { log, mirrors, features }
  }),
  parseStatus(params: string): MirrorStatus {
    const text = params.trim()
    const t = new Tokens(text)
    const n = t.num()
    const devices = n === undefined || n > t.all.length ? [] : t.all.slice(t.pos, t.pos + n)
    t.pos += devices.length
    const sync = t.ratio()
    const one = t.next()
    const health = t.next() ?? ''
    const log = t.group()
    if (n === undefined || devices.length !== n || !sync || one !== '1' || !log) return { state: 'unknown', text }
    return {
      state: 'active',
      mirrors: devices.map((device, i) => ({ device, health: health[i] ?? '' })),
      syncedRegions: sync[0],
      totalRegions: sync[1],
      log,
    }
  },
}


/**
 * A mirror target (dm-raid1) writing every leg and reading from any in sync. Defaults: an in-memory log
 * (`{ type: 'core', regionSize: 1024 }`: legs resync in full after every activation), offsets 0, no features.
 */
export function mirror(
  length: Sectors,
  mirrors: { device: BlockDevice; offset?: number }[],
  options: { log?: MirrorLog; features?: MirrorFeature[] } = {},
): MirrorTarget {
  return {
    length,
    type: 'mirror',
    log: options.log ?? { type: 'core', regionSize: 1024 },
    mirrors: mirrors.map((m) => ({ device: m.device, offset: m.offset ?? 0 })),
    features: options.features ?? [],
  }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    mirror: MirrorParams
  }
  interface StatusFieldsByType {
    mirror: MirrorStatus
  }
}
