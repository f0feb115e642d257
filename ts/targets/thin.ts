// thin `<pool dev> <24-bit dev id> [<external origin dev>]` (drivers/md/dm-thin.c). Status:
// `<mapped sectors> <highest mapped sector|->`, or Fail / Error, or '-' while the device is being torn down.
import type { Sectors, TargetType } from '../core/table'
import { Checker, decimal, join, lenient, type BlockDevice } from './common'

/** The kernel's MAX_DEV_ID: thin device ids are 24-bit. */
export const MAX_THIN_ID = 2 ** 24 - 1

export type ThinTarget = {
  start?: Sectors
  length: Sectors
  type: 'thin'
  pool: BlockDevice
  /** the pool's id for this volume, 0..2^24-1 (create it first with the pool message `create_thin <id>`) */
  deviceId: number
  /** read-only device that supplies unprovisioned blocks */
  externalOrigin?: BlockDevice
}
export type ThinParams = { pool: string; deviceId: number; externalOrigin?: string }
export type ThinStatus =
  | { state: 'active'; mappedSectors: number; highestMappedSector: number | null }
  | { state: 'failed' | 'error' | 'inactive' | 'unknown'; text?: string }

export const thinType: TargetType = {
  type: 'thin',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    return join(
      c.device(target.pool, 'pool'),
      c.uint(target.deviceId, 'deviceId', 0, MAX_THIN_ID),
      target.externalOrigin === undefined ? undefined : c.device(target.externalOrigin, 'externalOrigin'),
    )
  },
  parseParams: lenient((t): ThinParams | undefined => {
    const pool = t.next()
    const deviceId = t.num()
    const origin = t.next()
    if (pool === undefined || deviceId === undefined || !t.done) return undefined
    return origin === undefined ? { pool, deviceId } : { pool, deviceId, externalOrigin: origin }
  }),
  parseStatus(params: string): ThinStatus {
    const text = params.trim()
    if (text === 'Fail') return { state: 'failed' }
    if (text === 'Error') return { state: 'error' }
    if (text === '-') return { state: 'inactive' }
    const m = /^(\d+)\s+(\d+|-)$/.exec(text)
    const mapped = decimal(m?.[1])
    const highest = m?.[2] === '-' ? null : decimal(m?.[2])
    if (mapped === undefined || highest === undefined) return { state: 'unknown', text }
    return { state: 'active', mappedSectors: mapped, highestMappedSector: highest }
  },
}

/** A thin device: id `deviceId` of the thin pool `pool`, optionally over a read-only `externalOrigin`. */
export function thin(length: Sectors, pool: BlockDevice, deviceId: number, externalOrigin?: BlockDevice): ThinTarget {
  const out: ThinTarget = { length, type: 'thin', pool, deviceId }
  if (externalOrigin !== undefined) out.externalOrigin = externalOrigin
  return out
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    thin: ThinParams
  }
  interface StatusFieldsByType {
    thin: ThinStatus
  }
}
