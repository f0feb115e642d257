// The package entry. Wings, lowest first; each imports only the ones before it:
//   core → targets → thin, events → loop → volumes → cli
// This file and ./device-mapper.ts assemble them and are imported by no wing.
import { registerStockTargets } from './targets'

registerStockTargets()

export { DeviceMapper } from './device-mapper'
export type {
  CreateOptions, DeviceInfo, DeviceMapperOptions, DeviceRef, Geometry, ListedDevice, RemoveOptions, SuspendOptions, Version,
} from './core'
export { DmError, Flags, UdevFlags, formatTable, parseTable, parseTypedTable, registerTargetType, targetType } from './core'
export type {
  BigIntSectors, FormatOptions, NameMangling, NumberSectors, RawTarget, Sectors, SectorsOptions, StatusOptions, TableInput, TableOptions, TargetInput,
  TargetType, UdevCallOptions, UdevMode,
} from './core'
export type {
  KnownTarget, StatusFieldsByType, StatusTarget, TableFieldsByType, TableTarget, UnknownTarget, UnknownTargetType,
} from './core'
export {
  batch, clearOp, createOp, depsOp, infoOp, ioctl, listOp, loadOp, messageOp, messageSuspendedOp, removeHalfMadeOp, removeOp,
  renameOp, resumeOp, setGeometryOp, setUuidOp, sleep, statusAllOp, statusOp, suspendOp, tableAllOp, tableOp, targetVersionOp,
  targetVersionsOp, versionOp, waitEventOp,
} from './core'
export type { Call, Operation, Step, StepOptions } from './core'
export { MAX_THIN_ID, ThinPool, checkThinId } from './thin'
export type { SnapshotOptions, ThinPoolStatus, TransactionId } from './thin'
export { DeviceWatch } from './events'
export type { DeviceEvent, WatchOptions } from './events'
export * from './targets'
export { loop } from './loop'
export type { Loop, LoopAttachOptions, LoopDeviceRef, LoopInfo } from './loop'
export { METADATA_BLOCK_BYTES, SECTOR_BYTES, parseSize, thinMetadataSize, thinMetadataSizeCli } from './volumes'
export type { CliResult, Size, ThinMetadataSizeCliOptions, ThinMetadataSizeOptions } from './volumes'
export { checkVolumeSize, resolveVolumeOptions } from './volumes'
export type { AutoExtendConfig, AutoExtendOptions, VolumeConfig, VolumeManagerOptions } from './volumes'
export { VolumeManager } from './volumes'
export type { CheckResult, CreateVolumeOptions, FsType, MountOptions, PoolStatus, RemoveVolumeOptions, TransactionRecovery, VolumeInfo } from './volumes'
