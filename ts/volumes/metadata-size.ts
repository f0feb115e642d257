// How big a thin pool's metadata device should be: thin_metadata_size's estimate (thin-provisioning-tools 0.9.0,
// thin-provisioning/thin_metadata_size.cc, the version Debian ships and the seeds quote). Block and pool sizes are
// truncated to whole sectors as the tool does; then, in 4 KiB metadata blocks,
//   1 + (2 * pool_sectors / block_sectors / 252 + max_thins)      (integer division, left to right)
// where 252 is the mappings per btree node ((4096 - 64) / 16) and the 2 allows for half-full nodes. The sum is
// made in floating point as the tool makes it, so results past 2^53 round the same way.
import { invalid } from '../core/errors'
import { SECTOR_BYTES, parseSize, type Size } from './sizes'

export { thinMetadataSizeCli, type CliResult, type ThinMetadataSizeCliOptions } from './metadata-size-cli'

export interface ThinMetadataSizeOptions {
  /** the pool's data block size: bytes or a size string ('64K', '2M'); a power of two sectors */
  blockSize: Size
  /** the data device's size: bytes or a size string ('100G'); larger than blockSize */
  poolSize: Size
  /** how many thin devices and snapshots the pool will hold at most */
  maxThins: number
}

export const METADATA_BLOCK_BYTES = 4096
export const MAPPINGS_PER_NODE = (4096 - 64) / 16

/** thin_metadata_size's estimate in bytes; DmError (EINVAL) naming blockSize, poolSize or maxThins on bad input. */
export function thinMetadataSize(options: ThinMetadataSizeOptions): number {
  const op = 'thinMetadataSize'
  if (typeof options !== 'object' || options === null) throw invalid(op, 'options', 'must be an object')
  const blockSectors = BigInt(Math.floor(parseSize(options.blockSize, 'blockSize', op) / SECTOR_BYTES))
  const poolSectors = BigInt(Math.floor(parseSize(options.poolSize, 'poolSize', op) / SECTOR_BYTES))
  const { maxThins } = options
  if (blockSectors === 0n) throw invalid(op, 'blockSize', 'must be at least one sector (512 bytes)')
  if ((blockSectors & (blockSectors - 1n)) !== 0n) throw invalid(op, 'blockSize', `must be a power of two sectors, got ${blockSectors}`)
  if (poolSectors <= blockSectors) throw invalid(op, 'poolSize', 'must be larger than the block size')
  if (typeof maxThins !== 'number' || !Number.isSafeInteger(maxThins) || maxThins < 1) {
    throw invalid(op, 'maxThins', `must be a whole number from 1 to 2^53-1, got ${String(maxThins)}`)
  }
  const nodes = (2n * poolSectors) / blockSectors / BigInt(MAPPINGS_PER_NODE)
  return (1.0 + Number(nodes + BigInt(maxThins))) * METADATA_BLOCK_BYTES
}
