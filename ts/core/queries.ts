// Operations that read or message devices without changing their life cycle: versions, info, list, table,
// status, deps, target messages, geometry, the blocking event wait. One generator each (./operation.ts).
import { address, label } from './address'
import { toInfo, toList, toVersion } from './decode'
import { invalid, show } from './errors'
import { Flags } from './flags'
import { ioctl, type Operation } from './operation'
import { fromKernel, type RawTarget } from './table'
import type { StatusTarget, TableTarget } from './typed-targets'
import type { DeviceInfo, DeviceRef, Geometry, ListedDevice, Version } from './types'
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

export function* tableOp(device: DeviceRef, options: { inactive?: boolean }): Operation<TableTarget[]> {
  options = checkOptions(options, 'table')
  // SECURE_DATA: a crypt table carries its key; the kernel then wipes its copy of the reply
  const flags = Flags.STATUS_TABLE | Flags.SECURE_DATA | (options.inactive ? Flags.QUERY_INACTIVE_TABLE : 0)
  const r = yield* ioctl('tableStatus', { ...address(device, 'table'), flags })
  return (r.targets ?? []).map((t) => fromKernel(t, 'table') as TableTarget)
}

export function* statusOp(device: DeviceRef, options: { noFlush?: boolean }): Operation<StatusTarget[]> {
  options = checkOptions(options, 'status')
  const r = yield* ioctl('tableStatus', { ...address(device, 'status'), flags: options.noFlush ? Flags.NOFLUSH : 0 })
  return (r.targets ?? []).map((t) => fromKernel(t, 'status') as StatusTarget)
}

export function* depsOp(device: DeviceRef): Operation<{ major: number; minor: number }[]> {
  return (yield* ioctl('tableDeps', address(device, 'deps'))).deps ?? []
}

/** A target message (thin-pool: sector 0); the target's reply, or undefined if none. */
export function* messageOp(device: DeviceRef, sector: number, text: string): Operation<string | undefined> {
  const req = address(device, 'message')
  const dev = label(req)
  checkSectors(sector, 'message', 'sector', dev)
  checkParams(text, 'message', 'text', dev)
  if (text.trim() === '') throw invalid('message', 'text', 'must not be empty', dev)
  // crypt's `key set <key>` carries a key: have the kernel wipe its copy
  return (yield* ioctl('targetMsg', { ...req, sector, data: text, flags: /^\s*key\s/.test(text) ? Flags.SECURE_DATA : 0 })).data
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
