// VolumeManager's options (and the same as Docker/Convoy dm.* strings, see driver-options.ts) resolved into one
// checked config with defaults. Pure: nothing here touches the disk or the kernel. Every refusal is a DmError
// (EINVAL, operation 'open') whose field is the option's name, also when the value came from a dm.* string.
import { isAbsolute, resolve } from 'node:path'
import { invalid } from '../core/errors'
import { checkName } from '../core/validate'
import { OPERATION as op, parseDriverOptions, sameValue, type Given } from './driver-options'
import { SECTOR_BYTES, parseSize, type Size } from './sizes'

export type FsType = 'ext4' | 'xfs' | 'none'

export interface AutoExtendOptions {
  /** grow the data file when the pool's data is this percent used, 1..99 (default 80, dm.thinp_autoextend_threshold) */
  threshold?: number
  /** by this percent of its size, 1..100 (default 20, dm.thinp_autoextend_percent) */
  percent?: number
  /** and never past this size (default: no limit); a multiple of the block size */
  maxDataSize?: Size
}

export interface VolumeManagerOptions {
  /** required, absolute: state (metadata, lock, loop files) lives here */
  root: string
  /** block devices for the pool, both or neither (dm.datadev, dm.metadatadev) */
  dataDevice?: string
  metadataDevice?: string
  /** an existing pool by dm name or /dev/mapper path (dm.thinpooldev); excludes dataDevice/metadataDevice */
  thinPoolDevice?: string
  /** sparse loop files root/devicemapper/{data,metadata}: 100G and 2G (dm.loopdatasize, dm.loopmetadatasize) */
  loopDataSize?: Size
  loopMetadataSize?: Size
  /** dm.thinpoolname; default devmapper-<maj>:<min>-<inode>-pool of root (Docker's naming) */
  poolName?: string
  /** 64K..1G in steps of 64K, default 64K (dm.blocksize bytes, dm.thinpoolblocksize sectors) */
  blockSize?: Size
  /** default '10G' (dm.defaultvolumesize, dm.basesize) */
  defaultVolumeSize?: Size
  /** default ext4 (dm.fs) */
  fs?: FsType
  /** extra mkfs arguments (dm.mkfsarg, one per repeat) */
  mkfsArgs?: string[]
  /** extra mount options, comma-separated (dm.mountopt) */
  mountOptions?: string
  /** discard on removal; default true on loop files, false on devices and existing pools (dm.blkdiscard) */
  discard?: boolean
  /** refuse new volumes below this much free data or metadata space: 'N%', N < 100, default '10%' (dm.min_free_space) */
  minFreeSpace?: string
  /** the same settings as Docker/Convoy strings: ['dm.datadev=/dev/sdb1', 'dm.basesize=20G'] */
  driverOptions?: string[]
  /** grow a loop-file pool's data file at a low-water mark; loop files only; true = the defaults */
  autoExtend?: boolean | AutoExtendOptions
  /** the default of removeVolume's `deferred` for devices still open (dm.use_deferred_removal); default false */
  deferredRemoval?: boolean
  /** the default of removeVolume's `deferredDeletion`: queue the delete of a thin id the pool reports busy, else EBUSY (dm.use_deferred_deletion); default false */
  deferredDeletion?: boolean
  /** xfs metadata ENOSPC retries written for each mounted xfs volume (dm.xfs_nospace_max_retries); default: kernel's */
  xfsNospaceMaxRetries?: number
}

export type OptionName = Exclude<keyof VolumeManagerOptions, 'driverOptions'>

export interface AutoExtendConfig {
  threshold: number
  percent: number
  maxDataSize?: number
}

/** The resolved config: sizes in bytes, defaults filled in. */
export interface VolumeConfig {
  root: string
  /** set with metadataDevice: the pool is made on these two block devices */
  dataDevice?: string
  metadataDevice?: string
  /** set: an existing pool of this dm name is used */
  thinPoolDevice?: string
  /** when neither devices nor thinPoolDevice: the loop files' sizes (the defaults otherwise, and unused) */
  loopDataSize: number
  loopMetadataSize: number
  /** poolName, or thinPoolDevice; undefined: the manager names it after stat(root) */
  poolName?: string
  blockSize: number
  defaultVolumeSize: number
  fs: FsType
  mkfsArgs: string[]
  mountOptions?: string
  discard: boolean
  /** percent, 0..99 */
  minFreeSpace: number
  autoExtend: AutoExtendConfig | false
  deferredRemoval: boolean
  deferredDeletion: boolean
  xfsNospaceMaxRetries?: number
  /** the options set by the caller (as options or dm.* strings), e.g. to compare blockSize with an existing pool */
  explicit: OptionName[]
}

const OPTION_NAMES: readonly string[] = [
  'root', 'dataDevice', 'metadataDevice', 'thinPoolDevice', 'loopDataSize', 'loopMetadataSize', 'poolName', 'blockSize',
  'defaultVolumeSize', 'fs', 'mkfsArgs', 'mountOptions', 'discard', 'minFreeSpace', 'driverOptions', 'autoExtend',
  'deferredRemoval', 'deferredDeletion', 'xfsNospaceMaxRetries',
]
export const DEFAULTS = {
  loopDataSize: 100 * 2 ** 30, loopMetadataSize: 2 * 2 ** 30, blockSize: 64 * 1024, defaultVolumeSize: 10 * 2 ** 30,
  fs: 'ext4', minFreeSpace: 10, autoExtend: { threshold: 80, percent: 20 },
} as const
export const MIN_BLOCK_BYTES = 128 * SECTOR_BYTES // the kernel's DATA_DEV_BLOCK_SIZE_MIN_SECTORS
export const MAX_BLOCK_BYTES = 2097152 * SECTOR_BYTES // DATA_DEV_BLOCK_SIZE_MAX_SECTORS
export const MIN_METADATA_BYTES = 2 * 2 ** 20 // LVM's smallest thin-pool metadata
const METADATA_BLOCK = 4096

function from(g: Given): string {
  return g.from === 'option' ? '' : ` (from ${g.from})`
}

function path(g: Given, field: string): string {
  if (typeof g.value !== 'string' || g.value === '' || g.value.includes('\0')) throw invalid(op, field, `must be a non-empty path${from(g)}`)
  if (!isAbsolute(g.value)) throw invalid(op, field, `must be an absolute path, got '${g.value}'${from(g)}`)
  return resolve(g.value) // normalized, no trailing '/'
}

function size(g: Given, field: string): number {
  return g.from === 'option' ? parseSize(g.value, field, op) : (g.value as number)
}

/** Resolves and checks VolumeManager options; `extraKeys` are keys the caller handles itself (others are refused). */
export function resolveVolumeOptions(options: VolumeManagerOptions, extraKeys: readonly string[] = []): VolumeConfig {
  if (typeof options !== 'object' || options === null) throw invalid(op, 'options', 'must be an object')
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key) && !extraKeys.includes(key)) throw invalid(op, key, 'is not a VolumeManager option')
  }
  const given = options.driverOptions === undefined ? new Map<string, Given>() : parseDriverOptions(options.driverOptions)
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || key === 'driverOptions' || !OPTION_NAMES.includes(key)) continue
    const mine: Given = { value, from: 'option' }
    const theirs = given.get(key)
    if (theirs !== undefined && !sameValue(comparable(key, mine), comparable(key, theirs))) {
      throw invalid(op, key, `is given as ${JSON.stringify(value)} and as ${theirs.from}; they must agree`)
    }
    if (theirs === undefined) given.set(key, mine)
  }
  return check(given)
}

// Values as compared for agreement: sizes in bytes (dm.* sizes are parsed already), thinPoolDevice without
// /dev/mapper/, minFreeSpace as its number.
function comparable(key: string, g: Given): unknown {
  if (['loopDataSize', 'loopMetadataSize', 'blockSize', 'defaultVolumeSize'].includes(key)) return size(g, key)
  if (typeof g.value !== 'string') return g.value
  if (key === 'thinPoolDevice') return g.value.replace(/^\/dev\/mapper\//, '')
  if (key === 'minFreeSpace') return /^\d+%$/.test(g.value) ? Number(g.value.slice(0, -1)) : g.value
  return g.value
}

function check(given: Map<string, Given>): VolumeConfig {
  const get = (k: string): Given | undefined => given.get(k)
  const g = (k: string): Given => given.get(k)!
  if (!get('root')) throw invalid(op, 'root', 'is required')
  const root = path(g('root'), 'root')
  const dataDevice = get('dataDevice') && path(g('dataDevice'), 'dataDevice')
  const metadataDevice = get('metadataDevice') && path(g('metadataDevice'), 'metadataDevice')
  if (dataDevice && !metadataDevice) throw invalid(op, 'metadataDevice', 'is required with dataDevice (both or neither)')
  if (metadataDevice && !dataDevice) throw invalid(op, 'dataDevice', 'is required with metadataDevice (both or neither)')
  let thinPoolDevice: string | undefined
  if (get('thinPoolDevice')) {
    const t = g('thinPoolDevice')
    if (typeof t.value !== 'string') throw invalid(op, 'thinPoolDevice', 'must be a dm name or /dev/mapper/<name>')
    thinPoolDevice = checkName(t.value.replace(/^\/dev\/mapper\//, ''), op, 'thinPoolDevice')
    if (dataDevice) throw invalid(op, 'thinPoolDevice', 'cannot be used with dataDevice and metadataDevice: it is a pool already')
  }
  const loop = !dataDevice && !thinPoolDevice
  let poolName: string | undefined
  if (get('poolName')) {
    const p = g('poolName')
    if (typeof p.value !== 'string') throw invalid(op, 'poolName', `must be a string${from(p)}`)
    poolName = checkName(p.value, op, 'poolName')
    if (thinPoolDevice !== undefined && poolName !== thinPoolDevice) {
      throw invalid(op, 'poolName', `is '${poolName}' but thinPoolDevice names the pool '${thinPoolDevice}'`)
    }
  }

  const blockSize = get('blockSize') ? size(g('blockSize'), 'blockSize') : DEFAULTS.blockSize
  if (blockSize < MIN_BLOCK_BYTES || blockSize > MAX_BLOCK_BYTES || blockSize % MIN_BLOCK_BYTES !== 0) {
    throw invalid(op, 'blockSize', `must be 64K..1G in multiples of 64K (128..2097152 sectors, a multiple of 128), got ${blockSize} bytes${get('blockSize') ? from(g('blockSize')) : ''}`)
  }
  for (const k of ['loopDataSize', 'loopMetadataSize']) {
    if (!loop && get(k)) throw invalid(op, k, `only applies to a pool on loop files, not with ${dataDevice ? 'dataDevice' : 'thinPoolDevice'}`)
  }
  const loopDataSize = get('loopDataSize') ? size(g('loopDataSize'), 'loopDataSize') : DEFAULTS.loopDataSize
  if (loopDataSize === 0 || loopDataSize % blockSize !== 0) {
    throw invalid(op, 'loopDataSize', `must be a non-zero multiple of the block size (${blockSize} bytes), got ${loopDataSize}`)
  }
  const loopMetadataSize = get('loopMetadataSize') ? size(g('loopMetadataSize'), 'loopMetadataSize') : DEFAULTS.loopMetadataSize
  if (loopMetadataSize < MIN_METADATA_BYTES || loopMetadataSize % METADATA_BLOCK !== 0) {
    throw invalid(op, 'loopMetadataSize', `must be at least 2M and a multiple of 4K (the metadata block), got ${loopMetadataSize}`)
  }
  const defaultVolumeSize = checkVolumeSize(get('defaultVolumeSize') ? size(g('defaultVolumeSize'), 'defaultVolumeSize') : DEFAULTS.defaultVolumeSize, 'defaultVolumeSize', op)

  const fs = (get('fs')?.value ?? DEFAULTS.fs) as FsType
  if (!['ext4', 'xfs', 'none'].includes(fs)) throw invalid(op, 'fs', `must be ext4, xfs or none, got ${JSON.stringify(fs)}${from(g('fs'))}`)
  const mkfsArgs = (get('mkfsArgs')?.value ?? []) as string[]
  if (!Array.isArray(mkfsArgs) || mkfsArgs.some((a) => typeof a !== 'string' || a.includes('\0'))) throw invalid(op, 'mkfsArgs', 'must be an array of strings')
  const mountOptions = get('mountOptions')?.value as string | undefined
  if (mountOptions !== undefined && (typeof mountOptions !== 'string' || /[\s\0]/.test(mountOptions))) {
    throw invalid(op, 'mountOptions', 'must be a comma-separated string without whitespace')
  }
  const flag = (k: string, dflt: boolean): boolean => {
    const v = get(k)?.value ?? dflt
    if (typeof v !== 'boolean') throw invalid(op, k, `must be a boolean, got ${JSON.stringify(v)}`)
    return v
  }
  const min = get('minFreeSpace')
  let minFreeSpace: number = DEFAULTS.minFreeSpace
  if (min) {
    const m = typeof min.value === 'string' ? /^(\d+)%$/.exec(min.value) : null
    if (!m || Number(m[1]) >= 100) throw invalid(op, 'minFreeSpace', `must be 'N%' with N a whole number below 100, like '10%', got ${JSON.stringify(min.value)}${from(min)}`)
    minFreeSpace = Number(m[1])
  }
  const retries = get('xfsNospaceMaxRetries')?.value
  if (retries !== undefined && (typeof retries !== 'number' || !Number.isSafeInteger(retries) || retries < 0)) {
    throw invalid(op, 'xfsNospaceMaxRetries', `must be a whole number >= 0, got ${String(retries)}`)
  }
  const autoExtend = resolveAutoExtend(given, loop, blockSize, loopDataSize)
  return {
    root, dataDevice, metadataDevice, thinPoolDevice, loopDataSize, loopMetadataSize,
    poolName: poolName ?? thinPoolDevice, blockSize, defaultVolumeSize, fs, mkfsArgs: [...mkfsArgs], mountOptions,
    discard: flag('discard', loop), minFreeSpace, autoExtend, deferredRemoval: flag('deferredRemoval', false),
    deferredDeletion: flag('deferredDeletion', false), xfsNospaceMaxRetries: retries as number | undefined,
    explicit: [...new Set([...given.keys()].map((k) => k.replace(/\..*/, '')))].sort() as OptionName[],
  }
}

function resolveAutoExtend(given: Map<string, Given>, loop: boolean, blockSize: number, dataSize: number): AutoExtendConfig | false {
  const opt = given.get('autoExtend')
  const fromDm = { threshold: given.get('autoExtend.threshold'), percent: given.get('autoExtend.percent') }
  if (opt && typeof opt.value !== 'boolean' && (typeof opt.value !== 'object' || opt.value === null || Array.isArray(opt.value))) {
    throw invalid(op, 'autoExtend', 'must be a boolean or { threshold?, percent?, maxDataSize? }')
  }
  const o = (typeof opt?.value === 'object' ? opt.value : {}) as AutoExtendOptions
  if (opt?.value === false && (fromDm.threshold || fromDm.percent)) {
    throw invalid(op, 'autoExtend', `is false but ${(fromDm.threshold ?? fromDm.percent)!.from} turns it on`)
  }
  if (!opt?.value && !fromDm.threshold && !fromDm.percent) return false
  if (!loop) throw invalid(op, 'autoExtend', 'only applies to a pool on loop files (grow an LVM pool with lvextend/dmeventd)')
  for (const k of Object.keys(o)) if (!['threshold', 'percent', 'maxDataSize'].includes(k)) throw invalid(op, 'autoExtend', `has an unknown key '${k}'`)
  const pick = (k: 'threshold' | 'percent', lo: number, hi: number): number => {
    const dm = fromDm[k]
    const v = o[k] ?? dm?.value ?? DEFAULTS.autoExtend[k]
    if (o[k] !== undefined && dm && dm.value !== o[k]) throw invalid(op, 'autoExtend', `${k} is given as ${String(o[k])} and as ${dm.from}; they must agree`)
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw invalid(op, 'autoExtend', `${k} must be a whole number from ${lo} to ${hi}, got ${String(v)}`)
    return v
  }
  const config: AutoExtendConfig = { threshold: pick('threshold', 1, 99), percent: pick('percent', 1, 100) }
  if (o.maxDataSize !== undefined) {
    const max = parseSize(o.maxDataSize, 'autoExtend', op)
    if (max < dataSize || max % blockSize !== 0) throw invalid(op, 'autoExtend', `maxDataSize must be a multiple of the block size and at least loopDataSize, got ${max}`)
    config.maxDataSize = max
  }
  return config
}

/** A thin volume's size: bytes or a size string, a non-zero whole number of sectors (what a dm table holds). */
export function checkVolumeSize(value: Size, field: string, operation: string): number {
  const bytes = parseSize(value, field, operation)
  if (bytes === 0 || bytes % SECTOR_BYTES !== 0) throw invalid(operation, field, `must be a non-zero multiple of 512 bytes, got ${bytes}`)
  return bytes
}
