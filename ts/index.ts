export { DeviceMapper } from './device-mapper'
export type {
  CreateOptions,
  DeviceInfo,
  DeviceMapperOptions,
  DeviceRef,
  Geometry,
  ListedDevice,
  RemoveOptions,
  SuspendOptions,
  Version,
} from './device-mapper'
export { DmError } from './errors'
export { Flags } from './flags'
export { formatTable, parseTable, registerTargetType, targetType } from './table'
export type { RawTarget, TableInput, TargetInput, TargetType } from './table'
export { UdevFlags } from './udev'
export type { UdevCallOptions, UdevMode } from './udev'
export { MAX_THIN_ID, ThinPool, checkThinId } from './thin-pool'
export type { SnapshotOptions, ThinPoolStatus, TransactionId } from './thin-pool'
export { DeviceWatch } from './watch'
export type { DeviceEvent, WatchOptions } from './watch'
export { parseTypedTable } from './table'
export type { FormatOptions } from './table'
export * from './targets'
