// The core facade: one method per device-mapper operation, each with a synchronous twin (`...Sync`). Each pair
// drives one operation (./lifecycle.ts, ./queries.ts) through the Runner (./runner.ts), which owns udev cookies
// and /dev/mapper nodes. Every request is validated before the native layer sends it; kernel failures arrive
// as DmError.
import { invalid, show } from './errors'
import { createOp, clearOp, loadOp, removeHalfMadeOp, removeOp, renameOp, resumeOp, setUuidOp, suspendOp, type RemovePolicy } from './lifecycle'
import { native, type NativeControl } from './native'
import type { Operation } from './operation'
import {
  depsOp, infoOp, listOp, messageOp, messageSuspendedOp, setGeometryOp, statusAllOp, statusOp, tableAllOp, tableOp, targetVersionOp,
  targetVersionsOp, versionOp, waitEventOp,
} from './queries'
import { Runner } from './runner'
import type { BigIntSectors, NumberSectors, SectorsOptions, TableInput } from './table'
import type { StatusTarget, TableTarget } from './typed-targets'
import type {
  CreateOptions, DeviceInfo, DeviceMapperOptions, DeviceRef, Geometry, ListedDevice, RemoveOptions, StatusOptions, SuspendOptions,
  TableOptions, Version,
} from './types'
import { UdevSync, type UdevCallOptions } from './udev'
import { checkNameMangling, checkOptions, checkUint, checkUuid } from './validate'

export class DeviceMapper {
  readonly #control: NativeControl
  readonly #runner: Runner
  readonly #remove: RemovePolicy
  /** the control device this instance opens */
  readonly controlPath: string

  constructor(options: DeviceMapperOptions = {}) {
    if (options === null || typeof options !== 'object') throw invalid('DeviceMapper', 'options', `must be an object, got ${show(options)}`)
    const path = options.controlPath ?? '/dev/mapper/control'
    if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
      throw invalid('DeviceMapper', 'controlPath', `must be a path, got ${show(path)}`)
    }
    this.controlPath = path
    const uuidPrefix = options.uuidPrefix === undefined ? undefined : checkUuid(options.uuidPrefix, 'DeviceMapper')
    const naming = checkNameMangling(options.nameMangling)
    this.#control = options.control ?? new native.Control(this.controlPath)
    this.#remove = {
      retries: checkUint(options.removeRetries ?? 10, 'DeviceMapper', 'removeRetries', 1000),
      delayMs: checkUint(options.removeRetryDelayMs ?? 10, 'DeviceMapper', 'removeRetryDelayMs', 60_000),
      uuidPrefix,
    }
    this.#runner = new Runner(this.#control, new UdevSync(options.udev, options.udevTimeoutMs), naming)
  }

  /** Closes the control fd; a later call reopens it. Calls in flight finish on the old fd. */
  close(): void {
    this.#control.close()
  }

  /**
   * Drives a multi-step operation (a generator of steps, see core/operation.ts) on this instance's control fd.
   * Higher wings (thin pools, volumes) compose their operations from the ones here and run them with this.
   */
  run<T>(op: Operation<T>): Promise<T> {
    return this.#runner.run(op)
  }
  runSync<T>(op: Operation<T>): T {
    return this.#runner.runSync(op)
  }

  // Queries that never sleep in the kernel run inline in their promise form: a thread-pool hop costs ~10x the
  // ioctl itself (benchmarks/README.md), so the promise settles from the synchronous ioctl.

  /** The kernel's ioctl interface version. */
  async version(): Promise<Version> {
    return this.versionSync()
  }
  versionSync(): Version {
    return this.runSync(versionOp())
  }

  /** The target types the kernel has registered (loaded modules). */
  async targetVersions(): Promise<{ name: string; version: [number, number, number] }[]> {
    return this.targetVersionsSync()
  }
  targetVersionsSync(): { name: string; version: [number, number, number] }[] {
    return this.runSync(targetVersionsOp())
  }

  /** One target type's version; the kernel loads its module on demand (GET_TARGET_VERSION, 4.41+). */
  targetVersion(type: string): Promise<[number, number, number]> {
    return this.run(targetVersionOp(type))
  }
  targetVersionSync(type: string): [number, number, number] {
    return this.runSync(targetVersionOp(type))
  }

  /**
   * DEV_CREATE + TABLE_LOAD + resume, sent in one native call. If the load or the resume fails, the device is
   * removed again and the kernel's error is thrown: no half-made device is left behind.
   */
  create(name: string, table: TableInput, options: CreateOptions = {}): Promise<DeviceInfo> {
    return this.run(createOp(name, table, options, this.#remove))
  }
  createSync(name: string, table: TableInput, options: CreateOptions = {}): DeviceInfo {
    return this.runSync(createOp(name, table, options, this.#remove))
  }

  /** Loads a table into the device's inactive slot; `resume` makes it live. */
  load(device: DeviceRef, table: TableInput, options: { readOnly?: boolean } = {}): Promise<DeviceInfo> {
    return this.run(loadOp(device, table, options))
  }
  loadSync(device: DeviceRef, table: TableInput, options: { readOnly?: boolean } = {}): DeviceInfo {
    return this.runSync(loadOp(device, table, options))
  }

  /** Drops the inactive table. */
  clear(device: DeviceRef): Promise<DeviceInfo> {
    return this.run(clearOp(device))
  }
  clearSync(device: DeviceRef): DeviceInfo {
    return this.runSync(clearOp(device))
  }

  /** Resumes the device, swapping in the inactive table if one is loaded. */
  resume(device: DeviceRef, options: UdevCallOptions = {}): Promise<DeviceInfo> {
    return this.run(resumeOp(device, options))
  }
  resumeSync(device: DeviceRef, options: UdevCallOptions = {}): DeviceInfo {
    return this.runSync(resumeOp(device, options))
  }

  /** Suspends the device: I/O queues until resume. `noFlush` keeps queued I/O queued; `skipLockfs` skips the file-system freeze. */
  suspend(device: DeviceRef, options: SuspendOptions = {}): Promise<DeviceInfo> {
    return this.run(suspendOp(device, options))
  }
  suspendSync(device: DeviceRef, options: SuspendOptions = {}): DeviceInfo {
    return this.runSync(suspendOp(device, options))
  }

  /**
   * Removes the device. EBUSY (open, or briefly held by a udev probe) is retried with exponential backoff;
   * `deferred` asks the kernel to remove it at last close instead.
   */
  remove(device: DeviceRef, options: RemoveOptions = {}): Promise<void> {
    return this.run(removeOp(device, options, this.#remove))
  }
  removeSync(device: DeviceRef, options: RemoveOptions = {}): void {
    this.runSync(removeOp(device, options, this.#remove))
  }

  /** Renames the device. */
  rename(device: DeviceRef, newName: string, options: UdevCallOptions = {}): Promise<DeviceInfo> {
    return this.run(renameOp(device, newName, options))
  }
  renameSync(device: DeviceRef, newName: string, options: UdevCallOptions = {}): DeviceInfo {
    return this.runSync(renameOp(device, newName, options))
  }

  /** Sets the uuid of a device that has none (the kernel allows it once). */
  setUuid(device: DeviceRef, uuid: string): Promise<DeviceInfo> {
    return this.run(setUuidOp(device, uuid))
  }
  setUuidSync(device: DeviceRef, uuid: string): DeviceInfo {
    return this.runSync(setUuidOp(device, uuid))
  }

  /**
   * Removes the devices a killed process left half-made (no live table) that carry this instance's mark: a uuid
   * starting with `uuidPrefix` (the DeviceMapper option, or the argument). Resolves with their names. Not while
   * another process creates devices with the same prefix: its create in flight has no live table for a moment.
   */
  removeHalfMade(uuidPrefix: string | undefined = this.#remove.uuidPrefix): Promise<string[]> {
    return this.run(removeHalfMadeOp(uuidPrefix, this.#remove))
  }
  removeHalfMadeSync(uuidPrefix: string | undefined = this.#remove.uuidPrefix): string[] {
    return this.runSync(removeHalfMadeOp(uuidPrefix, this.#remove))
  }

  /** Removes every device-mapper device on the system that is not open. Meant for test sandboxes. */
  removeAll(): Promise<void> {
    return this.#runner.removeAll()
  }
  removeAllSync(): void {
    this.#runner.removeAllSync()
  }

  /** The device's state: numbers, open count, event counter, suspended, tables loaded, node path. */
  async info(device: DeviceRef): Promise<DeviceInfo> {
    return this.infoSync(device)
  }
  infoSync(device: DeviceRef): DeviceInfo {
    return this.runSync(infoOp(device))
  }

  /** Every device-mapper device, with uuid and event counter where the kernel reports them. */
  async list(): Promise<ListedDevice[]> {
    return this.listSync()
  }
  listSync(): ListedDevice[] {
    return this.runSync(listOp())
  }

  /**
   * The active (or inactive) table, typed where the target type is known. Start and length are numbers, exact:
   * a value past 2^53 (a huge zero or error target) is refused with DmError ERANGE rather than rounded; pass
   * `{ bigint: true }` to read them as bigints, exact for any u64 (the same holds for status, tableAll, statusAll).
   */
  table(device: DeviceRef, options: TableOptions & BigIntSectors): Promise<TableTarget<bigint>[]>
  table(device: DeviceRef, options?: TableOptions & NumberSectors): Promise<TableTarget[]>
  table(device: DeviceRef, options?: TableOptions): Promise<TableTarget[] | TableTarget<bigint>[]>
  async table(device: DeviceRef, options: TableOptions = {}): Promise<TableTarget<number | bigint>[]> {
    return this.runSync(tableOp(device, options))
  }
  tableSync(device: DeviceRef, options: TableOptions & BigIntSectors): TableTarget<bigint>[]
  tableSync(device: DeviceRef, options?: TableOptions & NumberSectors): TableTarget[]
  tableSync(device: DeviceRef, options?: TableOptions): TableTarget[] | TableTarget<bigint>[]
  tableSync(device: DeviceRef, options: TableOptions = {}): TableTarget<number | bigint>[] {
    return this.runSync(tableOp(device, options))
  }

  /**
   * Per-target status, typed where the target type is known. `noFlush` keeps a thin-pool from committing.
   * Start and length as in table(): numbers (ERANGE past 2^53), or bigints with `{ bigint: true }`.
   */
  status(device: DeviceRef, options: StatusOptions & BigIntSectors): Promise<StatusTarget<bigint>[]>
  status(device: DeviceRef, options?: StatusOptions & NumberSectors): Promise<StatusTarget[]>
  status(device: DeviceRef, options?: StatusOptions): Promise<StatusTarget[] | StatusTarget<bigint>[]>
  async status(device: DeviceRef, options: StatusOptions = {}): Promise<StatusTarget<number | bigint>[]> {
    // Without NOFLUSH a thin-pool commits its metadata (I/O) before answering: that one goes off-thread.
    return options?.noFlush ? this.runSync(statusOp(device, options)) : this.run(statusOp(device, options))
  }
  statusSync(device: DeviceRef, options: StatusOptions & BigIntSectors): StatusTarget<bigint>[]
  statusSync(device: DeviceRef, options?: StatusOptions & NumberSectors): StatusTarget[]
  statusSync(device: DeviceRef, options?: StatusOptions): StatusTarget[] | StatusTarget<bigint>[]
  statusSync(device: DeviceRef, options: StatusOptions = {}): StatusTarget<number | bigint>[] {
    return this.runSync(statusOp(device, options))
  }

  /**
   * Every device's status, by name, typed where the target type is known: the list and all the status reads in
   * one native call. Without `noFlush` that call takes one thread-pool hop (a thin-pool may commit its metadata
   * before answering); with it, the promise form runs inline. Devices removed meanwhile are left out.
   * Start and length as in table(): a number past 2^53 on any device is ERANGE; `{ bigint: true }` reads all.
   */
  statusAll(options: StatusOptions & BigIntSectors): Promise<Map<string, StatusTarget<bigint>[]>>
  statusAll(options?: StatusOptions & NumberSectors): Promise<Map<string, StatusTarget[]>>
  statusAll(options?: StatusOptions): Promise<Map<string, StatusTarget[]> | Map<string, StatusTarget<bigint>[]>>
  statusAll(options: StatusOptions = {}): Promise<Map<string, StatusTarget<number | bigint>[]>> {
    return this.run(statusAllOp({ noFlush: this.#noFlush(options, 'statusAll'), bigint: options.bigint }))
  }
  statusAllSync(options: StatusOptions & BigIntSectors): Map<string, StatusTarget<bigint>[]>
  statusAllSync(options?: StatusOptions & NumberSectors): Map<string, StatusTarget[]>
  statusAllSync(options?: StatusOptions): Map<string, StatusTarget[]> | Map<string, StatusTarget<bigint>[]>
  statusAllSync(options: StatusOptions = {}): Map<string, StatusTarget<number | bigint>[]> {
    return this.runSync(statusAllOp({ noFlush: this.#noFlush(options, 'statusAll'), bigint: options.bigint }))
  }

  #noFlush(options: { noFlush?: boolean }, op: string): boolean {
    if (options === null || typeof options !== 'object') throw invalid(op, 'options', 'must be an object')
    return options.noFlush === true
  }

  /**
   * Every device's active table, by name, typed where the target type is known: one native call, inline.
   * Start and length as in table(): a number past 2^53 on any device is ERANGE; `{ bigint: true }` reads all.
   */
  tableAll(options: BigIntSectors): Promise<Map<string, TableTarget<bigint>[]>>
  tableAll(options?: NumberSectors): Promise<Map<string, TableTarget[]>>
  tableAll(options?: SectorsOptions): Promise<Map<string, TableTarget[]> | Map<string, TableTarget<bigint>[]>>
  async tableAll(options: SectorsOptions = {}): Promise<Map<string, TableTarget<number | bigint>[]>> {
    return this.runSync(tableAllOp(checkOptions(options, 'tableAll')))
  }
  tableAllSync(options: BigIntSectors): Map<string, TableTarget<bigint>[]>
  tableAllSync(options?: NumberSectors): Map<string, TableTarget[]>
  tableAllSync(options?: SectorsOptions): Map<string, TableTarget[]> | Map<string, TableTarget<bigint>[]>
  tableAllSync(options: SectorsOptions = {}): Map<string, TableTarget<number | bigint>[]> {
    return this.runSync(tableAllOp(checkOptions(options, 'tableAll')))
  }

  /** The devices the active table maps onto. */
  async deps(device: DeviceRef): Promise<{ major: number; minor: number }[]> {
    return this.depsSync(device)
  }
  depsSync(device: DeviceRef): { major: number; minor: number }[] {
    return this.runSync(depsOp(device))
  }

  /** Sends a target message (thin-pool: sector 0); resolves to the target's reply, or undefined if none. */
  message(device: DeviceRef, sector: number, text: string): Promise<string | undefined> {
    return this.run(messageOp(device, sector, text))
  }
  messageSync(device: DeviceRef, sector: number, text: string): string | undefined {
    return this.runSync(messageOp(device, sector, text))
  }

  /**
   * Suspends `suspend`, sends the message to `device`, and resumes `suspend` again (also when the message
   * fails), in one native call: create_snap of an active thin origin. Resolves to the message's reply.
   */
  messageSuspended(suspend: DeviceRef, device: DeviceRef, sector: number, text: string, options: UdevCallOptions = {}): Promise<string | undefined> {
    return this.run(messageSuspendedOp(suspend, device, sector, text, options))
  }
  messageSuspendedSync(suspend: DeviceRef, device: DeviceRef, sector: number, text: string, options: UdevCallOptions = {}): string | undefined {
    return this.runSync(messageSuspendedOp(suspend, device, sector, text, options))
  }

  /** Blocks until the device's event counter moves past `eventNr` (default: its value now): DM_DEV_WAIT. */
  waitEventSync(device: DeviceRef, eventNr?: number): DeviceInfo {
    return this.runSync(waitEventOp(device, eventNr))
  }

  /** Arms the control fd so that poll() on it reports the next device event (DEV_ARM_POLL, 4.37+). */
  async armPoll(): Promise<void> {
    await this.#control.devArmPoll()
  }
  armPollSync(): void {
    this.#control.devArmPollSync()
  }

  /** The control fd (opened if needed), for callers that poll it after armPoll(). */
  controlFd(): number {
    return this.#control.fd()
  }

  /** Sets the disk geometry (cylinders, heads, sectors, start) the device reports to HDIO_GETGEO. */
  setGeometry(device: DeviceRef, geometry: Geometry): Promise<DeviceInfo> {
    return this.run(setGeometryOp(device, geometry))
  }
  setGeometrySync(device: DeviceRef, geometry: Geometry): DeviceInfo {
    return this.runSync(setGeometryOp(device, geometry))
  }
}
