// volumes: the seeds' storage driver as a library. A thin pool on sparse loop files, two block devices or an
// existing pool; named thin volumes and snapshots with filesystems and mounts; a state store written atomically
// with an intent before each kernel step; per-operation flock; reconcile on open. Imports core, targets, thin,
// events and loop; never ts/index.ts or ts/device-mapper.ts.
export { VolumeManager } from './manager'
export type { VolumeManagerOptions } from './manager'
export { STEPS, CRASH_ENV } from './faults'
export type { CheckResult, CreateVolumeOptions, FsType, MountOptions, PoolStatus, RemoveVolumeOptions, VolumeInfo } from './types'
