// Operations that change devices: create (with rollback), load, clear, resume, suspend, remove (with EBUSY
// retry), rename, setUuid, removeAll. Each is written once as a generator of steps (./operation.ts); the facade
// drives it synchronously or asynchronously. Validation happens before the first step.
import { address, label } from './address'
import { toInfo } from './decode'
import { DmError, invalid, withCleanupError } from './errors'
import { Flags } from './flags'
import type { NativeReply, NativeRequest } from './native'
import { nodePath } from './nodes'
import { batch, ioctl, sleep, type Operation } from './operation'
import { holders } from './sysfs'
import { secureDataFlag, toNativeTargets, toRawTargets, type TableInput } from './table'
import type { CreateOptions, DeviceInfo, DeviceRef, RemoveOptions, SuspendOptions } from './types'
import type { UdevCallOptions } from './udev'
import { checkName, checkUint, checkUuid } from './validate'

const MAX_BACKOFF_MS = 500

/** Remove's retry policy, from the DeviceMapper options. */
export interface RemovePolicy {
  retries: number
  delayMs: number
}

/**
 * DEV_CREATE + TABLE_LOAD + resume, sent in one native call. If the load or the resume fails, the device is
 * removed again and the kernel's error is thrown: no half-made device is left behind.
 */
export function* createOp(name: string, table: TableInput, options: CreateOptions, policy: RemovePolicy): Operation<DeviceInfo> {
  const operation = 'create'
  checkName(name, operation)
  if (options === null || typeof options !== 'object') throw invalid(operation, 'options', 'must be an object', name)
  const uuid = options.uuid === undefined ? undefined : checkUuid(options.uuid, operation, name)
  const raw = toRawTargets(table, operation, name)
  const ro = options.readOnly ? Flags.READONLY : 0
  const steps = {
    create: { command: 'devCreate', req: { name, uuid, flags: ro } },
    load: { command: 'tableLoad', req: { name, targets: toNativeTargets(raw), flags: ro | secureDataFlag(raw) } },
    resume: { command: 'devSuspend', req: { name } },
  } as const
  const results = yield* batch([steps.create, steps.load, steps.resume], { udevFlags: options.udevFlags, operation })
  const [created, loaded, resumed] = results
  if (resumed !== undefined && !('error' in resumed)) return toInfo(resumed)
  const failed = [created, loaded, resumed].find((r) => r !== undefined && 'error' in r) as { error: DmError }
  if (failed !== created) {
    // the device exists without a live table: take it away again
    try {
      yield* removeOp(name, {}, policy)
    } catch (cleanup) {
      throw withCleanupError(failed.error, cleanup, 'removing the half-made device')
    }
  }
  throw failed.error
}

export function* loadOp(device: DeviceRef, table: TableInput, options: { readOnly?: boolean }): Operation<DeviceInfo> {
  const req = address(device, 'load')
  const raw = toRawTargets(table, 'load', label(req))
  const flags = (options.readOnly ? Flags.READONLY : 0) | secureDataFlag(raw)
  return toInfo(yield* ioctl('tableLoad', { ...req, targets: toNativeTargets(raw), flags }))
}

export function* clearOp(device: DeviceRef): Operation<DeviceInfo> {
  return toInfo(yield* ioctl('tableClear', address(device, 'clear')))
}

export function* resumeOp(device: DeviceRef, options: UdevCallOptions): Operation<DeviceInfo> {
  return toInfo(yield* ioctl('devSuspend', address(device, 'resume'), { udevFlags: options.udevFlags, operation: 'resume' }))
}

export function* suspendOp(device: DeviceRef, options: SuspendOptions): Operation<DeviceInfo> {
  const flags = Flags.SUSPEND | (options.noFlush ? Flags.NOFLUSH : 0) | (options.skipLockfs ? Flags.SKIP_LOCKFS : 0)
  return toInfo(yield* ioctl('devSuspend', { ...address(device, 'suspend'), flags }))
}

/**
 * Removes the device. EBUSY (open, or briefly held by a udev probe) is retried with exponential backoff;
 * `deferred` asks the kernel to remove it at last close instead.
 */
export function* removeOp(device: DeviceRef, options: RemoveOptions, policy: RemovePolicy): Operation<void> {
  const addressed = address(device, 'remove')
  const retries = checkUint(options.retries ?? policy.retries, 'remove', 'retries', 1000, label(addressed))
  const req = { ...addressed, flags: options.deferred ? Flags.DEFERRED_REMOVE : 0 }
  for (let attempt = 0; ; attempt++) {
    try {
      yield* ioctl('devRemove', req, { udevFlags: options.udevFlags, operation: 'remove' })
      return
    } catch (err) {
      if (!(err instanceof DmError) || err.code !== 'EBUSY') throw err
      if (attempt >= retries) throw yield* explainBusy(err, addressed)
      yield* sleep(Math.min(policy.delayMs * 2 ** attempt, MAX_BACKOFF_MS))
    }
  }
}

/** EBUSY is the top complaint about removal: say who holds the device. */
function* explainBusy(err: DmError, req: NativeRequest): Operation<DmError> {
  let info: NativeReply
  try {
    info = yield* ioctl('devStatus', req)
  } catch {
    return err // the device went away meanwhile; the original error stands
  }
  const held = holders(info.minor)
  err.message += ` (open count ${info.openCount}${held.length ? `, held by ${held.join(', ')}` : ''})`
  return err
}

export function* renameOp(device: DeviceRef, newName: string, options: UdevCallOptions): Operation<DeviceInfo> {
  const req = { ...address(device, 'rename'), data: checkName(newName, 'rename', 'newName') }
  const reply = yield* ioctl('devRename', req, { udevFlags: options.udevFlags, operation: 'rename' })
  // The kernel's reply names the device as addressed; the node to open is already the new one.
  return { ...toInfo(reply), path: nodePath(newName) }
}

/** Sets the uuid of a device that has none (the kernel allows it once). */
export function* setUuidOp(device: DeviceRef, uuid: string): Operation<DeviceInfo> {
  const req = address(device, 'setUuid')
  return toInfo(yield* ioctl('devRename', { ...req, flags: Flags.UUID, data: checkUuid(uuid, 'setUuid', label(req)) }))
}
