// core: the native binding's shape and loader, flags, errors, input validation, addressing, reply decoders,
// udev cookies, /dev/mapper nodes, sysfs and /proc reads, the kernel log reader (kmsg), table checks before a
// load and explanations after one, the table mechanism (text format, target-type registry) and the core
// DeviceMapper facade. Imports nothing from the other wings.
export { DeviceMapper } from './device-mapper'
export { DmError, errnoName, invalid, show, withCleanupError } from './errors'
export { Flags } from './flags'
export { formatTable, parseTable, parseTypedTable, registerTargetType, targetType } from './table'
export type { BigIntSectors, FormatOptions, NumberSectors, RawTarget, Sectors, SectorsOptions, TableInput, TargetInput, TargetType } from './table'
export type { KnownTarget, StatusFieldsByType, StatusTarget, TableFieldsByType, TableTarget, UnknownTarget, UnknownTargetType } from './typed-targets'
export type {
  CreateOptions, DeviceInfo, DeviceMapperOptions, DeviceRef, Geometry, ListedDevice, RemoveOptions, StatusOptions, SuspendOptions,
  TableOptions, Version,
} from './types'
export { UdevFlags } from './udev'
export type { UdevCallOptions, UdevMode } from './udev'
export type { NameMangling } from './validate'
export { Runner, cookieAction } from './runner'
export { batch, drive, driveAsync, ioctl, sleep, statusAll } from './operation'
export type { Call, Operation, Step, StepOptions } from './operation'
export { clearOp, createOp, loadOp, removeHalfMadeOp, removeOp, renameOp, resumeOp, setUuidOp, suspendOp } from './lifecycle'
export type { RemovePolicy } from './lifecycle'
export {
  depsOp, infoOp, listOp, messageOp, messageSuspendedOp, setGeometryOp, statusAllOp, statusOp, tableAllOp, tableOp, targetVersionOp,
  targetVersionsOp, versionOp, waitEventOp,
} from './queries'
export type { Target } from './queries'
