// volumes: the seeds' storage driver as a library. The VolumeManager (a thin pool on sparse loop files, two
// block devices or an existing pool; named thin volumes and snapshots with filesystems and mounts; a state store
// written atomically with an intent before each kernel step; a per-operation flock; reconcile on open) and its
// pure pieces: Docker-style size strings, the option set (VolumeManager options and dm.* driver strings) resolved
// to a checked config, thin_metadata_size (library and CLI forms), and the GNU getopt_long and glibc printf
// reproductions behind that CLI (for the cli wing to reuse).
// Imports core and the wings below it (targets, thin, events, loop) only; never ts/index.ts or ts/device-mapper.ts.
export { VolumeManager } from './manager'
export { STEPS, CRASH_ENV } from './faults'
export type { CheckResult, CreateVolumeOptions, FsType, MountOptions, PoolStatus, RemoveVolumeOptions, TransactionRecovery, VolumeInfo } from './types'
export { SECTOR_BYTES, parseSize } from './sizes'
export type { Size } from './sizes'
export { METADATA_BLOCK_BYTES, thinMetadataSize, thinMetadataSizeCli } from './metadata-size'
export type { CliResult, ThinMetadataSizeCliOptions, ThinMetadataSizeOptions } from './metadata-size'
export { DEFAULTS, MAX_BLOCK_BYTES, MIN_BLOCK_BYTES, MIN_METADATA_BYTES, checkVolumeSize, resolveVolumeOptions } from './options'
export type { AutoExtendConfig, AutoExtendOptions, OptionName, VolumeConfig, VolumeManagerOptions } from './options'
export { getoptLong } from './getopt-long'
export type { ArgKind, GetoptItem, LongOption } from './getopt-long'
export { formatExponent, formatFixed } from './printf'
