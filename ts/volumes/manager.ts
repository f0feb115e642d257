// VolumeManager: named thin volumes and snapshots in one thin pool, with filesystems and mounts, crash-safe.
//
// Every operation: take the root's flock, re-read the state (another process may have changed it), finish or
// undo what a dead process left (reconcile), then run. Each kernel step is preceded by an intent in the state
// and, on pools we own, committed by moving the pool's transaction id; see reconcile.ts for the rules.
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DeviceMapper } from '../core/device-mapper'
import { EventPoller } from '../events/event-poller'
import { DeviceWatch } from '../events/watch'
import { loop } from '../loop'
import { DmError, errnoName, invalid } from '../core/errors'
import { native } from '../core/native'
import { thinType, type ThinStatus } from '../targets/thin'
import { ThinPool } from '../thin/thin-pool'
import { step } from './faults'
import * as fsops from './filesystems'
import { allocateId } from './ids'
import { detachLoop, loopFiles } from './loop-files'
import { checkVolumeSize, resolveVolumeOptions, type VolumeConfig, type VolumeManagerOptions } from './options'
import { parseSize } from './sizes'
import { createPoolDevice, devicePrefix, infoOrUndefined, lowWaterMark, setupPool, volumeUuid, type PoolSetup } from './pool-setup'
import { checkTransactionId, decide } from './reconcile'
import { readState, STATE_VERSION, statePath, sweepTemps, writeState, type FsType, type Intent, type State, type VolumeRecord } from './store'
import { lockRoot } from './lock'
import type { CheckResult, CreateVolumeOptions, MountOptions, PoolStatus, RemoveVolumeOptions, TransactionRecovery, VolumeInfo } from './types'

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/
const LOCK_FILE = 'lock'
const MNT_DIR = 'mnt'

function checkVolumeName(name: unknown, operation: string, field = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalid(operation, field, `must be 1-64 characters of letters, digits, '_', '.', '+', '-', starting with a letter or digit, got ${JSON.stringify(name)}`)
  }
  return name
}

function notFound(operation: string, name: string): DmError {
  return new DmError({ message: `${operation}: no volume named '${name}'`, code: 'ENOENT', operation, device: name })
}

/** Extends `file` to `bytes` (sparse: no blocks written); never shrinks it. */
function growFile(file: string, bytes: number): void {
  const fd = openSync(file, 'r+')
  try {
    if (fstatSync(fd).size < bytes) ftruncateSync(fd, bytes)
  } finally {
    closeSync(fd)
  }
}

/** A thin target's params `<pool> <id> [<external origin>]` on this pool's major:minor and this id. */
function sameThin(params: string, poolDev: string, id: number): boolean {
  const [pool, dev] = params.trim().split(/\s+/)
  return pool === poolDev && Number(dev) === id
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof DmError && codes.includes(err.code)
}

export class VolumeManager {
  readonly root: string
  readonly #cfg: VolumeConfig
  readonly #dm: DeviceMapper
  #poolName: string
  #closed = false
  readonly #stopWatch = new AbortController()
  #extending: Promise<void> | undefined
  /** the last autoExtend failure, if any (the watch keeps going) */
  autoExtendError: unknown

  private constructor(cfg: VolumeConfig, dm: DeviceMapper, poolName: string) {
    this.root = cfg.root
    this.#cfg = cfg
    this.#dm = dm
    this.#poolName = poolName
  }

  /** Opens (and on first use, sets up) the volume root and its pool. A refused open leaves `root` as it was. */
  static async open(options: VolumeManagerOptions): Promise<VolumeManager> {
    const cfg = resolveVolumeOptions(options)
    // the first directory this open creates, removed again if the open is refused
    let made: string | undefined
    for (let d = cfg.root; !existsSync(d); d = join(d, '..')) made = d
    mkdirSync(cfg.root, { recursive: true, mode: 0o700 })
    const lockExisted = existsSync(join(cfg.root, LOCK_FILE))
    const dm = new DeviceMapper()
    let lock
    try {
      lock = await lockRoot(join(cfg.root, LOCK_FILE))
    } catch (err) {
      if (made) rmSync(made, { recursive: true, force: true })
      throw err
    }
    let setup: PoolSetup | undefined
    let wroteState = false
    try {
      sweepTemps(cfg.root)
      let state = readState(cfg.root)
      const identity = state?.identity ?? randomBytes(8).toString('hex')
      if (state?.intent?.op === 'grow' && state.pool.kind === 'loop' && existsSync(loopFiles(cfg.root).data) && !(await infoOrUndefined(dm, state.pool.name))) {
        // the pool went (a reboot) mid-grow: remake it at the new size, which its metadata may count already
        growFile(loopFiles(cfg.root).data, state.intent.size)
        state.pool.loopDataSize = state.intent.size
      }
      setup = await setupPool(dm, cfg, state, identity)
      if (!state) {
        // The record goes to disk before the pool is made, so a crash in between leaves a pool this root knows.
        state = {
          version: STATE_VERSION,
          identity,
          pool: setup.record,
          transactionId: String(setup.adoptedTxid ?? 0n),
          nextId: 1,
          volumes: {},
          pendingDeletes: [],
          quarantined: [],
        }
        writeState(cfg.root, state)
        wroteState = true
        if (setup.record.created) await createPoolDevice(dm, cfg.root, setup.record, identity, setup, cfg.autoExtend ? cfg.autoExtend.threshold : undefined)
      }
      const vm = new VolumeManager(cfg, dm, state.pool.name)
      await vm.#reconcile(state)
      if (cfg.autoExtend && state.pool.kind === 'loop') vm.#startAutoExtend()
      return vm
    } catch (err) {
      // Undo what this open made; nothing else.
      try {
        if (setup?.createdPool) await dm.remove(setup.record.name, { retries: 5 })
      } catch {
        // reported through err
      }
      for (const n of setup?.attachedLoops ?? []) await detachLoop(n).catch(() => undefined)
      for (const f of setup?.madeFiles ?? []) rmSync(f, { force: true })
      if (setup?.madeFiles.length) {
        try {
          rmdirSync(loopFiles(cfg.root).dir)
        } catch {
          // held other files before this open
        }
      }
      if (wroteState) rmSync(statePath(cfg.root), { force: true })
      if (!lockExisted) rmSync(join(cfg.root, LOCK_FILE), { force: true })
      if (made) rmSync(made, { recursive: true, force: true })
      dm.close()
      throw err
    } finally {
      lock.release()
    }
  }

  /**
   * Recovers a root whose pool's transaction id was moved by someone else (say `dmsetup message POOL 0
   * set_transaction_id 5 6`): every call then fails with EBUSY. Under the root's lock, this adopts the pool's
   * transaction id into the state, but only when nothing else says the pool and the state disagree: no operation
   * in flight, the pool's id not below the stored one (older metadata), no device outside this root mapping a
   * thin id of the pool, every device of this root mapping its volume's id, and every volume's thin id present in
   * the pool (opened read-only through a short-lived probe device; nothing is written). Otherwise it refuses
   * (EBUSY, or EIO for a pool that is not active) saying why, and changes nothing. It cannot see ids someone else
   * made in the pool: check() lists them afterwards, check({ repair: true }) deletes them. Call it instead of
   * open, then open.
   */
  static async recoverTransactionId(options: VolumeManagerOptions): Promise<TransactionRecovery> {
    const op = 'recoverTransactionId'
    const cfg = resolveVolumeOptions(options)
    if (!existsSync(statePath(cfg.root))) throw new DmError({ message: `${op}: ${cfg.root} has no volume state`, code: 'ENOENT', operation: op, device: cfg.root })
    const dm = new DeviceMapper()
    try {
      const lock = await lockRoot(join(cfg.root, LOCK_FILE))
      try {
        const state = readState(cfg.root)!
        const setup = await setupPool(dm, cfg, state, state.identity)
        const vm = new VolumeManager(cfg, dm, state.pool.name)
        try {
          return await vm.#recoverTxid(state)
        } catch (err) {
          if (setup.createdPool) await dm.remove(setup.record.name, { retries: 5 }).catch(() => undefined)
          for (const n of setup.attachedLoops) await detachLoop(n).catch(() => undefined)
          throw err
        }
      } finally {
        lock.release()
      }
    } finally {
      dm.close()
    }
  }

  async #recoverTxid(state: State): Promise<TransactionRecovery> {
    const op = 'recoverTransactionId'
    const kernel = await this.#poolTxid()
    const stored = BigInt(state.transactionId)
    const out: TransactionRecovery = { pool: this.#poolName, stored: String(stored), kernel: String(kernel), adopted: false, checked: [] }
    const refuse = (why: string): DmError =>
      new DmError({ message: `${op}: thin pool ${this.#poolName} has transaction id ${kernel}, this root committed ${stored}; not adopting it: ${why}`, code: 'EBUSY', operation: op, device: this.#poolName })
    if (!this.#useTxid(state)) return out // LVM's pool: its transaction id is LVM's, never compared
    const i = state.intent
    if (kernel === stored || (i && 'txid' in i && BigInt(i.txid) === stored && kernel === stored + 1n)) return out // open copes
    const st = await this.#pool().status()
    if (st.state === 'active' && st.needsCheck) throw refuse('the pool is flagged needs_check; repair its metadata (thin_check/thin_repair) first')
    if (i) throw refuse(`an operation was in flight (${i.op}${'name' in i ? ` of '${i.name}'` : ''}), and whether the pool's transaction id includes it cannot be told`)
    if (kernel < stored) throw refuse('the pool is behind this root (older or restored metadata): ids made or deleted since may be gone or back')
    out.checked.push('no operation in flight', `the pool's id ${kernel} is past the stored ${stored}`)

    const pool = await this.#poolDev()
    const uuidPrefix = `DMVOL-${state.identity}-`
    const byId = new Map(Object.entries(state.volumes).map(([n, v]) => [v.deviceId, n]))
    const pending = new Set(state.pendingDeletes)
    const active = new Set<number>()
    const tables = await this.#dm.tableAll({ bigint: true }) // only type and params are read: a huge foreign device must not fail this
    const infos = new Map((await this.#dm.list()).map((d) => [d.name, d]))
    for (const [name, targets] of tables) {
      const thin = targets.filter((t) => t.type === 'thin' && t.params.trim().split(/\s+/)[0] === pool)
      const uuid = infos.get(name)?.uuid ?? ''
      if (thin.length === 0) continue
      if (name === this.#probeName()) continue // a probe a killed recovery left; removed below
      if (!uuid.startsWith(uuidPrefix)) throw refuse(`device ${name} (not this root's) maps thin id ${thin.map((t) => t.params.trim().split(/\s+/)[1]).join(', ')} of the pool: someone else is using it`)
      const id = Number(thin[0].params.trim().split(/\s+/)[1])
      const owner = byId.get(id)
      if (uuid !== volumeUuid(state.identity, id) || (owner === undefined && !pending.has(id)) || (owner !== undefined && name !== this.#deviceName(owner))) {
        throw refuse(`device ${name} (uuid ${uuid}) maps thin id ${id}, which is not what this root recorded for it`)
      }
      active.add(id)
    }
    out.checked.push('no device outside this root maps the pool', "this root's devices map their volumes' ids")

    // Every volume's id must be in the pool: an inactive one is opened read-only through a probe device.
    const probe = this.#probeName()
    await this.#dm.remove(probe, { retries: 10 }).catch((err: unknown) => {
      if (!isCode(err, 'ENXIO', 'ENODEV', 'ENOENT')) throw err
    })
    for (const [name, rec] of Object.entries(state.volumes).sort(([a], [b]) => a.localeCompare(b))) {
      if (active.has(rec.deviceId)) continue
      try {
        await this.#dm.create(probe, `0 8 thin ${pool} ${rec.deviceId}`, { readOnly: true })
      } catch (err) {
        throw refuse(`volume '${name}': thin id ${rec.deviceId} cannot be opened in the pool (${(err as DmError).code ?? (err as Error).message}); it was deleted or never made`)
      }
      await this.#dm.remove(probe, { retries: 20 })
    }
    out.checked.push(`every volume's thin id is in the pool (${Object.keys(state.volumes).length})`)
    state.transactionId = String(kernel)
    this.#save(state)
    out.adopted = true
    return out
  }

  #probeName(): string {
    return `${devicePrefix(this.#poolName)}-txid-probe`
  }

  // ---- plumbing ------------------------------------------------------------------------------------------------

  get poolName(): string {
    return this.#poolName
  }

  #pool(): ThinPool {
    return new ThinPool(this.#dm, this.#poolName)
  }

  #deviceName(volume: string): string {
    return `${devicePrefix(this.#poolName)}-${volume}`
  }

  /** Runs `fn` holding the root's lock, on a freshly read and reconciled state. */
  async #locked<T>(operation: string, fn: (state: State) => Promise<T>): Promise<T> {
    if (this.#closed) throw new DmError({ message: `${operation}: the volume manager is closed`, code: 'EBADF', operation })
    const lock = await lockRoot(join(this.root, LOCK_FILE))
    try {
      const state = readState(this.root)
      if (!state) throw new DmError({ message: `${operation}: ${this.root} has no volume state (destroyed?)`, code: 'ENOENT', operation, device: this.root })
      await this.#reconcile(state)
      return await fn(state)
    } finally {
      lock.release()
    }
  }

  #save(state: State): void {
    writeState(this.root, state)
  }

  #useTxid(state: State): boolean {
    return !state.pool.lvm
  }

  async #poolTxid(): Promise<bigint> {
    const st = await this.#pool().status()
    if (st.state !== 'active') throw new DmError({ message: `thin pool ${this.#poolName} is ${st.state}`, code: 'EIO', operation: 'status', device: this.#poolName })
    return BigInt(st.transactionId)
  }

  /** Moves the pool's transaction id from the stored one to the next (pools we may touch only). */
  async #commitTxid(state: State, from: string): Promise<void> {
    if (!this.#useTxid(state)) return
    const cur = BigInt(from)
    await this.#pool().setTransactionId(cur, cur + 1n)
    state.transactionId = String(cur + 1n)
  }

  /** Deletes a thin id; false if the pool says it is busy (open: a deferred removal still pending). */
  async #deleteId(id: number): Promise<boolean> {
    try {
      await this.#pool().delete(id)
      return true
    } catch (err) {
      if (isCode(err, 'ENODATA')) return true // not there: already deleted, or never made
      if (isCode(err, 'EBUSY')) return false
      throw err
    }
  }

  async #poolDev(): Promise<string> {
    const info = await this.#dm.info(this.#poolName)
    return `${info.major}:${info.minor}`
  }

  /** Activates a volume's thin device (or finds it active, cancelling a pending deferred removal). */
  async #activate(state: State, name: string, rec: VolumeRecord): Promise<{ major: number; minor: number; path: string }> {
    const dev = this.#deviceName(name)
    const existing = await infoOrUndefined(this.#dm, dev)
    if (existing) {
      if (existing.deferredRemove) await this.#dm.message(dev, 0, '@cancel_deferred_remove')
      return existing
    }
    const table = `0 ${rec.size / 512} thin ${await this.#poolDev()} ${rec.deviceId}`
    return this.#dm.create(dev, table, { uuid: volumeUuid(state.identity, rec.deviceId) })
  }

  /** Removes a thin device if it exists; remembers its usage first. */
  async #deactivateDevice(dev: string, rec?: VolumeRecord, deferred = false): Promise<void> {
    const info = await infoOrUndefined(this.#dm, dev)
    if (!info) return
    if (rec) rec.usedBytes = (await this.#usedBytes(dev)) ?? rec.usedBytes
    await this.#dm.remove(dev, { deferred })
  }

  async #usedBytes(dev: string): Promise<number | undefined> {
    try {
      const t = (await this.#dm.status(dev)).find((x) => x.type === 'thin')
      const st = t ? (thinType.parseStatus!(t.params) as ThinStatus) : undefined
      return st?.state === 'active' ? st.mappedSectors * 512 : undefined
    } catch {
      return undefined
    }
  }

  /** Devices that carry this root's volume uuids, by uuid. */
  async #ourDevices(state: State): Promise<Map<string, { name: string; major: number; minor: number }>> {
    const prefix = `DMVOL-${state.identity}-`
    const out = new Map<string, { name: string; major: number; minor: number }>()
    for (const d of await this.#dm.list()) {
      if (d.uuid?.startsWith(prefix) && d.uuid !== `${prefix}pool`) out.set(d.uuid, d)
    }
    return out
  }

  async #discard(dev: string, bytes: number): Promise<void> {
    const info = await this.#dm.info(dev)
    if (info.openCount > 0) return // Docker's rule: never discard under someone
    const fd = openSync(`/dev/dm-${info.minor}`, 'r+')
    try {
      const err = native.lock.blkdiscard(fd, 0, bytes)
      if (err !== 0 && errnoName(err) !== 'EOPNOTSUPP') {
        throw new DmError({ message: `discard ${dev}: ${errnoName(err)}`, code: errnoName(err), errno: err, operation: 'BLKDISCARD', device: dev })
      }
    } finally {
      closeSync(fd)
    }
  }

  #checkFree(st: Awaited<ReturnType<ThinPool['status']>>, operation: string): void {
    if (st.state !== 'active') throw new DmError({ message: `${operation}: thin pool ${this.#poolName} is ${st.state}`, code: 'EIO', operation, device: this.#poolName })
    const pct = this.#cfg.minFreeSpace
    for (const [what, used, total] of [['data', st.usedDataBlocks, st.totalDataBlocks], ['metadata', st.usedMetadataBlocks, st.totalMetadataBlocks]] as const) {
      const need = Math.max(1, Math.floor((total * pct) / 100))
      if (total - used < need) {
        throw new DmError({
          message: `${operation}: thin pool ${this.#poolName} has ${total - used} free ${what} blocks, less than the ${need} (minFreeSpace ${pct}%) required; free space in the pool or lower minFreeSpace`,
          code: 'ENOSPC',
          operation,
          device: this.#poolName,
        })
      }
    }
    if (st.mode !== 'rw') {
      throw new DmError({ message: `${operation}: thin pool ${this.#poolName} is in mode ${st.mode}`, code: 'ENOSPC', operation, device: this.#poolName })
    }
  }

  #mountDir(name: string): string {
    return join(this.root, MNT_DIR, name)
  }

  /** Grows the filesystem of an active volume: online where it is mounted, else on a mount of our own. */
  async #growFs(rec: VolumeRecord, name: string, dev: { major: number; minor: number }): Promise<void> {
    if (rec.fs === 'none') return
    const path = `/dev/dm-${dev.minor}`
    const mounted = fsops.mountsByDevice().get(`${dev.major}:${dev.minor}`)?.[0]
    if (mounted) {
      await fsops.growFs(path, mounted, rec.fs)
      return
    }
    const dir = this.#mountDir(`.grow-${name}`)
    mkdirSync(dir, { recursive: true })
    await fsops.mount(path, dir, rec.fs, fsops.mountOptions(rec.fs))
    try {
      await fsops.growFs(path, dir, rec.fs)
    } finally {
      await fsops.unmount(dir, path)
      rmdirSync(dir)
    }
  }

  // ---- reconcile -------------------------------------------------------------------------------------------------

  /** Finishes or undoes the operation a dead process left, resumes devices it left suspended, retries deletes. */
  async #reconcile(state: State): Promise<void> {
    const ours = await this.#ourDevices(state)
    for (const d of ours.values()) {
      const info = await infoOrUndefined(this.#dm, d.name)
      if (info?.suspended) await this.#dm.resume(d.name)
    }
    const poolTxid = await this.#poolTxid()
    checkTransactionId(state, poolTxid, this.#useTxid(state), this.#poolName)
    const intent = state.intent
    if (intent) {
      const direction = decide(intent, poolTxid, this.#useTxid(state))
      await this.#finish(state, intent, direction, poolTxid)
    }
    await this.#purge(state)
  }

  async #finish(state: State, intent: Intent, direction: 'forward' | 'back', poolTxid: bigint): Promise<void> {
    switch (intent.op) {
      case 'create':
      case 'snapshot': {
        if (direction === 'forward') {
          state.volumes[intent.name] = {
            deviceId: intent.deviceId,
            size: intent.size,
            fs: intent.fs,
            createdAt: intent.createdAt,
            ...(intent.op === 'snapshot' ? { parent: intent.source } : {}),
          }
          state.transactionId = String(poolTxid)
          await this.#deactivateDevice(this.#deviceName(intent.name))
        } else {
          // a mkfs the dead process started may still hold the device for a moment
          await this.#deactivateDevice(this.#deviceName(intent.name)).catch(async () => {
            await sleep(500)
            await this.#deactivateDevice(this.#deviceName(intent.name), undefined, true)
          })
          if (!(await this.#deleteId(intent.deviceId))) state.pendingDeletes.push(intent.deviceId)
        }
        break
      }
      case 'remove': {
        const dev = this.#deviceName(intent.name)
        const info = await infoOrUndefined(this.#dm, dev)
        const rec = state.volumes[intent.name]
        // Without deferredDeletion a removal that cannot finish now goes back: the volume stays (it is not
        // committed until its id is deleted), nothing is queued.
        const mayQueue = intent.deferredDeletion !== false
        if (!mayQueue && rec && ((info && info.openCount > 0) || (await this.#holders(intent.deviceId, dev)).length > 0)) break
        if (info && info.openCount > 0) await this.#dm.remove(dev, { deferred: true })
        else await this.#deactivateDevice(dev, rec)
        const deleted = await this.#deleteId(intent.deviceId)
        if (!deleted && !mayQueue && rec) break
        if (!deleted) state.pendingDeletes.push(intent.deviceId)
        else if (this.#useTxid(state) && poolTxid === BigInt(intent.txid)) await this.#commitTxid(state, intent.txid)
        else state.transactionId = String(poolTxid)
        delete state.volumes[intent.name]
        break
      }
      case 'resize': {
        const rec = state.volumes[intent.name]
        if (rec) {
          rec.size = intent.size
          const dev = this.#deviceName(intent.name)
          const info = await infoOrUndefined(this.#dm, dev)
          if (info) {
            await this.#pool().resizeThin(dev, intent.size / 512)
            await this.#growFs(rec, intent.name, info)
          } else if (rec.fs !== 'none') {
            const act = await this.#activate(state, intent.name, rec)
            try {
              await this.#growFs(rec, intent.name, act)
            } finally {
              await this.#deactivateDevice(dev, rec)
            }
          }
        }
        break
      }
      case 'grow': {
        await this.#applyGrow(state, intent.size)
        state.pool.loopDataSize = intent.size
        break
      }
      case 'purge': {
        if (await this.#deleteId(intent.deviceId)) {
          if (this.#useTxid(state) && poolTxid === BigInt(intent.txid)) await this.#commitTxid(state, intent.txid)
          else state.transactionId = String(poolTxid)
          state.pendingDeletes = state.pendingDeletes.filter((id) => id !== intent.deviceId)
        }
        break
      }
    }
    delete state.intent
    this.#save(state)
  }

  /** Deletes the ids whose deferred removal has happened since. */
  async #purge(state: State): Promise<void> {
    if (state.pendingDeletes.length === 0) return
    const ours = await this.#ourDevices(state)
    for (const id of [...state.pendingDeletes]) {
      if (ours.has(volumeUuid(state.identity, id))) continue // still open somewhere
      state.intent = { op: 'purge', deviceId: id, txid: state.transactionId }
      this.#save(state)
      step('purge.delete')
      if (!(await this.#deleteId(id))) {
        delete state.intent
        this.#save(state)
        continue
      }
      step('purge.set_transaction_id')
      await this.#commitTxid(state, state.intent.txid)
      step('purge.commit')
      state.pendingDeletes = state.pendingDeletes.filter((x) => x !== id)
      delete state.intent
      this.#save(state)
    }
  }

  // ---- volumes -------------------------------------------------------------------------------------------------

  /** A new, empty volume of `size` (default defaultVolumeSize) with a filesystem (default fs). Left inactive. */
  async createVolume(name: string, options: CreateVolumeOptions = {}): Promise<VolumeInfo> {
    const op = 'createVolume'
    checkVolumeName(name, op)
    if (options === null || typeof options !== 'object') throw invalid(op, 'options', 'must be an object')
    const size = options.size === undefined ? this.#cfg.defaultVolumeSize : checkVolumeSize(options.size, 'size', op)
    const fs = options.fs ?? this.#cfg.fs
    if (!['ext4', 'xfs', 'none'].includes(fs)) throw invalid(op, 'fs', `must be ext4, xfs or none, got ${String(fs)}`, name)
    return this.#locked(op, async (state) => {
      if (state.volumes[name]) throw new DmError({ message: `${op}: a volume named '${name}' exists`, code: 'EEXIST', operation: op, device: name })
      this.#checkFree(await this.#pool().status(), op)
      const createdAt = new Date().toISOString()
      const txid = state.transactionId
      let id = allocateId(state)
      state.intent = { op: 'create', name, deviceId: id, size, fs, txid, createdAt }
      step('create.intent')
      this.#save(state)
      step('create.create_thin')
      for (let tries = 0; ; tries++) {
        try {
          await this.#pool().createThin(id)
          break
        } catch (err) {
          // The pool already has this id and nobody here owns it: quarantine it (check() reports it) and move on.
          if (!isCode(err, 'EEXIST') || tries >= 16) throw await this.#undoCreate(state, id, err)
          state.quarantined.push(id)
          id = allocateId(state)
          state.intent = { op: 'create', name, deviceId: id, size, fs, txid, createdAt }
          this.#save(state)
        }
      }
      const rec: VolumeRecord = { deviceId: id, size, fs, createdAt }
      try {
        if (fs !== 'none') {
          step('create.activate')
          const dev = await this.#activate(state, name, rec)
          step('create.mkfs')
          await fsops.mkfs(`/dev/dm-${dev.minor}`, fs, this.#cfg.mkfsArgs)
          step('create.deactivate')
          await this.#deactivateDevice(this.#deviceName(name), rec)
        }
        step('create.set_transaction_id')
        await this.#commitTxid(state, txid)
      } catch (err) {
        throw await this.#undoCreate(state, id, err)
      }
      step('create.commit')
      state.volumes[name] = rec
      delete state.intent
      this.#save(state)
      return this.#info(state, name)
    })
  }

  /** Rolls back a failed create or snapshot in this process (the same as reconcile would). */
  async #undoCreate(state: State, id: number, err: unknown): Promise<unknown> {
    try {
      const intent = state.intent as Extract<Intent, { op: 'create' | 'snapshot' }>
      await this.#deactivateDevice(this.#deviceName(intent.name)).catch(() => undefined)
      if (!(await this.#deleteId(id))) state.pendingDeletes.push(id)
      delete state.intent
      this.#save(state)
    } catch (cleanup) {
      if (err instanceof Error) err.message += `; undoing it also failed: ${(cleanup as Error).message}`
    }
    return err
  }

  /** A new volume holding `source`'s data at this instant. An active source is suspended around it, always resumed. */
  async snapshot(source: string, name: string): Promise<VolumeInfo> {
    const op = 'snapshot'
    checkVolumeName(source, op, 'source')
    checkVolumeName(name, op)
    return this.#locked(op, async (state) => {
      const src = state.volumes[source]
      if (!src) throw notFound(op, source)
      if (state.volumes[name]) throw new DmError({ message: `${op}: a volume named '${name}' exists`, code: 'EEXIST', operation: op, device: name })
      this.#checkFree(await this.#pool().status(), op)
      const txid = state.transactionId
      const id = allocateId(state)
      state.intent = { op: 'snapshot', name, deviceId: id, source, sourceId: src.deviceId, size: src.size, fs: src.fs, txid, createdAt: new Date().toISOString() }
      step('snapshot.intent')
      this.#save(state)
      const origin = this.#deviceName(source)
      const active = await infoOrUndefined(this.#dm, origin)
      try {
        if (active) {
          if (active.deferredRemove) await this.#dm.message(origin, 0, '@cancel_deferred_remove')
          step('snapshot.suspend')
          await this.#dm.suspend(origin)
          try {
            step('snapshot.create_snap')
            await this.#pool().createSnapshot(id, src.deviceId)
          } finally {
            step('snapshot.resume')
            await this.#dm.resume(origin)
          }
        } else {
          step('snapshot.create_snap')
          await this.#pool().createSnapshot(id, src.deviceId)
        }
        step('snapshot.set_transaction_id')
        await this.#commitTxid(state, txid)
      } catch (err) {
        throw await this.#undoCreate(state, id, err)
      }
      step('snapshot.commit')
      const i = state.intent
      state.volumes[name] = { deviceId: id, size: src.size, fs: src.fs, parent: source, createdAt: i.createdAt }
      delete state.intent
      this.#save(state)
      return this.#info(state, name)
    })
  }

  /** Activates the volume's device (idempotent); the info carries its path. */
  async activate(name: string): Promise<VolumeInfo> {
    checkVolumeName(name, 'activate')
    return this.#locked('activate', async (state) => {
      const rec = state.volumes[name]
      if (!rec) throw notFound('activate', name)
      await this.#activate(state, name, rec)
      return this.#info(state, name)
    })
  }

  /** Removes the volume's device (not the volume). EBUSY while mounted or open. */
  async deactivate(name: string): Promise<void> {
    checkVolumeName(name, 'deactivate')
    await this.#locked('deactivate', async (state) => {
      const rec = state.volumes[name]
      if (!rec) throw notFound('deactivate', name)
      await this.#deactivateDevice(this.#deviceName(name), rec)
      this.#save(state)
    })
  }

  /** Mounts the volume's filesystem on `dir` (which must exist), activating the volume first. */
  async mount(name: string, dir: string, options: MountOptions = {}): Promise<VolumeInfo> {
    const op = 'mount'
    checkVolumeName(name, op)
    if (typeof dir !== 'string' || !dir.startsWith('/')) throw invalid(op, 'dir', 'must be an absolute path', name)
    if (options.options !== undefined && typeof options.options !== 'string') throw invalid(op, 'options.options', 'must be a string', name)
    return this.#locked(op, async (state) => {
      const rec = state.volumes[name]
      if (!rec) throw notFound(op, name)
      if (rec.fs === 'none') throw invalid(op, 'name', `has no filesystem (fs 'none') to mount`, name)
      const dev = await this.#activate(state, name, rec)
      await fsops.mount(`/dev/dm-${dev.minor}`, dir, rec.fs, fsops.mountOptions(rec.fs, this.#cfg.mountOptions, options.options))
      if (rec.fs === 'xfs' && this.#cfg.xfsNospaceMaxRetries !== undefined) {
        // Docker's dm.xfs_nospace_max_retries: how often xfs retries metadata writes on ENOSPC before shutting down
        writeFileSync(`/sys/fs/xfs/dm-${dev.minor}/error/metadata/ENOSPC/max_retries`, String(this.#cfg.xfsNospaceMaxRetries))
      }
      return this.#info(state, name)
    })
  }

  /** Unmounts every mount of the volume (the device stays active). */
  async unmount(name: string): Promise<void> {
    checkVolumeName(name, 'unmount')
    await this.#locked('unmount', async (state) => {
      if (!state.volumes[name]) throw notFound('unmount', name)
      const info = await infoOrUndefined(this.#dm, this.#deviceName(name))
      if (!info) return
      for (const dir of (fsops.mountsByDevice().get(`${info.major}:${info.minor}`) ?? []).reverse()) {
        await fsops.unmount(dir, `/dev/dm-${info.minor}`)
      }
    })
  }

  /** Grows the volume to `size` and its filesystem with it. Shrinking is refused. */
  async resize(name: string, size: number | string): Promise<VolumeInfo> {
    const op = 'resize'
    checkVolumeName(name, op)
    const bytes = parseSize(size, 'size', op)
    if (bytes % 512 !== 0) throw invalid(op, 'size', `must be a multiple of 512 bytes, got ${bytes}`, name)
    return this.#locked(op, async (state) => {
      const rec = state.volumes[name]
      if (!rec) throw notFound(op, name)
      if (bytes < rec.size) throw invalid(op, 'size', `must not be below the current ${rec.size} bytes (volumes only grow), got ${bytes}`, name)
      if (bytes === rec.size) return this.#info(state, name)
      state.intent = { op: 'resize', name, size: bytes, oldSize: rec.size }
      step('resize.intent')
      this.#save(state)
      const dev = this.#deviceName(name)
      const active = await infoOrUndefined(this.#dm, dev)
      rec.size = bytes
      if (active) {
        step('resize.reload')
        await this.#pool().resizeThin(dev, bytes / 512)
        step('resize.grow_fs')
        await this.#growFs(rec, name, active)
      } else if (rec.fs !== 'none') {
        step('resize.grow_fs')
        const act = await this.#activate(state, name, rec)
        try {
          await this.#growFs(rec, name, act)
        } finally {
          await this.#deactivateDevice(dev, rec)
        }
      }
      step('resize.commit')
      delete state.intent
      this.#save(state)
      return this.#info(state, name)
    })
  }

  /**
   * Deactivates, discards (when enabled), deletes the thin id, forgets the volume. EBUSY while mounted or open,
   * unless `deferred`: then the device goes at its last close and its id is deleted after that. A delete the
   * pool refuses as busy (another device maps the same thin id) is queued only with `deferredDeletion`; without
   * it removeVolume fails with EBUSY naming the holder and leaves the volume, the state and the kernel as they were.
   */
  async removeVolume(name: string, options: RemoveVolumeOptions = {}): Promise<void> {
    const op = 'removeVolume'
    checkVolumeName(name, op)
    if (options === null || typeof options !== 'object') throw invalid(op, 'options', 'must be an object', name)
    for (const k of ['deferred', 'deferredDeletion'] as const) {
      if (options[k] !== undefined && typeof options[k] !== 'boolean') throw invalid(op, k, `must be a boolean, got ${JSON.stringify(options[k])}`, name)
    }
    const deferred = options.deferred ?? this.#cfg.deferredRemoval
    // A per-call `deferred: true` asks for the whole removal later, the id's delete included.
    const deferDelete = options.deferredDeletion ?? (options.deferred === true || this.#cfg.deferredDeletion)
    await this.#locked(op, async (state) => {
      const rec = state.volumes[name]
      if (!rec) throw notFound(op, name)
      const dev = this.#deviceName(name)
      const info = await infoOrUndefined(this.#dm, dev)
      const mounts = info ? fsops.mountsByDevice().get(`${info.major}:${info.minor}`) ?? [] : []
      const busy = info !== undefined && (info.openCount > 0 || mounts.length > 0)
      const what = busy ? (mounts.length > 0 ? `mounted on ${mounts.join(', ')}` : `open (${info.openCount})`) : ''
      if (busy && !deferred) {
        throw new DmError({ message: `${op}: volume '${name}' is ${what}; unmount and close it, or remove it deferred`, code: 'EBUSY', operation: op, device: name })
      }
      if (busy && !deferDelete) {
        // Removing the device at its last close leaves its thin id to delete later: that is a deferred deletion.
        throw new DmError({
          message: `${op}: volume '${name}' is ${what}; removed at its last close, its thin id ${rec.deviceId} could only be deleted after that, and deferredDeletion (dm.use_deferred_deletion) is off; unmount and close it, or remove it with deferredDeletion`,
          code: 'EBUSY',
          operation: op,
          device: name,
        })
      }
      const holders = await this.#holders(rec.deviceId, dev)
      if (holders.length > 0 && !deferDelete) throw this.#heldError(op, name, rec.deviceId, holders)
      const txid = state.transactionId
      state.intent = { op: 'remove', name, deviceId: rec.deviceId, txid, deferred, deferredDeletion: deferDelete }
      step('remove.intent')
      this.#save(state)
      if (busy) {
        // Deferred: the kernel removes the device at its last close; the id waits in pendingDeletes.
        await this.#dm.remove(dev, { deferred: true })
        state.pendingDeletes.push(rec.deviceId)
        delete state.volumes[name]
        delete state.intent
        this.#save(state)
        return
      }
      step('remove.discard')
      // never discard blocks another device still maps
      if (this.#cfg.discard && holders.length === 0) {
        await this.#activate(state, name, rec)
        await this.#discard(dev, rec.size)
      }
      step('remove.deactivate')
      await this.#deactivateDevice(dev)
      step('remove.delete')
      if (await this.#deleteId(rec.deviceId)) {
        step('remove.set_transaction_id')
        await this.#commitTxid(state, txid)
      } else if (deferDelete) {
        state.pendingDeletes.push(rec.deviceId)
      } else {
        // a holder came after the check: put the volume back as it was
        if (info) await this.#activate(state, name, rec)
        delete state.intent
        this.#save(state)
        throw this.#heldError(op, name, rec.deviceId, await this.#holders(rec.deviceId, dev))
      }
      step('remove.commit')
      delete state.volumes[name]
      delete state.intent
      this.#save(state)
    })
  }

  /** Devices other than `except` whose table maps thin id `id` of this pool: they keep the id open (delete: EBUSY). */
  async #holders(id: number, except: string): Promise<string[]> {
    const pool = await this.#poolDev()
    const out: string[] = []
    for (const [name, targets] of await this.#dm.tableAll({ bigint: true })) {
      if (name === except) continue
      if (targets.some((t) => t.type === 'thin' && sameThin(t.params, pool, id))) out.push(name)
    }
    return out.sort()
  }

  #heldError(op: string, name: string, id: number, holders: string[]): DmError {
    const by = holders.length > 0 ? `device${holders.length > 1 ? 's' : ''} ${holders.join(', ')} map${holders.length > 1 ? '' : 's'} it` : 'something holds it open'
    return new DmError({
      message: `${op}: volume '${name}': thin pool ${this.#poolName} reports thin id ${id} busy (${by}), and deferredDeletion (dm.use_deferred_deletion) is off; remove ${holders.length > 0 ? holders.join(', ') : 'the holder'}, or remove the volume with deferredDeletion (the id is then deleted once it is free)`,
      code: 'EBUSY',
      operation: op,
      device: name,
    })
  }

  async listVolumes(): Promise<VolumeInfo[]> {
    return this.#locked('listVolumes', async (state) => {
      const out: VolumeInfo[] = []
      for (const name of Object.keys(state.volumes).sort()) out.push(await this.#info(state, name))
      return out
    })
  }

  async volume(name: string): Promise<VolumeInfo | undefined> {
    checkVolumeName(name, 'volume')
    return this.#locked('volume', async (state) => (state.volumes[name] ? this.#info(state, name) : undefined))
  }

  async #info(state: State, name: string): Promise<VolumeInfo> {
    const rec = state.volumes[name]
    const dev = this.#deviceName(name)
    const info = await infoOrUndefined(this.#dm, dev)
    const out: VolumeInfo = {
      name,
      deviceId: rec.deviceId,
      size: rec.size,
      fs: rec.fs,
      active: info !== undefined,
      createdAt: rec.createdAt,
      usedBytes: rec.usedBytes ?? 0,
    }
    if (rec.parent !== undefined) out.parent = rec.parent
    if (info) {
      out.path = info.path
      out.usedBytes = (await this.#usedBytes(dev)) ?? out.usedBytes
      const mp = fsops.mountsByDevice().get(`${info.major}:${info.minor}`)?.[0]
      if (mp !== undefined) out.mountpoint = mp
    }
    return out
  }

  // ---- the pool --------------------------------------------------------------------------------------------------

  async status(): Promise<PoolStatus> {
    return this.#locked('status', async (state) => {
      const st = await this.#pool().status()
      if (st.state !== 'active') throw new DmError({ message: `status: thin pool ${this.#poolName} is ${st.state}`, code: 'EIO', operation: 'status', device: this.#poolName })
      const block = state.pool.blockSectors * 512
      return {
        poolName: this.#poolName,
        dataUsedBytes: st.usedDataBlocks * block,
        dataTotalBytes: st.totalDataBlocks * block,
        metadataUsedBytes: st.usedMetadataBlocks * 4096,
        metadataTotalBytes: st.totalMetadataBlocks * 4096,
        mode: st.mode,
        transactionId: st.transactionId,
        volumes: Object.keys(state.volumes).length,
        internalDeviceIds: [...state.pendingDeletes].sort((a, b) => a - b),
        lvm: state.pool.lvm,
      }
    })
  }

  /**
   * Compares the pool, the device-mapper devices and the state. The pool's ids are read with thin_dump from a
   * metadata snapshot (reserve_metadata_snap), never from live metadata. With `repair`: deletes orphan ids (on
   * pools this root made or adopted, not LVM's), removes stray devices that are not open, forgets volumes whose
   * id is gone.
   */
  async check(options: { repair?: boolean } = {}): Promise<CheckResult> {
    return this.#locked('check', async (state) => {
      const res: CheckResult = { ok: true, orphanDeviceIds: [], missingVolumes: [], strayDevices: [], suspendedDevices: [], pendingDeletes: [...state.pendingDeletes], poolScan: '', repaired: [] }
      const owned = new Map<number, string>()
      for (const [n, v] of Object.entries(state.volumes)) owned.set(v.deviceId, n)
      const ids = await this.#poolIds()
      if (Array.isArray(ids)) {
        res.poolScan = 'thin_dump'
        const inPool = new Set(ids)
        const internal = new Set([...state.pendingDeletes, ...state.quarantined])
        res.orphanDeviceIds = ids.filter((id) => !owned.has(id) && !internal.has(id) && !(state.pool.lvm))
        for (const [id, n] of owned) if (!inPool.has(id)) res.missingVolumes.push(n)
      } else {
        res.poolScan = ids
      }
      const uuids = new Set(Object.values(state.volumes).map((v) => volumeUuid(state.identity, v.deviceId)))
      const pendingUuids = new Set(state.pendingDeletes.map((id) => volumeUuid(state.identity, id)))
      for (const [uuid, d] of await this.#ourDevices(state)) {
        if (!uuids.has(uuid) && !pendingUuids.has(uuid)) res.strayDevices.push(d.name)
        if ((await infoOrUndefined(this.#dm, d.name))?.suspended) res.suspendedDevices.push(d.name)
      }
      if (options.repair) {
        for (const d of res.strayDevices) {
          await this.#dm.remove(d, { deferred: true })
          res.repaired.push(`removed device ${d}`)
        }
        for (const id of res.orphanDeviceIds) {
          // the same intent as a queued delete: a crash here is finished by the next open's reconcile
          state.intent = { op: 'purge', deviceId: id, txid: state.transactionId }
          this.#save(state)
          step('repair.delete')
          if (await this.#deleteId(id)) {
            step('repair.set_transaction_id')
            await this.#commitTxid(state, state.intent.txid)
            res.repaired.push(`deleted orphan thin id ${id}`)
          }
          step('repair.commit')
          delete state.intent
          this.#save(state)
        }
        for (const n of res.missingVolumes) {
          delete state.volumes[n]
          res.repaired.push(`forgot volume ${n} (its thin id is gone)`)
        }
        this.#save(state)
      }
      res.ok = res.orphanDeviceIds.length + res.missingVolumes.length + res.strayDevices.length + res.suspendedDevices.length === 0
      return res
    })
  }

  /** The pool's thin ids, from thin_dump on a metadata snapshot; or why they could not be read. */
  async #poolIds(): Promise<number[] | string> {
    const table = await this.#dm.table(this.#poolName)
    const meta = table[0]?.params.split(/\s+/)[0]
    const { execFile } = await import('node:child_process')
    const { promisify } = await import('node:util')
    let node: string | undefined
    try {
      const uevent = (await import('node:fs')).readFileSync(`/sys/dev/block/${meta}/uevent`, 'utf8')
      node = `/dev/${/^DEVNAME=(.*)$/m.exec(uevent)?.[1]}`
    } catch {
      return `cannot find the metadata device ${meta}`
    }
    try {
      await this.#pool().reserveMetadataSnap()
    } catch (err) {
      return `reserve_metadata_snap failed: ${(err as Error).message}`
    }
    try {
      const { stdout } = await promisify(execFile)('thin_dump', ['--metadata-snap', node], { maxBuffer: 1 << 30 })
      return [...stdout.matchAll(/<device dev_id="(\d+)"/g)].map((m) => Number(m[1])).sort((a, b) => a - b)
    } catch (err) {
      return `thin_dump failed: ${(err as Error).message}`
    } finally {
      await this.#pool().releaseMetadataSnap().catch(() => undefined)
    }
  }

  // ---- growing a pool on loop files ---------------------------------------------------------------------------

  /**
   * Grows a pool on loop files: the data file (sparse), its loop device (LOOP_SET_CAPACITY) and the pool's table
   * (reloaded with the new length and low water mark, resumed; the kernel keeps thin I/O going). `size` defaults
   * to autoExtend's percent more (or 20%), capped at its maxDataSize. Returns the new data size in bytes.
   */
  async growPool(size?: number | string): Promise<number> {
    const op = 'growPool'
    const wanted = size === undefined ? undefined : parseSize(size, 'size', op)
    return this.#locked(op, (state) => this.#grow(state, wanted))
  }

  async #grow(state: State, wanted: number | undefined): Promise<number> {
    const op = 'growPool'
    if (state.pool.kind !== 'loop' || !state.pool.created) throw invalid(op, 'pool', `must be a pool on loop files made by this root, ${this.#poolName} is not`)
    const block = state.pool.blockSectors * 512
    const current = state.pool.loopDataSize!
    const ae = this.#cfg.autoExtend
    let next = wanted ?? current + Math.ceil((current * (ae ? ae.percent : 20)) / 100)
    next = Math.ceil(next / block) * block
    if (wanted === undefined && ae && ae.maxDataSize !== undefined) next = Math.min(next, ae.maxDataSize)
    if (next < current) throw invalid(op, 'size', `must not be below the current ${current} bytes (pools do not shrink), got ${next}`, this.#poolName)
    if (next === current) return current
    // The intent first: once the pool has resumed at the new size its metadata counts the new blocks, and a
    // pool recreated at the old size (after a reboot) would be refused; so a grow, once begun, rolls forward.
    state.intent = { op: 'grow', size: next, oldSize: current }
    step('grow.intent')
    this.#save(state)
    await this.#applyGrow(state, next)
    step('grow.commit')
    state.pool.loopDataSize = next
    delete state.intent
    this.#save(state)
    return next
  }

  /** Brings the data file, its loop device and the pool's table to `bytes`; each step skipped when done. */
  async #applyGrow(state: State, bytes: number): Promise<void> {
    const op = 'growPool'
    const file = loopFiles(this.root).data
    step('grow.truncate')
    growFile(file, bytes)
    const dataLoop = (await loop.find(file))[0]
    if (!dataLoop) throw new DmError({ message: `${op}: no loop device over ${file}`, code: 'ENODEV', operation: op, device: file })
    step('grow.loop_capacity')
    await loop.resize(dataLoop.number)
    const sectors = bytes / 512
    const table = (await this.#dm.table(this.#poolName))[0]
    if (table.length >= sectors) return
    const params = table.params.split(/\s+/)
    const ae = this.#cfg.autoExtend
    params[3] = String(lowWaterMark(sectors / state.pool.blockSectors, ae ? ae.threshold : undefined))
    step('grow.load')
    await this.#dm.load(this.#poolName, [{ start: 0, length: sectors, type: 'thin-pool', params: params.join(' ') }])
    step('grow.resume')
    await this.#dm.resume(this.#poolName)
  }

  /** autoExtend: on each event of the pool (the low water mark), grow it when it is past the threshold. */
  #startAutoExtend(): void {
    const ae = this.#cfg.autoExtend
    if (!ae) return
    const watch = new DeviceWatch(new EventPoller(this.#dm.controlPath), { signal: this.#stopWatch.signal, keepAlive: false })
    void (async () => {
      for await (const ev of watch) {
        if (ev.name !== this.#poolName || this.#closed) continue
        this.#extending = (this.#extending ?? Promise.resolve()).then(() => this.#autoExtend(ae.threshold)).catch((err) => {
          this.autoExtendError = err
        })
      }
    })().catch((err) => {
      this.autoExtendError = err
    })
  }

  async #autoExtend(threshold: number): Promise<void> {
    if (this.#closed) return
    await this.#locked('autoExtend', async (state) => {
      const st = await this.#pool().status()
      if (st.state !== 'active') return
      const ae = this.#cfg.autoExtend
      if (st.usedDataBlocks * 100 < st.totalDataBlocks * threshold) return
      if (ae && ae.maxDataSize !== undefined && state.pool.loopDataSize! >= ae.maxDataSize) return
      await this.#grow(state, undefined)
    })
  }

  /** Leaves devices as they are; the manager cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#stopWatch.abort()
    await this.#extending
    this.#closed = true
    this.#dm.close()
  }

  /**
   * Removes everything this root made: unmounts and removes every volume, then (if this root made the pool)
   * the pool, its loop devices and files, and the state. On a pool it did not make, deletes its thin ids.
   */
  async destroy(): Promise<void> {
    this.#stopWatch.abort()
    await this.#extending
    await this.#locked('destroy', async (state) => {
      for (const [uuid, d] of await this.#ourDevices(state)) {
        void uuid
        for (const dir of fsops.mountsByDevice().get(`${d.major}:${d.minor}`) ?? []) await fsops.unmount(dir, d.name)
        await this.#dm.remove(d.name, { retries: 20 })
      }
      if (state.pool.created) {
        const loops = state.pool.kind === 'loop' ? (await this.#dm.deps(this.#poolName)).filter((d) => d.major === 7).map((d) => d.minor) : []
        await this.#dm.remove(this.#poolName, { retries: 20 })
        for (const n of loops) await detachLoop(n)
        rmSync(loopFiles(this.root).dir, { recursive: true, force: true })
      } else {
        for (const id of [...Object.values(state.volumes).map((v) => v.deviceId), ...state.pendingDeletes]) {
          state.intent = { op: 'purge', deviceId: id, txid: state.transactionId }
          this.#save(state)
          if (await this.#deleteId(id)) await this.#commitTxid(state, state.intent.txid)
          delete state.intent
          this.#save(state)
        }
      }
      rmSync(join(this.root, MNT_DIR), { recursive: true, force: true })
      rmSync(statePath(this.root), { force: true })
    })
    rmSync(join(this.root, LOCK_FILE), { force: true })
    try {
      if (readdirSync(this.root).length === 0) rmdirSync(this.root)
    } catch {
      // not empty or gone
    }
    await this.close()
  }
}

export type { FsType, VolumeManagerOptions }
