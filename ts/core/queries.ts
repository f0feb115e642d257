// Operations that read or message devices without changing their life cycle: versions, info, list, table,
// status, deps, target messages, geometry, the blocking event wait. One generator each (./operation.ts).
import { address, label } from './address'
import { toInfo, toList, toVersion } from './decode'
import { invalid, show, withCleanupError } from './errors'
import { Flags } from './flags'
import type { DmError } from './errors'
import { batch, ioctl, statusAll, type Operation } from './operation'
import type { BatchResult, NativeReply, NativeRequest } from './native'
import type { UdevCallOptions } from './udev'
import { fromKernel, type BigIntSectors, type NumberSectors, type RawTarget, type SectorsOptions } from './table'
import type { StatusTarget, TableTarget } from './typed-targets'
import type { DeviceInfo, DeviceRef, Geometry, ListedDevice, StatusOptions, TableOptions, Version } from './types'
import { checkOptions, checkParams, checkSectors, checkTargetType, checkUint } from './validate'

export type Target = RawTarget & Record<string, unknown>

export function* versionOp(): Operation<Version> {
  return toVersion((yield* ioctl('version', {})).version)
}

export function* targetVersionsOp(): Operation<{ name: string; version: [number, number, number] }[]> {
  return (yield* ioctl('listVersions', {})).versions ?? []
}

/** One target type's version; the kernel loads its module on demand (GET_TARGET_VERSION, 4.41+). */
export function* targetVersionOp(type: string): Operation<[number, number, number]> {
  checkTargetType(type, 'targetVersion', 'type')
  if (type.includes('/')) throw invalid('targetVersion', 'type', `must not contain '/', got ${show(type)}`)
  return (yield* ioctl('getTargetVersion', { name: type })).versions![0].version
}

export function* infoOp(device: DeviceRef): Operation<DeviceInfo> {
  return toInfo(yield* ioctl('devStatus', address(device, 'info')))
}

export function* listOp(): Operation<ListedDevice[]> {
  return toList(yield* ioctl('listDevices', { flags: Flags.UUID }))
}

export function tableOp(device: DeviceRef, options: TableOptions & BigIntSectors): Operation<TableTarget<bigint>[]>
export function tableOp(device: DeviceRef, options: TableOptions & NumberSectors): Operation<TableTarget[]>
export function tableOp(device: DeviceRef, options: TableOptions): Operation<TableTarget<number | bigint>[]>
export function* tableOp(device: DeviceRef, options: TableOptions): Operation<TableTarget<number | bigint>[]> {
  options = checkOptions(options, 'table')
  // SECURE_DATA: a crypt table carries its key; the kernel then wipes its copy of the reply
  const flags = Flags.STATUS_TABLE | Flags.SECURE_DATA | (options.inactive ? Flags.QUERY_INACTIVE_TABLE : 0)
  const req = address(device, 'table')
  const r = yield* ioctl('tableStatus', Object.assign(req, { flags }))
  return targetsOf(r, 'table', options.bigint, 'table', req)
}

export function statusOp(device: DeviceRef, options: StatusOptions & BigIntSectors): Operation<StatusTarget<bigint>[]>
export function statusOp(device: DeviceRef, options: StatusOptions & NumberSectors): Operation<StatusTarget[]>
export function statusOp(device: DeviceRef, options: StatusOptions): Operation<StatusTarget<number | bigint>[]>
export function* statusOp(device: DeviceRef, options: StatusOptions): Operation<StatusTarget<number | bigint>[]> {
  options = checkOptions(options, 'status')
  const req = address(device, 'status')
  const r = yield* ioctl('tableStatus', Object.assign(req, { flags: options.noFlush ? Flags.NOFLUSH : 0 }))
  return targetsOf(r, 'status', options.bigint, 'status', req)
}

/**
 * A TABLE_STATUS reply's targets, typed, start and length as `bigint` asks (ERANGE, not rounding, for numbers).
 * `device` is named in that error: a name, or the request (labelled only if the error happens).
 */
function targetsOf<K extends 'table' | 'status'>(
  r: NativeReply,
  kind: K,
  bigint: boolean | undefined,
  operation: string,
  device: string | NativeRequest,
): K extends 'table' ? TableTarget<number | bigint>[] : StatusTarget<number | bigint>[] {
  return (r.targets ?? []).map((t, index) => fromKernel(t, kind, bigint, operation, device, index)) as never
}

export function* depsOp(device: DeviceRef): Operation<{ major: number; minor: number }[]> {
  return (yield* ioctl('tableDeps', address(device, 'deps'))).deps ?? []
}

/** A target message (thin-pool: sector 0); the target's reply, or undefined if none. */
export function* messageOp(device: DeviceRef, sector: number, text: string): Operation<string | undefined> {
  return (yield* ioctl('targetMsg', messageRequest(device, sector, text))).data
}

function messageRequest(device: DeviceRef, sector: number, text: string, operation = 'message'): NativeRequest {
  const req = address(device, operation)
  const dev = label(req)
  checkSectors(sector, operation, 'sector', dev)
  checkParams(text, operation, 'text', dev)
  if (text.trim() === '') throw invalid(operation, 'text', 'must not be empty', dev)
  // crypt's `key set <key>` carries a key: have the kernel wipe its copy
  return { ...req, sector, data: text, flags: /^\s*key\s/.test(text) ? Flags.SECURE_DATA : 0 }
}

/**
 * Suspends `suspend`, sends the message to `device`, resumes `suspend` again (also when the message failed,
 * never when the suspend did): one batch, so one native call and at most one thread-pool hop. create_snap of
 * an active thin origin needs exactly this. The message's reply; a failed message is thrown after the resume,
 * with a failed resume attached (withCleanupError).
 */
export function* messageSuspendedOp(suspend: DeviceRef, device: DeviceRef, sector: number, text: string, options: UdevCallOptions = {}): Operation<string | undefined> {
  const operation = 'messageSuspended'
  const sus = address(suspend, operation)
  const msg = messageRequest(device, sector, text, operation)
  const r: BatchResult = yield* batch(
    [
      { command: 'devSuspend', req: { ...sus, flags: Flags.SUSPEND } },
      { command: 'targetMsg', req: msg },
      { command: 'devSuspend', req: sus, ifOk: 0 },
    ],
    { udevFlags: options.udevFlags, operation },
  )
  const error = (x: BatchResult[number]): DmError | undefined => (x !== undefined && 'error' in x ? x.error : undefined)
  const [suspended, message, resumed] = r.map(error)
  if (suspended) throw suspended
  if (message) throw resumed ? withCleanupError(message, resumed, `resuming ${label(sus)}`) : message
  if (resumed) throw resumed
  return (r[1] as NativeReply).data
}

/**
 * Every device's status by name, typed where the target type is known: the list and every status in one native
 * call. Without NOFLUSH a thin-pool may commit (I/O) before answering, so only that form takes the thread-pool
 * hop in the promise form (one for all devices). Devices removed meanwhile are left out.
 */
export function statusAllOp(options: StatusOptions & BigIntSectors): Operation<Map<string, StatusTarget<bigint>[]>>
export function statusAllOp(options: StatusOptions & NumberSectors): Operation<Map<string, StatusTarget[]>>
export function statusAllOp(options: StatusOptions): Operation<Map<string, StatusTarget<number | bigint>[]>>
export function* statusAllOp(options: StatusOptions): Operation<Map<string, StatusTarget<number | bigint>[]>> {
  const replies = yield* statusAll(options.noFlush ? Flags.NOFLUSH : 0, options.noFlush === true)
  return new Map(replies.map((r) => [r.name, targetsOf(r, 'status', options.bigint, 'statusAll', r.name)]))
}

/** Every device's active table by name, typed: the list and every table read in one native call, inline. */
export function tableAllOp(options: BigIntSectors): Operation<Map<string, TableTarget<bigint>[]>>
export function tableAllOp(options?: NumberSectors): Operation<Map<string, TableTarget[]>>
export function tableAllOp(options?: SectorsOptions): Operation<Map<string, TableTarget<number | bigint>[]>>
export function* tableAllOp(options: SectorsOptions = {}): Operation<Map<string, TableTarget<number | bigint>[]>> {
  // SECURE_DATA: a crypt table carries its key; the kernel then wipes its copy of the reply
  const replies = yield* statusAll(Flags.STATUS_TABLE | Flags.SECURE_DATA, true)
  return new Map(replies.map((r) => [r.name, targetsOf(r, 'table', options.bigint, 'tableAll', r.name)]))
}

/** DM_DEV_WAIT: until the event counter moves past `eventNr` (default: its value now). */
export function* waitEventOp(device: DeviceRef, eventNr?: number): Operation<DeviceInfo> {
  const req = address(device, 'waitEvent')
  const last = eventNr ?? (yield* ioctl('devStatus', req)).eventNr
  return toInfo(yield* ioctl('devWait', { ...req, eventNr: checkUint(last, 'waitEvent', 'eventNr', 0xffffffff, label(req)) }))
}

export function* setGeometryOp(device: DeviceRef, g: Geometry): Operation<DeviceInfo> {
  const req = address(device, 'setGeometry')
  const dev = label(req)
  if (g === null || typeof g !== 'object') throw invalid('setGeometry', 'geometry', 'must be an object', dev)
  const c = checkUint(g.cylinders, 'setGeometry', 'cylinders', 0xffff, dev)
  const h = checkUint(g.heads, 'setGeometry', 'heads', 0xff, dev)
  const s = checkUint(g.sectors, 'setGeometry', 'sectors', 0xff, dev)
  const start = checkSectors(g.start, 'setGeometry', 'start', dev)
  return toInfo(yield* ioctl('devSetGeometry', { ...req, data: `${c} ${h} ${s} ${start}` }))
}
