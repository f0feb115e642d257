// thin-pool `<metadata dev> <data dev> <block sectors> <low water mark (blocks)> <#features> <feature>...`
// (drivers/md/dm-thin.c; the kernel always prints the feature count, so the builder does too).
import type { Sectors, TargetType } from '../core/table'
import { Checker, Tokens, argGroup, decimal, join, lenient, type BlockDevice } from './common'

export type ThinPoolFeature = 'skip_block_zeroing' | 'ignore_discard' | 'no_discard_passdown' | 'read_only' | 'error_if_no_space'
export type ThinPoolTarget = {
  start?: Sectors
  length: Sectors
  type: 'thin-pool'
  metadataDevice: BlockDevice
  dataDevice: BlockDevice
  /** sectors: 128 (64 KiB) .. 2097152 (1 GiB), a multiple of 128; fixed for the metadata's lifetime */
  dataBlockSize: number
  /** in data blocks: free space below this raises a device event */
  lowWaterMark: number
  features?: ThinPoolFeature[]
}
export type ThinPoolParams = {
  metadataDevice: string
  dataDevice: string
  dataBlockSize: number
  lowWaterMark: number
  features: string[]
}
export type ThinPoolStatus =
  | {
      state: 'active'
      /** 64-bit: a bigint past 2^53 */
      transactionId: number | bigint
      usedMetadataBlocks: number
      totalMetadataBlocks: number
      usedDataBlocks: number
      totalDataBlocks: number
      /** metadata block of the root held for userspace (reserve_metadata_snap), null when none */
      heldMetadataRoot: number | null
      mode: 'rw' | 'ro' | 'out_of_data_space' | string
      discards: 'ignore_discard' | 'discard_passdown' | 'no_discard_passdown' | string
      noSpacePolicy: 'queue' | 'error' | string
      needsCheck: boolean
      /** metadata blocks: below this free, the pool raises an event (kernels 4.19+) */
      metadataLowWatermark?: number
      /** keywords this parser does not know, in order */
      extra?: string[]
    }
  | { state: 'failed' | 'error' | 'unknown'; text?: string }

export const THIN_POOL_FEATURES: readonly ThinPoolFeature[] = [
  'skip_block_zeroing', 'ignore_discard', 'no_discard_passdown', 'read_only', 'error_if_no_space',
]

export const thinPoolType: TargetType = {
  type: 'thin-pool',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    const block = c.uint(target.dataBlockSize, 'dataBlockSize', 128, 2097152)
    if (block % 128 !== 0) throw c.fail('dataBlockSize', `must be a multiple of 128 sectors (64 KiB), got ${block}`)
    const features = c.words(target.features, 'features')
    features.forEach((f, i) => c.oneOf(f, `features[${i}]`, THIN_POOL_FEATURES))
    if (features.length > 4) throw c.fail('features', `must have at most 4 entries, got ${features.length}`)
    if (new Set(features).size !== features.length) throw c.fail('features', 'must not repeat a feature')
    return join(
      c.device(target.metadataDevice, 'metadataDevice'),
      c.device(target.dataDevice, 'dataDevice'),
      block,
      c.uint(target.lowWaterMark, 'lowWaterMark'),
      argGroup(features, true),
    )
  },
  parseParams: lenient((t): ThinPoolParams | undefined => {
    const [metadataDevice, dataDevice] = [t.next(), t.next()]
    const dataBlockSize = t.num()
    const lowWaterMark = t.num()
    if (metadataDevice === undefined || dataDevice === undefined || dataBlockSize === undefined || lowWaterMark === undefined) {
      return undefined
    }
    const features = t.done ? [] : t.group()
    if (features === undefined || !t.done) return undefined
    return { metadataDevice, dataDevice, dataBlockSize, lowWaterMark, features }
  }),
  parseStatus: (params) => parsePoolStatus(params),
}

function parsePoolStatus(params: string): ThinPoolStatus {
  const text = params.trim()
  if (text === 'Fail') return { state: 'failed' }
  if (text === 'Error') return { state: 'error' }
  const t = new Tokens(text)
  const tx = t.peek()
  const transactionId = tx !== undefined && /^\d{1,20}$/.test(tx) ? (t.next(), decimal(tx) ?? BigInt(tx)) : undefined
  const meta = t.ratio()
  const data = t.ratio()
  const held = t.next()
  const heldMetadataRoot = held === '-' ? null : decimal(held)
  if (transactionId === undefined || !meta || !data || heldMetadataRoot === undefined) return { state: 'unknown', text }
  const out: ThinPoolStatus = {
    state: 'active',
    transactionId,
    usedMetadataBlocks: meta[0],
    totalMetadataBlocks: meta[1],
    usedDataBlocks: data[0],
    totalDataBlocks: data[1],
    heldMetadataRoot,
    mode: 'rw',
    discards: 'discard_passdown',
    noSpacePolicy: 'queue',
    needsCheck: false,
  }
  // Keywords after the numbers, in any order; older kernels stop early, so defaults stand for missing ones.
  const extra: string[] = []
  let needsCheckSeen = false
  for (let tok = t.next(); tok !== undefined; tok = t.next()) {
    if (tok === 'rw' || tok === 'ro' || tok === 'out_of_data_space') out.mode = tok
    else if (tok === 'ignore_discard' || tok === 'discard_passdown' || tok === 'no_discard_passdown') out.discards = tok
    else if (tok === 'queue_if_no_space') out.noSpacePolicy = 'queue'
    else if (tok === 'error_if_no_space') out.noSpacePolicy = 'error'
    else if (tok === 'needs_check' || (tok === '-' && !needsCheckSeen)) {
      out.needsCheck = tok === 'needs_check'
      needsCheckSeen = true
    } else if (needsCheckSeen && decimal(tok) !== undefined && out.metadataLowWatermark === undefined) {
      out.metadataLowWatermark = decimal(tok)
    } else extra.push(tok)
  }
  if (extra.length > 0) out.extra = extra
  return out
}

/** A thin pool on `metadataDevice` and `dataDevice`. Defaults: 64 KiB data blocks (128 sectors), low water mark 0, no features. */
export function thinPool(
  length: Sectors,
  metadataDevice: BlockDevice,
  dataDevice: BlockDevice,
  options: { dataBlockSize?: number; lowWaterMark?: number; features?: ThinPoolFeature[] } = {},
): ThinPoolTarget {
  return {
    length,
    type: 'thin-pool',
    metadataDevice,
    dataDevice,
    dataBlockSize: options.dataBlockSize ?? 128,
    lowWaterMark: options.lowWaterMark ?? 0,
    features: options.features ?? [],
  }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    'thin-pool': ThinPoolParams
  }
  interface StatusFieldsByType {
    'thin-pool': ThinPoolStatus
  }
}
