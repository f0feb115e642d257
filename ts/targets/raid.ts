// raid `<raid type> <#params> <chunk sectors> [<param>...] <#devices> (<metadata dev|-> <data dev|->)...`
// (Documentation/admin-guide/device-mapper/dm-raid.rst; md personalities raid1/raid10/raid4-6 underneath).
// Status: `<type> <#devices> <health chars> <synced>/<total> <sync action> <mismatches> [<data offset> [<journal>]]`.
import type { Sectors, TargetType } from '../core/table'
import { Checker, Tokens, argGroup, decimal, join, lenient, type BlockDevice } from './common'

export type RaidDevice = { metadata: BlockDevice | null; data: BlockDevice | null }
export type RaidTarget = {
  start?: Sectors
  length: Sectors
  type: 'raid'
  /** raid0, raid1, raid10, raid4, raid5_la, raid6_zr, ... */
  raidType: string
  /** sectors per chunk (ignored, but required, for raid1: pass 0) */
  chunkSize: number
  /** the optional raid params after the chunk size, e.g. ['region_size', '1024', 'nosync'] */
  options?: string[]
  devices: RaidDevice[]
}
export type RaidParams = {
  raidType: string
  chunkSize: number
  options: string[]
  devices: { metadata: string | null; data: string | null }[]
}
export type RaidStatus =
  | {
      state: 'active'
      raidType: string
      /** per device: A alive and in sync, a alive but not in sync, D dead/failed, - no device */
      health: string
      syncedSectors: number
      totalSectors: number
      /** idle, frozen, resync, recover, check, repair, reshape */
      syncAction: string
      mismatchCount: number
      dataOffset?: number
      journal?: string
      extra?: string[]
    }
  | { state: 'unknown'; text: string }

export const raidType: TargetType = {
  type: 'raid',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    const devices = c.array(target.devices, 'devices', 1).map((d, i) => {
      const o = c.object(d, `devices[${i}]`)
      const dev = (v: unknown, f: string) => (v === null || v === undefined ? '-' : c.device(v, f))
      return join(dev(o.metadata, `devices[${i}].metadata`), dev(o.data, `devices[${i}].data`))
    })
    const params = [String(c.uint(target.chunkSize, 'chunkSize', 0, 0xffffffff)), ...c.words(target.options, 'options')]
    return join(c.word(target.raidType, 'raidType'), argGroup(params, true), devices.length, ...devices)
  },
  parseParams: lenient((t): RaidParams | undefined => {
    const raidType = t.next()
    const params = t.group()
    const n = t.num()
    const chunkSize = params && params.length > 0 ? decimal(params[0]) : undefined
    if (raidType === undefined || !params || chunkSize === undefined || n === undefined || t.all.length - t.pos !== 2 * n) return undefined
    const devices = []
    for (let i = 0; i < n; i++) {
      const [m, d] = [t.next()!, t.next()!]
      devices.push({ metadata: m === '-' ? null : m, data: d === '-' ? null : d })
    }
    return { raidType, chunkSize, options: params.slice(1), devices }
  }),
  parseStatus(params: string): RaidStatus {
    const text = params.trim()
    const t = new Tokens(text)
    const raidType = t.next()
    const n = t.num()
    const health = t.next()
    const sync = t.ratio()
    const syncAction = t.next()
    const mismatchCount = t.num()
    if (raidType === undefined || n === undefined || health === undefined || !sync || syncAction === undefined || mismatchCount === undefined) {
      return { state: 'unknown', text }
    }
    const out: RaidStatus = { state: 'active', raidType, health, syncedSectors: sync[0], totalSectors: sync[1], syncAction, mismatchCount }
    const dataOffset = t.num()
    if (dataOffset !== undefined) out.dataOffset = dataOffset
    const journal = dataOffset === undefined ? undefined : t.next()
    if (journal !== undefined) out.journal = journal
    const extra = t.rest()
    if (extra.length > 0) out.extra = extra
    return out
  },
}


/**
 * A dm-raid target over md's personalities: `devices` are `{ metadata, data }` pairs (null for none; metadata
 * devices keep the array's superblock and bitmap). `chunkSize` in sectors defaults to 0 for raid1 (which ignores
 * it but requires the field) and to 128 (64 KiB) otherwise; `options` are the optional raid params, e.g.
 * `['region_size', '1024', 'nosync']`.
 */
export function raid(length: Sectors, raidType: string, devices: RaidDevice[], options: { chunkSize?: number; options?: string[] } = {}): RaidTarget {
  return {
    length,
    type: 'raid',
    raidType,
    chunkSize: options.chunkSize ?? (raidType === 'raid1' ? 0 : 128),
    options: options.options ?? [],
    devices: devices.map((d) => ({ metadata: d.metadata ?? null, data: d.data ?? null })),
  }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    raid: RaidParams
  }
  interface StatusFieldsByType {
    raid: RaidStatus
  }
}
