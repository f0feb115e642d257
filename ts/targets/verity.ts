// verity `<version> <data dev> <hash dev> <data block bytes> <hash block bytes> <#data blocks> <hash start block>
// <algorithm> <root digest hex> <salt hex|-> [<#opts> <opt>...]` (Documentation/admin-guide/device-mapper/
// verity.rst). Status: 'V' (verified so far) or 'C' (a corrupted block was seen).
import type { Sectors, TargetType } from '../core/table'
import { Checker, argGroup, join, lenient, type BlockDevice } from './common'

export type VerityTarget = {
  start?: Sectors
  length: Sectors
  type: 'verity'
  /** hash format: 0 (Chrome OS, salt after the data) or 1 (salt first, the usual one) */
  version: 0 | 1
  dataDevice: BlockDevice
  hashDevice: BlockDevice
  /** bytes, a power of 2 from 512 */
  dataBlockSize: number
  hashBlockSize: number
  dataBlocks: number
  /** the hash tree's first block on the hash device, in hash blocks */
  hashStartBlock: number
  algorithm: string
  rootDigest: string
  /** hex, or '-' for none */
  salt: string
  /** ignore_corruption, restart_on_corruption, ignore_zero_blocks, check_at_most_once, use_fec_from_device <dev>, ... */
  options?: string[]
}
export type VerityParams = Omit<VerityTarget, 'start' | 'length' | 'type' | 'dataDevice' | 'hashDevice' | 'options'> & {
  dataDevice: string
  hashDevice: string
  options: string[]
}
export type VerityStatus = { state: 'verified' | 'corrupted' | 'unknown'; text?: string }

export const verityType: TargetType = {
  type: 'verity',
  build(target, operation, at) {
    const c = new Checker(target, at ?? { operation })
    const block = (v: unknown, f: string) => {
      const n = c.uint(v, f, 512, 2 ** 31)
      if ((n & (n - 1)) !== 0) throw c.fail(f, `must be a power of 2, got ${n}`)
      return n
    }
    const hex = (v: unknown, f: string, dash: boolean) => {
      if (typeof v !== 'string' || !(/^([0-9a-fA-F]{2})+$/.test(v) || (dash && v === '-'))) {
        throw c.fail(f, `must be an even number of hex digits${dash ? " or '-'" : ''}, got ${JSON.stringify(v)}`)
      }
      return v
    }
    return join(
      c.oneOf(String(target.version), 'version', ['0', '1']),
      c.device(target.dataDevice, 'dataDevice'),
      c.device(target.hashDevice, 'hashDevice'),
      block(target.dataBlockSize, 'dataBlockSize'),
      block(target.hashBlockSize, 'hashBlockSize'),
      c.uint(target.dataBlocks, 'dataBlocks'),
      c.uint(target.hashStartBlock ?? 0, 'hashStartBlock'),
      c.word(target.algorithm, 'algorithm'),
      hex(target.rootDigest, 'rootDigest', false),
      hex(target.salt ?? '-', 'salt', true),
      argGroup(c.words(target.options, 'options'), false),
    )
  },
  parseParams: lenient((t): VerityParams | undefined => {
    const version = t.next()
    const [dataDevice, hashDevice] = [t.next(), t.next()]
    const [dataBlockSize, hashBlockSize, dataBlocks, hashStartBlock] = [t.num(), t.num(), t.num(), t.num()]
    const [algorithm, rootDigest, salt] = [t.next(), t.next(), t.next()]
    if (version !== '0' && version !== '1') return undefined
    if (dataDevice === undefined || hashDevice === undefined || algorithm === undefined || rootDigest === undefined || salt === undefined) return undefined
    if (dataBlockSize === undefined || hashBlockSize === undefined || dataBlocks === undefined || hashStartBlock === undefined) return undefined
    const options = t.done ? [] : t.group()
    if (options === undefined || !t.done) return undefined
    return { version: Number(version) as 0 | 1, dataDevice, hashDevice, dataBlockSize, hashBlockSize, dataBlocks, hashStartBlock, algorithm, rootDigest, salt, options }
  }),
  parseStatus(params: string): VerityStatus {
    const text = params.trim()
    if (text === 'V') return { state: 'verified' }
    if (text === 'C') return { state: 'corrupted' }
    return { state: 'unknown', text }
  },
}


/**
 * A verity target: `dataDevice` read-only, each block checked against the hash tree on `hashDevice` whose
 * root is `rootDigest` (hex). Defaults: hash format 1, 4 KiB data and hash blocks, sha256, no salt, the tree at
 * hash block 0, and as many data blocks as `length` covers (veritysetup's `--hash-offset` and superblock put
 * the tree at block 1: pass `hashStartBlock: 1` for a device it formatted without `--no-superblock`).
 */
export function verity(
  length: number,
  dataDevice: BlockDevice,
  hashDevice: BlockDevice,
  rootDigest: string,
  options: {
    version?: 0 | 1
    dataBlockSize?: number
    hashBlockSize?: number
    dataBlocks?: number
    hashStartBlock?: number
    algorithm?: string
    salt?: string
    options?: string[]
  } = {},
): VerityTarget {
  const dataBlockSize = options.dataBlockSize ?? 4096
  return {
    length,
    type: 'verity',
    version: options.version ?? 1,
    dataDevice,
    hashDevice,
    dataBlockSize,
    hashBlockSize: options.hashBlockSize ?? 4096,
    dataBlocks: options.dataBlocks ?? Math.floor((length * 512) / dataBlockSize),
    hashStartBlock: options.hashStartBlock ?? 0,
    algorithm: options.algorithm ?? 'sha256',
    rootDigest,
    salt: options.salt ?? '-',
    options: options.options ?? [],
  }
}

// The typed fields table() and status() give for this target type (core's TableTarget and StatusTarget unions).
declare module '../core/typed-targets' {
  interface TableFieldsByType {
    verity: VerityParams
  }
  interface StatusFieldsByType {
    verity: VerityStatus
  }
}
