// volumes: the seeds' storage driver as a library. The VolumeManager (a thin pool on sparse loop files, two
// block devices or an existing pool; named thin volumes and snapshots with filesystems and mounts; a state store
// written atomically with an intent before each kernel step; a per-operation flock; reconcile on open) and its
// pure pieces: Docker-style size strings, the option set, thin_metadata_size (library and CLI forms).
// Imports core and the wings below it (targets, thin, events, loop) only; never ts/index.ts or ts/device-mapper.ts.
export { VolumeManager } from './manager'
export type { VolumeManagerOptions } from './manager'
export { STEPS, CRASH_ENV } from './faults'
export type { CheckResult, CreateVolumeOptions, FsType, MountOptions, PoolStatus, RemoveVolumeOptions, VolumeInfo } from './types'
export { SECTOR_BYTES, parseSize } from './sizes'
export type { Size } from './sizes'
export { METADATA_BLOCK_BYTES, thinMetadataSize, thinMetadataSizeCli } from './metadata-size'
export type { CliResult, ThinMetadataSizeCliOptions, ThinMetadataSizeOptions } from './metadata-size'
