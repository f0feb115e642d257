// STAND-IN until the metadata-size branch lands ts/volumes/options.ts and sizes.ts: the option set and dm.*
// driver options resolved into a config with defaults. Deleted on merge.
import { invalid } from '../core/errors'
import type { FsType } from './store'
import { parseSize, type Size } from './sizes'

export { parseSize }

export interface VolumeManagerOptions {
  root: string
  dataDevice?: string
  metadataDevice?: string
  thinPoolDevice?: string
  loopDataSize?: Size
  loopMetadataSize?: Size
  poolName?: string
  blockSize?: Size
  defaultVolumeSize?: Size
  fs?: FsType
  mkfsArgs?: string[]
  mountOptions?: string
  discard?: boolean
  minFreeSpace?: string
  driverOptions?: string[]
  autoExtend?: boolean
}

export interface VolumeConfig {
  root: string
  dataDevice?: string
  metadataDevice?: string
  thinPoolDevice?: string
  loopDataSize: number
  loopMetadataSize: number
  poolName?: string
  blockSize: number
  defaultVolumeSize: number
  fs: FsType
  mkfsArgs: string[]
  mountOptions?: string
  discard: boolean
  minFreeSpace: number
  autoExtend: boolean
}

export function resolveOptions(o: VolumeManagerOptions): VolumeConfig {
  const op = 'open'
  if (o === null || typeof o !== 'object') throw invalid(op, 'options', 'must be an object')
  if (typeof o.root !== 'string' || !o.root.startsWith('/')) throw invalid(op, 'root', 'must be an absolute path')
  const merged: Record<string, unknown> = { ...o }
  const set = (key: string, field: string, value: unknown): void => {
    if (merged[field] !== undefined && String(merged[field]) !== String(value)) {
      throw invalid(op, field, `is given as ${String(merged[field])} and as ${key}=${String(value)}; they must agree`)
    }
    merged[field] = value
  }
  for (const d of o.driverOptions ?? []) {
    const eq = d.indexOf('=')
    if (eq < 0) throw invalid(op, 'driverOptions', `entry '${d}' is not key=value`)
    const key = d.slice(0, eq).trim().toLowerCase()
    const val = d.slice(eq + 1).trim()
    switch (key) {
      case 'dm.datadev': set(key, 'dataDevice', val); break
      case 'dm.metadatadev': set(key, 'metadataDevice', val); break
      case 'dm.thinpooldev': set(key, 'thinPoolDevice', val.replace(/^\/dev\/mapper\//, '')); break
      case 'dm.loopdatasize': set(key, 'loopDataSize', parseSize(val, key, 'open')); break
      case 'dm.loopmetadatasize': set(key, 'loopMetadataSize', parseSize(val, key, 'open')); break
      case 'dm.thinpoolname': set(key, 'poolName', val); break
      case 'dm.blocksize': set(key, 'blockSize', parseSize(val, key, 'open')); break
      case 'dm.thinpoolblocksize': set(key, 'blockSize', parseSize(val, key, 'open') * 512); break
      case 'dm.basesize': case 'dm.defaultvolumesize': set(key, 'defaultVolumeSize', parseSize(val, key, 'open')); break
      case 'dm.fs': set(key, 'fs', val); break
      case 'dm.mkfsarg': merged.mkfsArgs = [...((merged.mkfsArgs as string[]) ?? []), val]; break
      case 'dm.mountopt': set(key, 'mountOptions', val); break
      case 'dm.blkdiscard': set(key, 'discard', val === 'true'); break
      case 'dm.min_free_space': set(key, 'minFreeSpace', val); break
      default: throw invalid(op, 'driverOptions', `has an unknown key '${key}'`)
    }
  }
  const dataDevice = merged.dataDevice as string | undefined
  const metadataDevice = merged.metadataDevice as string | undefined
  if ((dataDevice === undefined) !== (metadataDevice === undefined)) throw invalid(op, 'dataDevice', 'and metadataDevice must be given both or neither')
  const blockSize = parseSize(merged.blockSize ?? 65536, 'blockSize', 'open')
  const sectors = blockSize / 512
  if (!Number.isInteger(sectors) || sectors < 128 || sectors > 2097152 || sectors % 128 !== 0) {
    throw invalid(op, 'blockSize', `must be 64K..1G in multiples of 64K (128..2097152 sectors, multiple of 128), got ${blockSize} bytes`)
  }
  const fs = (merged.fs ?? 'ext4') as FsType
  if (!['ext4', 'xfs', 'none'].includes(fs)) throw invalid(op, 'fs', `must be ext4, xfs or none, got ${String(fs)}`)
  const mfs = String(merged.minFreeSpace ?? '10%')
  const pm = /^(\d+(?:\.\d+)?)%$/.exec(mfs)
  if (!pm || Number(pm[1]) >= 100) throw invalid(op, 'minFreeSpace', `must be a percentage below 100% like '10%', got '${mfs}'`)
  const loopDataSize = parseSize(merged.loopDataSize ?? '100G', 'loopDataSize', 'open')
  if (loopDataSize % blockSize !== 0 || loopDataSize < blockSize) throw invalid(op, 'loopDataSize', `must be a non-zero multiple of the block size ${blockSize}, got ${loopDataSize}`)
  const loopMetadataSize = parseSize(merged.loopMetadataSize ?? '2G', 'loopMetadataSize', 'open')
  if (loopMetadataSize % 4096 !== 0 || loopMetadataSize < 2 * 2 ** 20) throw invalid(op, 'loopMetadataSize', `must be a multiple of 4096 and at least 2M, got ${loopMetadataSize}`)
  const defaultVolumeSize = parseSize(merged.defaultVolumeSize ?? '10G', 'defaultVolumeSize', 'open')
  if (defaultVolumeSize === 0 || defaultVolumeSize % 512 !== 0) throw invalid(op, 'defaultVolumeSize', `must be a non-zero multiple of 512 bytes, got ${defaultVolumeSize}`)
  const thinPoolDevice = merged.thinPoolDevice as string | undefined
  return {
    root: o.root.replace(/\/+$/, '') || '/',
    dataDevice,
    metadataDevice,
    thinPoolDevice: thinPoolDevice?.replace(/^\/dev\/mapper\//, ''),
    loopDataSize,
    loopMetadataSize,
    poolName: merged.poolName as string | undefined,
    blockSize,
    defaultVolumeSize,
    fs,
    mkfsArgs: (merged.mkfsArgs as string[]) ?? [],
    mountOptions: merged.mountOptions as string | undefined,
    discard: (merged.discard as boolean | undefined) ?? (dataDevice === undefined && thinPoolDevice === undefined),
    minFreeSpace: Number(pm[1]),
    autoExtend: o.autoExtend === true,
  }
}
