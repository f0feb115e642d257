// Operations that change devices: create (with rollback), load, clear, resume, suspend, remove (with EBUSY
// retry), rename, setUuid, removeAll. Each is written once as a generator of steps (./operation.ts); the facade
// drives it synchronously or asynchronously. Validation happens before the first step.
import { randomUUID } from 'node:crypto'
import { address, label } from './address'
import { toInfo } from './decode'
import { DmError, invalid, show, withCleanupError } from './errors'
import { Flags } from './flags'
import type { BatchResult, NativeReply, NativeRequest } from './native'
import { batch, ioctl, sleep, type Call, type Operation, type StepOptions } from './operation'
import { holders, openers } from './sysfs'
import { secureDataFlag, toNativeTargets, toRawTargets, type RawTarget, type Sectors, type TableInput } from './table'
import { checkTableDevices, explainLoadError, kmsgNow } from './table-checks'
import type { CreateOptions, DeviceInfo, DeviceRef, RemoveOptions, SuspendOptions } from './types'
import type { UdevCallOptions } from './udev'
import { checkName, checkOptions, checkUint, checkUuid } from './validate'

const MAX_BACKOFF_MS = 500

/** Remove's retry policy, from the DeviceMapper options, and the instance's uuid mark for create. */
export interface RemovePolicy {
  retries: number
  delayMs: number
  /** DeviceMapperOptions.uuidPrefix: every created device's uuid starts with it */
  uuidPrefix?: string
}

/** Target types the kernel has confirmed (GET_TARGET_VERSION) in this process: checked once each. */
const knownTypes = new Set<string>()
/** false once the kernel could not answer GET_TARGET_VERSION (before 4.41): the load then decides alone */
let canCheckTypes = true

/**
 * Sends `calls` (a table load, or create's three steps) in one native call, preceded by GET_TARGET_VERSION (which
 * loads the module) for each of the table's target types not confirmed yet in this process: a typo is then
 * EINVAL naming the target instead of a bare EINVAL from TABLE_LOAD. Being in the same native call keeps the
 * operation one hop, and keeps it on the fd it started on when close() comes while it is in flight.
 */
function* withTypeChecks(raw: readonly RawTarget<Sectors>[], calls: Call[], options: StepOptions, device: string): Operation<BatchResult> {
  const operation = options.operation ?? 'load'
  const types = canCheckTypes ? [...new Set(raw.map((t) => t.type))].filter((t) => !knownTypes.has(t)) : []
  const checks: Call[] = types.map((name) => ({ command: 'getTargetVersion', req: { name } }))
  const results = yield* batch([...checks, ...calls], options)
  for (const [k, type] of types.entries()) {
    const r = results[k]
    if (r !== undefined && !('error' in r)) {
      knownTypes.add(type)
      continue
    }
    const err = r?.error
    if (err?.code !== 'EINVAL') {
      // ENOTTY and the like (an old kernel): not decidable here, so send the calls alone
      canCheckTypes = false
      return yield* batch(calls, options)
    }
    const i = raw.findIndex((t) => t.type === type)
    throw new DmError({
      message: `${operation} ${device}: table[${i}].type '${type}' is not a target type this kernel knows (not registered, and no module dm-${type} could be loaded)`,
      code: 'EINVAL',
      operation,
      device,
      field: `table[${i}].type`,
      cause: err,
    })
  }
  return results.slice(types.length)
}

/** The uuid a create sends: the caller's, marked with the instance's prefix when there is one. */
function createUuid(uuid: string | undefined, prefix: string | undefined, device: string): string | undefined {
  if (prefix === undefined) return uuid === undefined ? undefined : checkUuid(uuid, 'create', device)
  if (uuid === undefined) return checkUuid(`${prefix}${randomUUID()}`, 'create', device)
  checkUuid(uuid, 'create', device)
  return checkUuid(uuid.startsWith(prefix) ? uuid : `${prefix}${uuid}`, 'create', device)
}

/**
 * DEV_CREATE + TABLE_LOAD + resume, sent in one native call. If the load or the resume fails, the device is
 * removed again and the kernel's error is thrown: no half-made device is left behind.
 */
export function* createOp(name: string, table: TableInput, options: CreateOptions, policy: RemovePolicy): Operation<DeviceInfo> {
  const operation = 'create'
  checkName(name, operation)
  options = checkOptions(options, operation, name)
  const uuid = createUuid(options.uuid, policy.uuidPrefix, name)
  const raw = toRawTargets(table, operation, name)
  checkTableDevices(raw, operation, name)
  const ro = options.readOnly ? Flags.READONLY : 0
  const steps = {
    create: { command: 'devCreate', req: { name, uuid, flags: ro } },
    load: { command: 'tableLoad', req: { name, targets: toNativeTargets(raw), flags: ro | secureDataFlag(raw) } },
    resume: { command: 'devSuspend', req: { name } },
  } as const
  const since = kmsgNow()
  let results
  try {
    results = yield* withTypeChecks(raw, [steps.create, steps.load, steps.resume], { udevFlags: options.udevFlags, operation }, name)
  } catch (err) {
    // The kernel made the device, but its node could not be made (something took its place after the check):
    // take the device away again rather than report a failure for a device that stays.
    if (!(err instanceof DmError) || err.operation !== 'mknod') throw err
    try {
      yield* removeOp(name, {}, policy)
    } catch (cleanup) {
      throw withCleanupError(err, cleanup, 'removing the device whose node could not be made')
    }
    err.message += '; the device was removed again'
    throw err
  }
  const [created, loaded, resumed] = results
  if (resumed !== undefined && !('error' in resumed)) return toInfo(resumed)
  const failed = [created, loaded, resumed].find((r) => r !== undefined && 'error' in r) as { error: DmError }
  if (failed === created) throw yield* explainExisting(failed.error, name)
  const made = created as NativeReply
  if (failed === loaded) explainLoadError(failed.error, { major: made.major, minor: made.minor, targets: raw, since, deviceExists: true })
  // the device exists without a live table: take it away again
  try {
    yield* removeOp(name, {}, policy)
  } catch (cleanup) {
    throw withCleanupError(failed.error, cleanup, 'removing the half-made device')
  }
  throw failed.error
}

/**
 * DEV_CREATE's EBUSY: the name is taken. When the device there has no live table it is most likely left by a
 * create that was interrupted (a killed process): say so, and how to clear it.
 */
function* explainExisting(err: DmError, name: string): Operation<DmError> {
  if (err.code !== 'EBUSY') return err
  let info: NativeReply
  try {
    info = yield* ioctl('devStatus', { name })
  } catch {
    return err
  }
  if ((info.flags & Flags.ACTIVE_PRESENT) !== 0) {
    err.message += `: a device named '${name}' already exists`
    return err
  }
  err.message +=
    `: a device named '${name}' already exists half-made (no live table${(info.flags & Flags.INACTIVE_PRESENT) !== 0 ? ', an inactive one loaded' : ''}; ` +
    `left by an interrupted create?): remove it with remove('${name}')` +
    (info.uuid ? ` or, if its uuid carries this instance's uuidPrefix, removeHalfMade()` : '')
  err.halfMade = true
  return err
}

export function* loadOp(device: DeviceRef, table: TableInput, options: { readOnly?: boolean }): Operation<DeviceInfo> {
  const req = address(device, 'load')
  options = checkOptions(options, 'load', label(req))
  const raw = toRawTargets(table, 'load', label(req))
  checkTableDevices(raw, 'load', label(req))
  const flags = (options.readOnly ? Flags.READONLY : 0) | secureDataFlag(raw)
  const since = kmsgNow()
  const load = { command: 'tableLoad', req: { ...req, targets: toNativeTargets(raw), flags } } as const
  const loaded = (yield* withTypeChecks(raw, [load], { operation: 'load' }, label(req)))[0]!
  if (!('error' in loaded)) return toInfo(loaded)
  let dev: NativeReply | undefined
  try {
    dev = yield* ioctl('devStatus', req)
  } catch {
    // the dm device itself is missing: the error says so as it is
  }
  throw explainLoadError(loaded.error, { major: dev?.major, minor: dev?.minor, targets: raw, since, deviceExists: dev !== undefined })
}

export function* clearOp(device: DeviceRef): Operation<DeviceInfo> {
  return toInfo(yield* ioctl('tableClear', address(device, 'clear')))
}

export function* resumeOp(device: DeviceRef, options: UdevCallOptions): Operation<DeviceInfo> {
  options = checkOptions(options, 'resume')
  return toInfo(yield* ioctl('devSuspend', address(device, 'resume'), { udevFlags: options.udevFlags, operation: 'resume' }))
}

export function* suspendOp(device: DeviceRef, options: SuspendOptions): Operation<DeviceInfo> {
  options = checkOptions(options, 'suspend')
  const flags = Flags.SUSPEND | (options.noFlush ? Flags.NOFLUSH : 0) | (options.skipLockfs ? Flags.SKIP_LOCKFS : 0)
  return toInfo(yield* ioctl('devSuspend', Object.assign(address(device, 'suspend'), { flags })))
}

/**
 * Removes the device. EBUSY (open, or briefly held by a udev probe) is retried with exponential backoff;
 * `deferred` asks the kernel to remove it at last close instead.
 */
export function* removeOp(device: DeviceRef, options: RemoveOptions, policy: RemovePolicy): Operation<void> {
  const addressed = address(device, 'remove')
  options = checkOptions(options, 'remove', label(addressed))
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
  const users = openers(info.major, info.minor)
  err.message +=
    ` (open count ${info.openCount}${held.length ? `, held by ${held.join(', ')}` : ''}` +
    `${users.length ? `, open in ${users.join(', ')}` : ''})`
  return err
}

export function* renameOp(device: DeviceRef, newName: string, options: UdevCallOptions): Operation<DeviceInfo> {
  const addressed = address(device, 'rename')
  options = checkOptions(options, 'rename', label(addressed))
  const data = checkName(newName, 'rename', 'newName')
  // Which device this is, by dev_t: the rename's reply names it as addressed, and a rollback needs the old name.
  const before = yield* ioctl('devStatus', addressed)
  const dev = { major: before.major, minor: before.minor }
  // sent by its name, so that its old node goes (the runner moves /dev/mapper/<old> to /dev/mapper/<new>)
  const req = { ...(addressed.name !== undefined || before.nameBuffer ? addressed : { name: before.name }), data }
  try {
    yield* ioctl('devRename', req, { udevFlags: options.udevFlags, operation: 'rename' })
  } catch (err) {
    // Renamed in the kernel, but the new node could not be made (something took its place after the check):
    // rename it back rather than report a failure for a rename that stays.
    if (!(err instanceof DmError) || err.operation !== 'mknod' || before.nameBuffer) throw err
    try {
      yield* ioctl('devRename', { ...dev, data: before.name }, { udevFlags: options.udevFlags, operation: 'rename' })
    } catch (cleanup) {
      throw withCleanupError(err, cleanup, `renaming it back to '${before.name}'`)
    }
    err.message += `; the device was renamed back to '${before.name}'`
    throw err
  }
  return toInfo(yield* ioctl('devStatus', dev)) // what the kernel has now: the new name, the node to open
}

/** Sets the uuid of a device that has none (the kernel allows it once); resolves with what the kernel now has. */
export function* setUuidOp(device: DeviceRef, uuid: string): Operation<DeviceInfo> {
  const req = address(device, 'setUuid')
  const data = checkUuid(uuid, 'setUuid', label(req))
  try {
    yield* ioctl('devRename', { ...req, flags: Flags.UUID, data })
  } catch (err) {
    if (!(err instanceof DmError) || err.code !== 'EINVAL') throw err
    let current: NativeReply
    try {
      current = yield* ioctl('devStatus', req)
    } catch {
      throw err
    }
    if (current.uuid) err.message += `: the device already has uuid ${show(current.uuid).replace(' (a string)', '')} (the kernel sets a uuid once)`
    throw err
  }
  return toInfo(yield* ioctl('devStatus', req))
}

/**
 * Removes the devices a killed process left half-made: those whose uuid starts with `uuidPrefix` (devmapper's
 * mark, DeviceMapperOptions.uuidPrefix) and that have no live table. Resolves with their names. Run it when no
 * other process is creating devices with that prefix: a create in flight has no live table for a moment either.
 */
export function* removeHalfMadeOp(uuidPrefix: string | undefined, policy: RemovePolicy): Operation<string[]> {
  if (typeof uuidPrefix !== 'string' || uuidPrefix.length === 0) {
    throw invalid('removeHalfMade', 'uuidPrefix', `must be a non-empty string (the DeviceMapper option or an argument), got ${show(uuidPrefix)}`)
  }
  const listed = (yield* ioctl('listDevices', { flags: Flags.UUID })).devices ?? []
  const removed: string[] = []
  for (const d of listed) {
    if (!d.uuid?.startsWith(uuidPrefix)) continue
    let info: NativeReply
    try {
      info = yield* ioctl('devStatus', { major: d.major, minor: d.minor })
    } catch {
      continue // gone meanwhile
    }
    if ((info.flags & Flags.ACTIVE_PRESENT) !== 0 || info.uuid !== d.uuid) continue
    yield* removeOp({ major: d.major, minor: d.minor }, { retries: 0 }, policy)
    removed.push(d.name)
  }
  return removed
}
