// snapshot-origin `<origin>`; snapshot and snapshot-merge `<origin> <cow> <P|PO|N> <chunk sectors>
// [<#features> discard_zeroes_cow [discard_passdown_origin]]` (drivers/md/dm-snap.c). Snapshot status:
// `<allocated>/<total> <metadata>` in sectors, or Invalid, Overflow, Merge failed, Unknown.
import type { Sectors, TargetType } from '../core/table'
import { Checker, argGroup, decimal, join, lenient, type BlockDevice } from './common'

export type SnapshotOriginTarget = { start?: Sectors; length: Sectors; type: 'snapshot-origin'; origin: BlockDevice }
export type SnapshotOriginParams = { origin: string }
export type Persistence = 'P' | 'PO' | 'N'
export type SnapshotFeature = 'discard_zeroes_cow' | 'discard_passdown_origin'
export type SnapshotTarget = {
  start?: Sectors
  length: Sectors
  type: 'snapshot' | 'snapshot-merge'
  origin: BlockDevice
  cow: BlockDevice
  /** P: persistent COW, PO: persistent with overflow reporting, N: transient */
  persistent: Persistence
  /** sectors, a power of 2 (0 with P/PO: use the chunk size stored on an existing COW device) */
  chunkSize: number
  features?: SnapshotFeature[]
}
export type SnapshotParams = { origin: string; cow: string; persistent: Persistence; chunkSize: number; features: SnapshotFeature[] }
export type SnapshotStatus =
  | { state: 'active'; allocatedSectors: number; totalSectors: number; metadataSectors: number; merged?: boolean }
  | { state: 'invalid' | 'overflow' | 'merge failed' | 'unknown'; text?: string }

const FEATURES: readonly SnapshotFeature[] = ['discard_zeroes_cow', 'discard_passdown_origin']

export const snapshotOriginType: TargetType = {
  type: 'snapshot-origin',
  build(target, operation, at) {
    return new Checker(target, at ?? { operation }).device(target.origin, 'origin')
  },
  parseParams: lenient((t): SnapshotOriginParams | undefined => {
    const origin = t.next()
    return origin !== undefined && t.done ? { origin } : undefined
  }),
  parseStatus: () => ({}),
}

function snapshotKind(type: 'snapshot' | 'snapshot-merge'): TargetType {
  return {
    type,
    build(target, operation, at) {
      const c = new Checker(target, at ?? { operation })
      const persistent = c.oneOf(target.persistent, 'persistent', type === 'snapshot' ? ['P', 'PO', 'N'] : ['P', 'PO'])
      const chunk = c.uint(target.chunkSize, 'chunkSize', 0, 2 ** 31)
      if (chunk === 0 ? persistent === 'N' : (chunk & (chunk - 1)) !== 0) {
        throw c.fail('chunkSize', `must be a power of 2 (or 0 with a persistent COW device), got ${chunk}`)
      }
      const features = c.words(target.features, 'features')
      features.forEach((f, i) => c.oneOf(f, `features[${i}]`, FEATURES))
      if (new Set(features).size !== features.length) throw c.fail('features', 'must not repeat a feature')
      if (features.includes('discard_passdown_origin') && !features.includes('discard_zeroes_cow')) {
        throw c.fail('features', "'discard_passdown_origin' needs 'discard_zeroes_cow'")
      }
      return join(c.device(target.origin, 'origin'), c.device(target.cow, 'cow'), persistent, chunk, argGroup(features, false))
    },
    parseParams: lenient((t): SnapshotParams | undefined => {
      const [origin, cow, persistent] = [t.next(), t.next(), t.next()]
      const chunkSize = t.num()
      if (origin === undefined || cow === undefined || chunkSize === undefined) return undefined
      if (persistent !== 'P' && persistent !== 'PO' && persistent !== 'N') return undefined
      const features = t.done ? [] : t.group()
      if (features === undefined || !t.done) return undefined
      return { origin, cow, persistent, chunkSize, features: features as SnapshotFeature[] }
    }),
    parseStatus(params: string): SnapshotStatus {
      const text = params.trim()
      const m = /^(\d+)\/(\d+)\s+(\d+)$/.exec(text)
      // counts past 2^53 are not rounded: the line stays raw ('unknown' with its exact text)
      const [allocatedSectors, totalSectors, metadataSectors] = m ? [decimal(m[1]), decimal(m[2]), decimal(m[3])] : []
      if (allocatedSectors !== undefined && totalSectors !== undefined && metadataSectors !== undefined) {
        const out: SnapshotStatus = { state: 'active', allocatedSectors, totalSectors, metadataSectors }
        // a merge is complete once only metadata is left in the COW device
        if (type === 'snapshot-merge') out.merged = allocatedSectors === metadataSectors
        return out
      }
      const state = ({ Invalid: 'invalid', Overflow: 'overflow', 'Merge failed': 'merge failed' } as const)[text as 'Invalid']
      return state ? { state } : { state: 'unknown', text }
    },
  }
}

export const snapshotType = snapshotKind('snapshot')
export const snapshotMergeType = snapshotKind('snapshot-merge')

/** The snapshot-origin target over `origin`: writes to it copy the old chunks into every snapshot first. */
export function snapshotOrigin(length: Sectors, origin: BlockDevice): SnapshotOriginTarget {
  return { length, type: 'snapshot-origin', origin }
}

/** A snapshot of `origin` keeping changed chunks on `cow`. Defaults: persistent (P), 8 KiB chunks (16 sectors); `merge: true` gives snapshot-merge. */
export function snapshot(
  length: Sectors,
  origin: BlockDevice,
  cow: BlockDevice,
  options: { persistent?: Persistence; chunkSize?: number; features?: SnapshotFeature[]; merge?: boolean } = {},
): SnapshotTarget {
  return {
    length,
    type: options.merge ? 'snapshot-merge' : 'snapshot',
    origin,
    cow,
    persistent: options.persistent ?? 'P',
    chunkSize: options.chunkSize ?? 16,
    features: options.features ?? [],
  }
}


/**
 * snapshot-merge: loaded in place of the origin's snapshot-origin table (the snapshot's own device removed),
 * it merges the COW device back into the origin; status `merged: true` once it has drained. The COW must be
 * persistent ('P' or 'PO'); its stored chunk size is used when `chunkSize` is 0.
 */
export function snapshotMerge(
  length: Sectors,
  origin: BlockDevice,
  cow: BlockDevice,
  options: { persistent?: 'P' | 'PO'; chunkSize?: number; features?: SnapshotFeature[] } = {},
): SnapshotTarget {
  return snapshot(length, origin, cow, { ...options, merge: true })
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    'snapshot-origin': SnapshotOriginParams
    snapshot: SnapshotParams
    'snapshot-merge': SnapshotParams
  }
  interface StatusFieldsByType {
    'snapshot-origin': {}
    snapshot: SnapshotStatus
    'snapshot-merge': SnapshotStatus
  }
}
