// cache `<metadata dev> <cache dev> <origin dev> <block sectors> <#features> <feature>... <policy> <#policy args>
// <key> <value>...` (Documentation/admin-guide/device-mapper/cache.rst). The kernel echoes everything after the
// three devices as given, so tables round-trip exactly.
import type { Sectors, TargetType } from '../core/table'
import { Checker, Tokens, argGroup, decimal, join, lenient, type BlockDevice } from './common'

export type CacheFeature = 'writethrough' | 'writeback' | 'passthrough' | 'metadata2' | 'no_discard_passdown'
export type CacheTarget = {
  start?: Sectors
  length: Sectors
  type: 'cache'
  metadataDevice: BlockDevice
  cacheDevice: BlockDevice
  originDevice: BlockDevice
  /** sectors: 64 (32 KiB) .. 2097152 (1 GiB), a multiple of 64 */
  blockSize: number
  features?: CacheFeature[]
  /** 'smq' (default policy), 'mq' (an alias of smq), 'cleaner' */
  policy?: string
  /** policy (and core) tunables, e.g. { migration_threshold: 2048 } */
  policyArgs?: Record<string, string | number>
}
export type CacheParams = {
  metadataDevice: string
  cacheDevice: string
  originDevice: string
  blockSize: number
  features: string[]
  policy: string
  policyArgs: Record<string, string | number>
}
export type CacheStatus =
  | {
      state: 'active'
      metadataBlockSize: number
      usedMetadataBlocks: number
      totalMetadataBlocks: number
      cacheBlockSize: number
      usedCacheBlocks: number
      totalCacheBlocks: number
      readHits: number
      readMisses: number
      writeHits: number
      writeMisses: number
      demotions: number
      promotions: number
      dirty: number
      features: string[]
      coreArgs: Record<string, string | number>
      policy: string
      policyArgs: Record<string, string | number>
      mode: 'rw' | 'ro' | string
      needsCheck: boolean
      extra?: string[]
    }
  | { state: 'failed' | 'error' | 'unknown'; text?: string }

const FEATURES: readonly CacheFeature[] = ['writethrough', 'writeback', 'passthrough', 'metadata2', 'no_discard_passdown']

/** Numbers where the text is a canonical decimal, so '0010' stays a string and rebuilds exactly. */
function value(s: string): string | number {
  const n = decimal(s)
  return n !== undefined && String(n) === s ? n : s
}

function pairs(args: string[] | undefined): Record<string, string | number> | undefined {
  if (args === undefined || args.length % 2 !== 0) return undefined
  const out: Record<string, string | number> = {}
  for (let i = 0; i < args.length; i += 2) out[args[i]] = value(args[i + 1])
  return out
}

export const cacheType: TargetType = {
  type: 'cache',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    const block = c.uint(target.blockSize, 'blockSize', 64, 2097152)
    if (block % 64 !== 0) throw c.fail('blockSize', `must be a multiple of 64 sectors (32 KiB), got ${block}`)
    const features = c.words(target.features, 'features')
    features.forEach((f, i) => c.oneOf(f, `features[${i}]`, FEATURES))
    if (features.filter((f) => f.startsWith('write') || f === 'passthrough').length > 1) {
      throw c.fail('features', 'must name at most one of writethrough, writeback, passthrough')
    }
    const args: string[] = []
    const policyArgs = target.policyArgs === undefined ? {} : c.object(target.policyArgs, 'policyArgs')
    for (const [k, v] of Object.entries(policyArgs)) {
      args.push(c.word(k, 'policyArgs key'), typeof v === 'number' ? String(c.uint(v, `policyArgs.${k}`)) : c.word(v, `policyArgs.${k}`))
    }
    return join(
      c.device(target.metadataDevice, 'metadataDevice'),
      c.device(target.cacheDevice, 'cacheDevice'),
      c.device(target.originDevice, 'originDevice'),
      block,
      argGroup(features, true),
      c.word(target.policy ?? 'smq', 'policy'),
      argGroup(args, true),
    )
  },
  parseParams: lenient((t): CacheParams | undefined => {
    const [metadataDevice, cacheDevice, originDevice] = [t.next(), t.next(), t.next()]
    const blockSize = t.num()
    const features = t.group()
    const policy = t.next()
    const policyArgs = pairs(t.group())
    if (metadataDevice === undefined || cacheDevice === undefined || originDevice === undefined) return undefined
    if (blockSize === undefined || features === undefined || policy === undefined || policyArgs === undefined || !t.done) return undefined
    return { metadataDevice, cacheDevice, originDevice, blockSize, features, policy, policyArgs }
  }),
  parseStatus(params: string): CacheStatus {
    const text = params.trim()
    if (text === 'Fail') return { state: 'failed' }
    if (text === 'Error') return { state: 'error' }
    const t = new Tokens(text)
    const metadataBlockSize = t.num()
    const meta = t.ratio()
    const cacheBlockSize = t.num()
    const blocks = t.ratio()
    const counters = [t.num(), t.num(), t.num(), t.num(), t.num(), t.num(), t.num()]
    const features = t.group()
    const coreArgs = pairs(t.group())
    const policy = t.next()
    const policyArgs = pairs(t.group())
    if (metadataBlockSize === undefined || !meta || cacheBlockSize === undefined || !blocks || counters.includes(undefined)) {
      return { state: 'unknown', text }
    }
    if (!features || !coreArgs || policy === undefined || !policyArgs) return { state: 'unknown', text }
    const [readHits, readMisses, writeHits, writeMisses, demotions, promotions, dirty] = counters as number[]
    const mode = t.next() ?? 'rw'
    const needsCheck = t.next() === 'needs_check'
    const extra = t.rest()
    return {
      state: 'active',
      metadataBlockSize,
      usedMetadataBlocks: meta[0],
      totalMetadataBlocks: meta[1],
      cacheBlockSize,
      usedCacheBlocks: blocks[0],
      totalCacheBlocks: blocks[1],
      readHits,
      readMisses,
      writeHits,
      writeMisses,
      demotions,
      promotions,
      dirty,
      features,
      coreArgs,
      policy,
      policyArgs,
      mode,
      needsCheck,
      ...(extra.length > 0 ? { extra } : {}),
    }
  },
}

/** A cache target: `originDevice` cached on `cacheDevice`, with its metadata on `metadataDevice`. Defaults: 256 KiB blocks (512 sectors), policy smq. */
export function cache(
  length: Sectors,
  devices: { metadataDevice: BlockDevice; cacheDevice: BlockDevice; originDevice: BlockDevice },
  options: { blockSize?: number; features?: CacheFeature[]; policy?: string; policyArgs?: Record<string, string | number> } = {},
): CacheTarget {
  return {
    length,
    type: 'cache',
    ...devices,
    blockSize: options.blockSize ?? 512,
    features: options.features ?? [],
    policy: options.policy ?? 'smq',
    policyArgs: options.policyArgs ?? {},
  }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    cache: CacheParams
  }
  interface StatusFieldsByType {
    cache: CacheStatus
  }
}
