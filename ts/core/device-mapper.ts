// The core facade: one method per device-mapper operation, each with a synchronous twin (`...Sync`).
// Every request is validated here before the native layer sends it; kernel failures arrive as DmError.
import { address, label } from './address'
import { toInfo, toList, toVersion } from './decode'
import { DmError, invalid, withCleanupError } from './errors'
import { Flags } from './flags'
import { native, type BatchRequest, type BatchResult, type NativeControl, type NativeReply, type NativeRequest } from './native'
import { nodePath } from './nodes'
import { holders } from './sysfs'
import { fromKernel, secureDataFlag, toNativeTargets, toRawTargets, type RawTarget, type TableInput } from './table'
import type { CreateOptions, DeviceInfo, DeviceMapperOptions, DeviceRef, Geometry, ListedDevice, RemoveOptions, SuspendOptions, Version } from './types'
import { UdevSync, type UdevCallOptions } from './udev'
import { checkName, checkParams, checkSectors, checkUint, checkUuid } from './validate'

type Target = RawTarget & Record<string, unknown>

const cmd = native.commands
const MAX_BACKOFF_MS = 500

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

export class DeviceMapper {
  readonly #control: NativeControl
  readonly #removeRetries: number
  readonly #removeDelay: number
  /** the control device this instance opens */
  readonly controlPath: string
  readonly #udev: UdevSync

  constructor(options: DeviceMapperOptions = {}) {
    this.#control = new native.Control(options.controlPath ?? '/dev/mapper/control')
    this.#removeRetries = checkUint(options.removeRetries ?? 10, 'DeviceMapper', 'removeRetries', 1000)
    this.#removeDelay = checkUint(options.removeRetryDelayMs ?? 10, 'DeviceMapper', 'removeRetryDelayMs', 60_000)
    this.controlPath = options.controlPath ?? '/dev/mapper/control'
    this.#udev = new UdevSync(options.udev, options.udevTimeoutMs)
  }

  /** Closes the control fd; a later call reopens it. Calls in flight finish on the old fd. */
  close(): void {
    this.#control.close()
  }

  // ---- versions -------------------------------------------------------------------------------------------

  /** The kernel's ioctl interface version. */
  // Queries that never sleep in the kernel run inline: a thread-pool hop costs ~10x the ioctl itself
  // (benchmarks/README.md), so the promise form calls the sync ioctl and settles at once.
  async version(): Promise<Version> {
    return this.versionSync()
  }
  versionSync(): Version {
    return toVersion(this.#control.versionSync().version)
  }

  /** The target types the kernel has registered (loaded modules). */
  async targetVersions(): Promise<{ name: string; version: [number, number, number] }[]> {
    return this.targetVersionsSync()
  }
  targetVersionsSync(): { name: string; version: [number, number, number] }[] {
    return this.#control.listVersionsSync().versions ?? []
  }

  /** One target type's version; the kernel loads its module on demand (GET_TARGET_VERSION, 4.41+). */
  async targetVersion(type: string): Promise<[number, number, number]> {
    return (await this.#control.getTargetVersion({ name: this.#targetName(type) })).versions![0].version
  }
  targetVersionSync(type: string): [number, number, number] {
    return this.#control.getTargetVersionSync({ name: this.#targetName(type) }).versions![0].version
  }

  #targetName(type: string): string {
    if (typeof type !== 'string' || type.length === 0 || type.length > 15 || /[\s/]/.test(type)) {
      throw invalid('targetVersion', 'type', `must be a target type name (1..15 characters), got '${String(type)}'`)
    }
    return type
  }

  // ---- create, load, resume, suspend ------------------------------------------------------------------------

  /**
   * DEV_CREATE + TABLE_LOAD + resume, sent in one native call. If the load or the resume fails, the device is
   * removed again and the kernel's error is thrown: no half-made device is left behind.
   */
  async create(name: string, table: TableInput, options: CreateOptions = {}): Promise<DeviceInfo> {
    const plan = this.#createPlan(name, table, options)
    const t = this.#udev.begin('create', name, options.udevFlags, { node: 'add' })
    plan[2].eventNr = t.eventNr
    const results = await this.#udev.run(t, () => this.#control.batch(plan), (r) => r[2])
    const failed = this.#createFailure(results)
    if (failed === undefined) return toInfo(results[2] as NativeReply)
    if (failed.index > 0) {
      try {
        await this.remove(name)
      } catch (cleanup) {
        throw withCleanupError(failed.error, cleanup, 'removing the half-made device')
      }
    }
    throw failed.error
  }
  createSync(name: string, table: TableInput, options: CreateOptions = {}): DeviceInfo {
    const plan = this.#createPlan(name, table, options)
    const t = this.#udev.begin('create', name, options.udevFlags, { node: 'add' })
    plan[2].eventNr = t.eventNr
    const results = this.#udev.runSync(t, () => this.#control.batchSync(plan), (r) => r[2])
    const failed = this.#createFailure(results)
    if (failed === undefined) return toInfo(results[2] as NativeReply)
    if (failed.index > 0) {
      try {
        this.removeSync(name)
      } catch (cleanup) {
        throw withCleanupError(failed.error, cleanup, 'removing the half-made device')
      }
    }
    throw failed.error
  }

  #createPlan(name: string, table: TableInput, options: CreateOptions): BatchRequest[] {
    const op = 'create'
    checkName(name, op)
    if (options === null || typeof options !== 'object') throw invalid(op, 'options', 'must be an object', name)
    const uuid = options.uuid === undefined ? undefined : checkUuid(options.uuid, op, name)
    const raw = toRawTargets(table, op, name)
    const targets = toNativeTargets(raw)
    const ro = options.readOnly ? Flags.READONLY : 0
    return [
      { cmd: cmd.devCreate.nr, name, uuid, flags: ro },
      { cmd: cmd.tableLoad.nr, name, targets, flags: ro | secureDataFlag(raw) },
      { cmd: cmd.devSuspend.nr, name },
    ]
  }

  #createFailure(results: BatchResult): { index: number; error: DmError } | undefined {
    const index = results.findIndex((r) => 'error' in r)
    if (index < 0) return undefined
    return { index, error: (results[index] as { error: DmError }).error }
  }

  /** Loads a table into the device's inactive slot; `resume` makes it live. */
  async load(device: DeviceRef, table: TableInput, options: { readOnly?: boolean } = {}): Promise<DeviceInfo> {
    return toInfo(await this.#control.tableLoad(this.#loadRequest(device, table, options)))
  }
  loadSync(device: DeviceRef, table: TableInput, options: { readOnly?: boolean } = {}): DeviceInfo {
    return toInfo(this.#control.tableLoadSync(this.#loadRequest(device, table, options)))
  }

  #loadRequest(device: DeviceRef, table: TableInput, options: { readOnly?: boolean }): NativeRequest {
    const req = address(device, 'load')
    const raw = toRawTargets(table, 'load', label(req))
    return { ...req, targets: toNativeTargets(raw), flags: (options.readOnly ? Flags.READONLY : 0) | secureDataFlag(raw) }
  }

  /** Drops the inactive table. */
  async clear(device: DeviceRef): Promise<DeviceInfo> {
    return toInfo(await this.#control.tableClear(address(device, 'clear')))
  }
  clearSync(device: DeviceRef): DeviceInfo {
    return toInfo(this.#control.tableClearSync(address(device, 'clear')))
  }

  /** Resumes the device, swapping in the inactive table if one is loaded. */
  async resume(device: DeviceRef, options: UdevCallOptions = {}): Promise<DeviceInfo> {
    const req = address(device, 'resume')
    const t = this.#udev.begin('resume', label(req), options.udevFlags, { node: 'add' })
    return toInfo(await this.#udev.run(t, () => this.#control.devSuspend({ ...req, eventNr: t.eventNr })))
  }
  resumeSync(device: DeviceRef, options: UdevCallOptions = {}): DeviceInfo {
    const req = address(device, 'resume')
    const t = this.#udev.begin('resume', label(req), options.udevFlags, { node: 'add' })
    return toInfo(this.#udev.runSync(t, () => this.#control.devSuspendSync({ ...req, eventNr: t.eventNr })))
  }

  async suspend(device: DeviceRef, options: SuspendOptions = {}): Promise<DeviceInfo> {
    return toInfo(await this.#control.devSuspend(this.#suspendRequest(device, options)))
  }
  suspendSync(device: DeviceRef, options: SuspendOptions = {}): DeviceInfo {
    return toInfo(this.#control.devSuspendSync(this.#suspendRequest(device, options)))
  }

  #suspendRequest(device: DeviceRef, options: SuspendOptions): NativeRequest {
    const flags =
      Flags.SUSPEND | (options.noFlush ? Flags.NOFLUSH : 0) | (options.skipLockfs ? Flags.SKIP_LOCKFS : 0)
    return { ...address(device, 'suspend'), flags }
  }

  // ---- remove, rename -----------------------------------------------------------------------------------------

  /**
   * Removes the device. EBUSY (open, or briefly held by a udev probe) is retried with exponential backoff;
   * `deferred` asks the kernel to remove it at last close instead.
   */
  async remove(device: DeviceRef, options: RemoveOptions = {}): Promise<void> {
    const { req, retries } = this.#removeRequest(device, options)
    for (let attempt = 0; ; attempt++) {
      try {
        const t = this.#udev.begin('remove', label(req), options.udevFlags, { node: 'remove' })
        await this.#udev.run(t, () => this.#control.devRemove({ ...req, eventNr: t.eventNr }))
        return
      } catch (err) {
        if (!this.#retryRemove(err, attempt, retries)) throw this.#removeError(err, req)
        await new Promise((r) => setTimeout(r, this.#backoff(attempt)))
      }
    }
  }
  removeSync(device: DeviceRef, options: RemoveOptions = {}): void {
    const { req, retries } = this.#removeRequest(device, options)
    for (let attempt = 0; ; attempt++) {
      try {
        const t = this.#udev.begin('remove', label(req), options.udevFlags, { node: 'remove' })
        this.#udev.runSync(t, () => this.#control.devRemoveSync({ ...req, eventNr: t.eventNr }))
        return
      } catch (err) {
        if (!this.#retryRemove(err, attempt, retries)) throw this.#removeError(err, req)
        sleepSync(this.#backoff(attempt))
      }
    }
  }

  #removeRequest(device: DeviceRef, options: RemoveOptions) {
    const req = address(device, 'remove')
    const retries = checkUint(options.retries ?? this.#removeRetries, 'remove', 'retries', 1000, label(req))
    return { req: { ...req, flags: options.deferred ? Flags.DEFERRED_REMOVE : 0 }, retries }
  }

  #retryRemove(err: unknown, attempt: number, retries: number): boolean {
    return err instanceof DmError && err.code === 'EBUSY' && attempt < retries
  }

  #backoff(attempt: number): number {
    return Math.min(this.#removeDelay * 2 ** attempt, MAX_BACKOFF_MS)
  }

  /** EBUSY is the top complaint about removal: say who holds the device. */
  #removeError(err: unknown, req: NativeRequest): unknown {
    if (!(err instanceof DmError) || err.code !== 'EBUSY') return err
    try {
      const info = this.#control.devStatusSync(req)
      const held = holders(info.minor)
      err.message += ` (open count ${info.openCount}${held.length ? `, held by ${held.join(', ')}` : ''})`
    } catch {
      // the device went away meanwhile; the original error stands
    }
    return err
  }

  /** Renames the device. */
  async rename(device: DeviceRef, newName: string, options: UdevCallOptions = {}): Promise<DeviceInfo> {
    const req = this.#renameRequest(device, newName)
    const t = this.#udev.begin('rename', label(req), options.udevFlags, { node: 'rename', from: typeof req.name === 'string' ? req.name : undefined, to: req.data! })
    // The kernel's reply names the device as addressed; the node to open is already the new one.
    return { ...toInfo(await this.#udev.run(t, () => this.#control.devRename({ ...req, eventNr: t.eventNr }))), path: nodePath(req.data!) }
  }
  renameSync(device: DeviceRef, newName: string, options: UdevCallOptions = {}): DeviceInfo {
    const req = this.#renameRequest(device, newName)
    const t = this.#udev.begin('rename', label(req), options.udevFlags, { node: 'rename', from: typeof req.name === 'string' ? req.name : undefined, to: req.data! })
    return { ...toInfo(this.#udev.runSync(t, () => this.#control.devRenameSync({ ...req, eventNr: t.eventNr }))), path: nodePath(req.data!) }
  }

  #renameRequest(device: DeviceRef, newName: string): NativeRequest {
    const req = address(device, 'rename')
    return { ...req, data: checkName(newName, 'rename', 'newName') }
  }

  /** Sets the uuid of a device that has none (the kernel allows it once). */
  async setUuid(device: DeviceRef, uuid: string): Promise<DeviceInfo> {
    return toInfo(await this.#control.devRename(this.#setUuidRequest(device, uuid)))
  }
  setUuidSync(device: DeviceRef, uuid: string): DeviceInfo {
    return toInfo(this.#control.devRenameSync(this.#setUuidRequest(device, uuid)))
  }

  #setUuidRequest(device: DeviceRef, uuid: string): NativeRequest {
    const req = address(device, 'setUuid')
    return { ...req, flags: Flags.UUID, data: checkUuid(uuid, 'setUuid', label(req)) }
  }

  /** Removes every device-mapper device on the system that is not open. Meant for test sandboxes. */
  async removeAll(): Promise<void> {
    const before = (await this.list()).map((d) => d.name)
    await this.#control.removeAll()
    this.#udev.removedAll(before, (await this.list()).map((d) => d.name))
  }
  removeAllSync(): void {
    const before = this.listSync().map((d) => d.name)
    this.#control.removeAllSync()
    this.#udev.removedAll(before, this.listSync().map((d) => d.name))
  }

  // ---- queries ----------------------------------------------------------------------------------------------

  async info(device: DeviceRef): Promise<DeviceInfo> {
    return this.infoSync(device)
  }
  infoSync(device: DeviceRef): DeviceInfo {
    return toInfo(this.#control.devStatusSync(address(device, 'info')))
  }

  /** Every device-mapper device, with uuid and event counter where the kernel reports them. */
  async list(): Promise<ListedDevice[]> {
    return this.listSync()
  }
  listSync(): ListedDevice[] {
    return toList(this.#control.listDevicesSync({ flags: Flags.UUID }))
  }

  /** The active (or inactive) table, typed where the target type is known. */
  async table(device: DeviceRef, options: { inactive?: boolean } = {}): Promise<Target[]> {
    return this.tableSync(device, options)
  }
  tableSync(device: DeviceRef, options: { inactive?: boolean } = {}): Target[] {
    const r = this.#control.tableStatusSync(this.#tableRequest(device, options))
    return (r.targets ?? []).map((t) => fromKernel(t, 'table'))
  }

  #tableRequest(device: DeviceRef, options: { inactive?: boolean }): NativeRequest {
    // SECURE_DATA: a crypt table carries its key; the kernel then wipes its copy of the reply
    const flags = Flags.STATUS_TABLE | Flags.SECURE_DATA | (options.inactive ? Flags.QUERY_INACTIVE_TABLE : 0)
    return { ...address(device, 'table'), flags }
  }

  /** Per-target status, typed where the target type is known. `noFlush` keeps a thin-pool from committing. */
  async status(device: DeviceRef, options: { noFlush?: boolean } = {}): Promise<Target[]> {
    // Without NOFLUSH a thin-pool commits its metadata (I/O) before answering: that one goes off-thread.
    const req = this.#statusRequest(device, options)
    const r = options.noFlush ? this.#control.tableStatusSync(req) : await this.#control.tableStatus(req)
    return (r.targets ?? []).map((t) => fromKernel(t, 'status'))
  }
  statusSync(device: DeviceRef, options: { noFlush?: boolean } = {}): Target[] {
    const r = this.#control.tableStatusSync(this.#statusRequest(device, options))
    return (r.targets ?? []).map((t) => fromKernel(t, 'status'))
  }

  #statusRequest(device: DeviceRef, options: { noFlush?: boolean }): NativeRequest {
    return { ...address(device, 'status'), flags: options.noFlush ? Flags.NOFLUSH : 0 }
  }

  /** The devices the active table maps onto. */
  async deps(device: DeviceRef): Promise<{ major: number; minor: number }[]> {
    return this.depsSync(device)
  }
  depsSync(device: DeviceRef): { major: number; minor: number }[] {
    return this.#control.tableDepsSync(address(device, 'deps')).deps ?? []
  }

  // ---- messages, events, geometry ---------------------------------------------------------------------------

  /** Sends a target message (thin-pool: sector 0); resolves to the target's reply, or undefined if none. */
  async message(device: DeviceRef, sector: number, text: string): Promise<string | undefined> {
    return (await this.#control.targetMsg(this.#messageRequest(device, sector, text))).data
  }
  messageSync(device: DeviceRef, sector: number, text: string): string | undefined {
    return this.#control.targetMsgSync(this.#messageRequest(device, sector, text)).data
  }

  #messageRequest(device: DeviceRef, sector: number, text: string): NativeRequest {
    const req = address(device, 'message')
    const dev = label(req)
    checkSectors(sector, 'message', 'sector', dev)
    checkParams(text, 'message', 'text', dev)
    if (text.trim() === '') throw invalid('message', 'text', 'must not be empty', dev)
    // crypt's `key set <key>` carries a key: have the kernel wipe its copy
    return { ...req, sector, data: text, flags: /^\s*key\s/.test(text) ? Flags.SECURE_DATA : 0 }
  }

  /** Blocks until the device's event counter moves past `eventNr` (default: its value now): DM_DEV_WAIT. */
  waitEventSync(device: DeviceRef, eventNr?: number): DeviceInfo {
    const req = address(device, 'waitEvent')
    const last = eventNr ?? this.#control.devStatusSync(req).eventNr
    return toInfo(this.#control.devWaitSync({ ...req, eventNr: checkUint(last, 'waitEvent', 'eventNr', 0xffffffff, label(req)) }))
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

  async setGeometry(device: DeviceRef, geometry: Geometry): Promise<DeviceInfo> {
    return toInfo(await this.#control.devSetGeometry(this.#geometryRequest(device, geometry)))
  }
  setGeometrySync(device: DeviceRef, geometry: Geometry): DeviceInfo {
    return toInfo(this.#control.devSetGeometrySync(this.#geometryRequest(device, geometry)))
  }

  #geometryRequest(device: DeviceRef, g: Geometry): NativeRequest {
    const req = address(device, 'setGeometry')
    const dev = label(req)
    if (g === null || typeof g !== 'object') throw invalid('setGeometry', 'geometry', 'must be an object', dev)
    const c = checkUint(g.cylinders, 'setGeometry', 'cylinders', 0xffff, dev)
    const h = checkUint(g.heads, 'setGeometry', 'heads', 0xff, dev)
    const s = checkUint(g.sectors, 'setGeometry', 'sectors', 0xff, dev)
    const start = checkSectors(g.start, 'setGeometry', 'start', dev)
    return { ...req, data: `${c} ${h} ${s} ${start}` }
  }
}
