// A handle on an active thin-pool device: its messages (create_thin, create_snap, delete, set_transaction_id,
// reserve/release_metadata_snap) as typed calls, the suspend/resume dance around snapshots of an active origin,
// and the table reloads that resize thin devices and grow the pool. Kernel errors pass through unchanged:
// EEXIST (id in use), ENODATA (no such id), EBUSY (deleting an open thin device), EINVAL (transaction id
// mismatch), EOPNOTSUPP (pool in read-only or fail mode).
import type { DeviceMapper } from '../core/device-mapper'
import { infoOp, loadOp, messageOp, messageSuspendedOp, resumeOp, statusOp, tableOp, type Operation } from '../core'
import type { DeviceRef } from '../core/types'
import { DmError, invalid, show } from '../core/errors'
import type { RawTarget } from '../core/table'
import { MAX_THIN_ID, thinType } from '../targets/thin'
import { thinPoolType, type ThinPoolParams, type ThinPoolStatus as ThinPoolStatusFields } from '../targets/thin-pool'
import type { ThinParams } from '../targets/thin'
import { deviceSectors } from '../core/sysfs'
import { checkName, checkSectors } from '../core/validate'

const MAX_TRANSACTION_ID = 0xffffffffffffffffn

export interface SnapshotOptions {
  /** the active thin device of the origin id: it is suspended around create_snap and resumed afterwards */
  origin?: string
}

/** A transaction id: 64-bit, so a bigint beyond 2^53. */
export type TransactionId = number | bigint

/** The thin-pool target's status: its raw line plus the typed fields of the shared parser. */
export type ThinPoolStatus = RawTarget & ThinPoolStatusFields

export { MAX_THIN_ID }

/** A thin device id: an integer in 0..2^24-1, checked before any ioctl. */
export function checkThinId(id: unknown, operation: string, field: string, pool = ''): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id > MAX_THIN_ID) {
    throw invalid(operation, field, `must be a thin device id in 0..${MAX_THIN_ID} (24-bit), got ${show(id)}`, pool)
  }
  return id
}

/** A transaction id: a non-negative integer (number or bigint) below 2^64. */
export function checkTransactionId(id: unknown, operation: string, field: string, pool = ''): bigint {
  const ok =
    (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) ||
    (typeof id === 'bigint' && id >= 0n && id <= MAX_TRANSACTION_ID)
  if (!ok) throw invalid(operation, field, `must be an integer in 0..2^64-1, got ${show(id)}`, pool)
  return BigInt(id as number | bigint)
}

export class ThinPool {
  readonly name: string
  readonly #dm: DeviceMapper

  constructor(dm: DeviceMapper, name: string) {
    this.#dm = dm
    this.name = checkName(name, 'thinPool')
  }

  // ---- messages -----------------------------------------------------------------------------------------------

  /** create_thin: a new, empty thin device `id` in the pool (activate it with a `thin` table). */
  async createThin(id: number): Promise<void> {
    await this.#dm.run(this.#message(() => `create_thin ${checkThinId(id, 'createThin', 'id', this.name)}`))
  }
  createThinSync(id: number): void {
    this.#dm.runSync(this.#message(() => `create_thin ${checkThinId(id, 'createThin', 'id', this.name)}`))
  }

  /**
   * create_snap: thin device `id` becomes a snapshot of `originId`. When the origin is active, pass its device
   * name as `origin`: it is suspended first (so its in-flight writes are in the metadata) and resumed
   * afterwards, also when the message fails.
   */
  async createSnapshot(id: number, originId: number, options: SnapshotOptions = {}): Promise<void> {
    await this.#dm.run(this.snapshotOp(id, originId, options))
  }
  createSnapshotSync(id: number, originId: number, options: SnapshotOptions = {}): void {
    this.#dm.runSync(this.snapshotOp(id, originId, options))
  }

  /** The createSnapshot operation, for composing into larger ones (volumes). */
  *snapshotOp(id: number, originId: number, options: SnapshotOptions = {}): Operation<void> {
    const op = 'createSnapshot'
    const snap = checkThinId(id, op, 'id', this.name)
    const from = checkThinId(originId, op, 'originId', this.name)
    if (options === null || typeof options !== 'object') throw invalid(op, 'options', 'must be an object', this.name)
    const text = `create_snap ${snap} ${from}`
    if (options.origin === undefined) {
      yield* this.#poolMessage(text)
      return
    }
    const origin = checkName(options.origin, op, 'origin')
    this.#checkOrigin(origin, from, yield* tableOp(origin, {}), yield* infoOp(this.name))
    // suspend, create_snap, resume (also after a failed message): one native call
    try {
      yield* messageSuspendedOp(origin, this.name, 0, text)
    } catch (err) {
      throw yield* this.#notAPool(err)
    }
  }

  /**
   * Suspending the wrong device would let the real origin keep writing while the kernel copies its mappings:
   * refuse unless `origin` is exactly `thin <this pool> <originId>`.
   */
  #checkOrigin(origin: string, originId: number, table: RawTarget[], pool: { major: number; minor: number }): void {
    const params = table.length === 1 && table[0].type === 'thin' ? (thinType.parseParams!(table[0].params) as Partial<ThinParams>) : {}
    if (params.pool !== `${pool.major}:${pool.minor}` || params.deviceId !== originId) {
      throw invalid(
        'createSnapshot',
        'origin',
        `must be the active thin device of id ${originId} in pool ${this.name}, but its table is '${table.map((t) => `${t.type} ${t.params}`).join('; ')}'`,
        origin,
      )
    }
  }

  /** delete: removes thin device `id` and frees its blocks. EBUSY while the device is active. */
  async delete(id: number): Promise<void> {
    await this.#dm.run(this.#message(() => `delete ${checkThinId(id, 'delete', 'id', this.name)}`))
  }
  deleteSync(id: number): void {
    this.#dm.runSync(this.#message(() => `delete ${checkThinId(id, 'delete', 'id', this.name)}`))
  }

  /** set_transaction_id: compare-and-set of the pool's 64-bit transaction id; EINVAL if `current` is wrong. */
  async setTransactionId(current: TransactionId, next: TransactionId): Promise<void> {
    await this.#dm.run(this.#message(() => this.#transactionText(current, next)))
  }
  setTransactionIdSync(current: TransactionId, next: TransactionId): void {
    this.#dm.runSync(this.#message(() => this.#transactionText(current, next)))
  }
  #transactionText(current: TransactionId, next: TransactionId): string {
    const cur = checkTransactionId(current, 'setTransactionId', 'current', this.name)
    const nxt = checkTransactionId(next, 'setTransactionId', 'next', this.name)
    return `set_transaction_id ${cur} ${nxt}`
  }

  /** Holds a snapshot of the metadata so thin_ls/thin_dump --metadata-snap can read it while the pool runs. */
  async reserveMetadataSnap(): Promise<void> {
    await this.#dm.run(this.#message(() => 'reserve_metadata_snap'))
  }
  reserveMetadataSnapSync(): void {
    this.#dm.runSync(this.#message(() => 'reserve_metadata_snap'))
  }

  /** Releases the metadata snapshot held by reserveMetadataSnap (EINVAL when none is held). */
  async releaseMetadataSnap(): Promise<void> {
    await this.#dm.run(this.#message(() => 'release_metadata_snap'))
  }
  releaseMetadataSnapSync(): void {
    this.#dm.runSync(this.#message(() => 'release_metadata_snap'))
  }

  /** A pool message; `text` runs first, so its validation fails before any ioctl. */
  *#message(text: () => string): Operation<void> {
    yield* this.#poolMessage(text())
  }

  // A message the pool refuses is a bare EINVAL; when the device is not a thin-pool at all, say that instead.
  *#poolMessage(text: string): Operation<void> {
    try {
      yield* messageOp(this.name, 0, text)
    } catch (err) {
      throw yield* this.#notAPool(err)
    }
  }

  *#notAPool(err: unknown): Operation<unknown> {
    if (!(err instanceof DmError) || err.code !== 'EINVAL') return err
    let types: string[]
    try {
      types = (yield* tableOp(this.name, {})).map((t) => t.type)
    } catch {
      return err
    }
    if (types[0] === 'thin-pool') return err
    const table = types.length === 0 ? 'it has no live table' : `its live table is ${[...new Set(types)].join(', ')}`
    return new DmError({
      message: `thinPool ${this.name}: not a thin-pool device (${table}); the kernel refused the message with EINVAL`,
      code: 'EINVAL',
      operation: err.operation,
      device: this.name,
      cause: err,
    })
  }

  // ---- status ---------------------------------------------------------------------------------------------------

  /** The thin-pool target's typed status. `noFlush` reads it without committing the metadata first. */
  async status(options: { noFlush?: boolean } = {}): Promise<ThinPoolStatus> {
    return this.#poolStatus(await this.#dm.status(this.name, options))
  }
  statusSync(options: { noFlush?: boolean } = {}): ThinPoolStatus {
    return this.#poolStatus(this.#dm.statusSync(this.name, options))
  }

  /** The status operation, for composing into larger ones (volumes). */
  *statusOp(options: { noFlush?: boolean } = {}): Operation<ThinPoolStatus> {
    return this.#poolStatus(yield* statusOp(this.name, options))
  }

  #poolStatus(targets: RawTarget[]): ThinPoolStatus {
    const t = targets.find((x) => x.type === 'thin-pool')
    if (!t) {
      throw new DmError({ message: `status ${this.name}: not a thin-pool device`, code: 'EINVAL', operation: 'status', device: this.name })
    }
    // dm.status() has merged the typed fields when the stock target types are registered; parse here otherwise.
    if ('state' in t) return t as ThinPoolStatus
    return { ...(thinPoolType.parseStatus!(t.params) as ThinPoolStatusFields), ...t }
  }

  // ---- resizing ------------------------------------------------------------------------------------------------

  /**
   * Grows (or, like the old `trim` message, shrinks) an active thin device of this pool: its table is reloaded
   * with the new length and resumed. Shrinking only hides the tail (the kernel keeps its mappings, and growing
   * again shows the old data): discard the tail first (blkdiscard) to give its blocks back to the pool.
   */
  async resizeThin(device: DeviceRef, sectors: number): Promise<void> {
    await this.#dm.run(this.resizeThinOp(device, sectors))
  }
  resizeThinSync(device: DeviceRef, sectors: number): void {
    this.#dm.runSync(this.resizeThinOp(device, sectors))
  }

  /** The resizeThin operation, for composing into larger ones (volumes). */
  *resizeThinOp(device: DeviceRef, sectors: number): Operation<void> {
    checkSectors(sectors, 'resizeThin', 'sectors', this.name, 1)
    const table = yield* tableOp(device, {})
    yield* loadOp(device, this.#resized(table, 'thin', 'resizeThin', sectors), {})
    yield* resumeOp(device, {})
  }

  /**
   * Grows the pool over its (already grown) data device: reloads the pool's own table with the new length and
   * resumes it. Grow the data device first (resize the loop file and `loop.resize()`, or reload and resume the
   * device-mapper device under it); the kernel suspends and resumes the active thin devices itself.
   */
  async growData(sectors: number): Promise<void> {
    await this.#dm.run(this.growDataOp(sectors))
  }
  growDataSync(sectors: number): void {
    this.#dm.runSync(this.growDataOp(sectors))
  }

  /** The growData operation, for composing into larger ones (volumes). */
  *growDataOp(sectors: number): Operation<void> {
    checkSectors(sectors, 'growData', 'sectors', this.name, 1)
    const table = yield* tableOp(this.name, {})
    const grown = this.#resized(table, 'thin-pool', 'growData', sectors)
    // A shorter pool table loads fine but then fails in resume, which leaves the pool suspended: refuse it here.
    if (sectors < table[0].length) {
      throw invalid('growData', 'sectors', `must be at least the pool's current ${table[0].length} sectors (pools do not shrink), got ${sectors}`, this.name)
    }
    // So does a table longer than the data device: grow that first.
    const data = (thinPoolType.parseParams!(table[0].params) as Partial<ThinPoolParams>).dataDevice
    const dataSectors = deviceSectors(data)
    if (dataSectors !== undefined && sectors > dataSectors) {
      throw invalid('growData', 'sectors', `must fit the data device ${data} (${dataSectors} sectors): grow it first, got ${sectors}`, this.name)
    }
    yield* loadOp(this.name, grown, {})
    yield* resumeOp(this.name, {})
  }

  #resized(table: RawTarget[], type: string, op: string, sectors: number): { length: number; type: string; params: string }[] {
    if (table.length !== 1 || table[0].type !== type) {
      throw invalid(op, 'device', `must have a single ${type} target, has ${table.map((t) => t.type).join(', ')}`, this.name)
    }
    return [{ length: sectors, type, params: table[0].params }]
  }
}
