// Docker's and Convoy's `dm.key=value` driver strings, read as moby's NewDeviceSet reads them (key and value
// trimmed, the key lower-cased, an unknown key refused) and turned into VolumeManager option values. Each key:
//   dm.datadev, dm.metadatadev           -> dataDevice, metadataDevice (Docker and Convoy)
//   dm.thinpooldev                       -> thinPoolDevice, '/dev/mapper/' stripped (Docker)
//   dm.thinpoolname                      -> poolName (Convoy)
//   dm.loopdatasize, dm.loopmetadatasize -> loopDataSize, loopMetadataSize (Docker)
//   dm.blocksize                         -> blockSize, a size in bytes (Docker, '512K')
//   dm.thinpoolblocksize                 -> blockSize, a count of 512-byte sectors (Convoy's ParseSize: '4096' = 2 MiB)
//   dm.basesize, dm.defaultvolumesize    -> defaultVolumeSize (Docker, Convoy)
//   dm.fs, dm.mountopt, dm.blkdiscard    -> fs, mountOptions (repeats joined with ','), discard (Go ParseBool)
//   dm.mkfsarg                           -> mkfsArgs, one argument per repeat
//   dm.min_free_space                    -> minFreeSpace ('N%', N a whole number below 100)
//   dm.use_deferred_removal/_deletion    -> deferredRemoval, deferredDeletion (defaults of removeVolume's deferred)
//   dm.xfs_nospace_max_retries           -> xfsNospaceMaxRetries (/sys/fs/xfs/<dev>/error/metadata/ENOSPC)
//   dm.thinp_autoextend_threshold/_percent -> autoExtend.threshold/.percent (turns autoExtend on)
//   dm.override_udev_sync_check          -> checked (ParseBool) and ignored: devmapper syncs with udev itself or
//                                           makes the nodes itself, there is nothing to override
//   dm.libdm_log_level                   -> checked (2..7, as Docker) and ignored: there is no libdevmapper here
//   dm.directlvm_device[_force], dm.thinp_percent, dm.thinp_metapercent -> refused: direct-lvm setup runs
//                                           pvcreate/vgcreate/lvconvert; make the pool with LVM and pass dm.thinpooldev
import { invalid } from '../core/errors'
import { SECTOR_BYTES, parseSize } from './sizes'

export const OPERATION = 'open'

/** One option's value and where it came from ('option' or the dm.* string), for agreement checks and messages. */
export interface Given {
  value: unknown
  from: string
}

const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True']
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False']

/** Go's strconv.ParseBool */
export function parseBool(text: string, field: string, from: string): boolean {
  if (TRUE.includes(text)) return true
  if (FALSE.includes(text)) return false
  throw invalid(OPERATION, field, `must be a boolean (1, t, true, 0, f, false, ...), got ${from}`)
}

/** Go's strconv.ParseUint(text, 10, bits) also requiring a safe integer, with an optional '%' when percent */
export function parseUint(text: string, field: string, from: string, max: number, percent = false): number {
  const m = (percent ? /^(\d+)%?$/ : /^(\d+)$/).exec(text)
  if (!m || Number(m[1]) > max) throw invalid(OPERATION, field, `must be a whole number from 0 to ${max}, got ${from}`)
  return Number(m[1])
}

/** Convoy's util.ParseSize: a whole number, optionally with one binary unit letter k, m, g or t */
function convoySize(text: string, field: string, from: string): number {
  const m = /^(\d+)([kmgt]?)$/i.exec(text)
  if (!m) throw invalid(OPERATION, field, `must be a whole number with an optional k, m, g or t, got ${from}`)
  return parseSize(text, field, OPERATION)
}

const DIRECT_LVM = ['dm.directlvm_device', 'dm.directlvm_device_force', 'dm.thinp_percent', 'dm.thinp_metapercent']

/**
 * Reads `dm.key=value` strings into option values; repeated keys must agree, except dm.mkfsarg and dm.mountopt,
 * which accumulate. Sizes are bytes here; agreement with the options object is checked by the caller.
 */
export function parseDriverOptions(strings: unknown): Map<string, Given> {
  if (!Array.isArray(strings) || strings.some((s) => typeof s !== 'string')) {
    throw invalid(OPERATION, 'driverOptions', 'must be an array of dm.key=value strings')
  }
  const out = new Map<string, Given>()
  const put = (field: string, value: unknown, from: string): void => {
    const before = out.get(field)
    if (before && !sameValue(before.value, value)) {
      throw invalid(OPERATION, field, `is given twice and they disagree: ${before.from} and ${from}`)
    }
    out.set(field, { value, from })
  }
  const mkfsArgs: string[] = []
  const mountOptions: string[] = []
  for (const raw of strings as string[]) {
    const eq = raw.indexOf('=')
    if (eq < 0) throw invalid(OPERATION, 'driverOptions', `entry '${raw}' is not key=value`)
    const key = raw.slice(0, eq).trim().toLowerCase()
    const val = raw.slice(eq + 1).trim()
    const from = `${key}=${val}`
    switch (key) {
      case 'dm.datadev': put('dataDevice', val, from); break
      case 'dm.metadatadev': put('metadataDevice', val, from); break
      case 'dm.thinpooldev': put('thinPoolDevice', val.replace(/^\/dev\/mapper\//, ''), from); break
      case 'dm.thinpoolname': put('poolName', val, from); break
      case 'dm.loopdatasize': put('loopDataSize', parseSize(val, 'loopDataSize', OPERATION), from); break
      case 'dm.loopmetadatasize': put('loopMetadataSize', parseSize(val, 'loopMetadataSize', OPERATION), from); break
      case 'dm.blocksize': put('blockSize', parseSize(val, 'blockSize', OPERATION), from); break
      case 'dm.thinpoolblocksize': put('blockSize', convoySize(val, 'blockSize', from) * SECTOR_BYTES, from); break
      case 'dm.basesize': case 'dm.defaultvolumesize':
        put('defaultVolumeSize', parseSize(val, 'defaultVolumeSize', OPERATION), from)
        break
      case 'dm.fs': put('fs', val, from); break
      case 'dm.mkfsarg': mkfsArgs.push(val); break
      case 'dm.mountopt': if (val) mountOptions.push(val); break
      case 'dm.blkdiscard': put('discard', parseBool(val, 'discard', from), from); break
      case 'dm.min_free_space': put('minFreeSpace', val, from); break
      case 'dm.use_deferred_removal': put('deferredRemoval', parseBool(val, 'deferredRemoval', from), from); break
      case 'dm.use_deferred_deletion': put('deferredDeletion', parseBool(val, 'deferredDeletion', from), from); break
      case 'dm.xfs_nospace_max_retries':
        put('xfsNospaceMaxRetries', parseUint(val, 'xfsNospaceMaxRetries', from, Number.MAX_SAFE_INTEGER), from)
        break
      case 'dm.thinp_autoextend_threshold': put('autoExtend.threshold', parseUint(val, 'autoExtend', from, 100, true), from); break
      case 'dm.thinp_autoextend_percent': put('autoExtend.percent', parseUint(val, 'autoExtend', from, 100, true), from); break
      case 'dm.override_udev_sync_check': parseBool(val, 'driverOptions', from); break
      case 'dm.libdm_log_level':
        if (!/^[+-]?\d+$/.test(val) || Number(val) < 2 || Number(val) > 7) {
          throw invalid(OPERATION, 'driverOptions', `dm.libdm_log_level must be a whole number from 2 to 7, got ${from}`)
        }
        break
      default:
        if (DIRECT_LVM.includes(key)) {
          throw invalid(OPERATION, 'driverOptions', `${key}: direct-lvm setup is not supported; make the pool with lvcreate --type thin-pool and pass dm.thinpooldev (thinPoolDevice)`)
        }
        throw invalid(OPERATION, 'driverOptions', `has an unknown key '${key}'`)
    }
  }
  if (mkfsArgs.length) out.set('mkfsArgs', { value: mkfsArgs, from: mkfsArgs.map((a) => `dm.mkfsarg=${a}`).join(' ') })
  if (mountOptions.length) out.set('mountOptions', { value: mountOptions.join(','), from: mountOptions.map((a) => `dm.mountopt=${a}`).join(' ') })
  return out
}

/** Equal option values: same primitive, or arrays with the same items in order. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i])
  return a === b
}
