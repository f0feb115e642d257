// Finding or making the thin pool of a volume root: Docker's default name, the pool table, a pool on sparse
// loop files or on two block devices, adoption of an existing pool (thinPoolDevice) with the foreign-pool and
// LVM checks, and re-creation of a pool whose devices went away (a reboot) from the stored record.
import { statSync } from 'node:fs'
import type { DeviceMapper } from '../core/device-mapper'
import { DmError, invalid } from '../core/errors'
import { deviceSectors } from '../core/sysfs'
import type { DeviceInfo } from '../core/types'
import { ThinPool } from '../thin/thin-pool'
import { attachFile, ensureSparse, loopFiles } from './loop-files'
import type { VolumeConfig } from './options'
import type { PoolRecord, State } from './store'

/** Docker's pool name for a root: `devmapper-<major>:<minor>-<inode>-pool` of stat(root) (old 8:8 dev_t split). */
export function defaultPoolName(root: string): string {
  const st = statSync(root, { bigint: true })
  const dev = st.dev
  const major = Number((dev >> 8n) & 0xfffn)
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & 0xfff00n))
  return `devmapper-${major}:${minor}-${st.ino}-pool`
}

/** The prefix of the root's volume device names: the pool name without its `-pool` suffix. */
export function devicePrefix(poolName: string): string {
  return poolName.endsWith('-pool') ? poolName.slice(0, -5) : poolName
}

export function poolUuid(identity: string): string {
  return `DMVOL-${identity}-pool`
}

export function volumeUuid(identity: string, deviceId: number): string {
  return `DMVOL-${identity}-${deviceId}`
}

/**
 * Docker's low water mark is 32768 blocks; small pools get a tenth of their blocks so the event means something.
 * With autoExtend at `threshold`% used, the mark is the free blocks left at that point, so the event fires there.
 */
export function lowWaterMark(dataBlocks: number, threshold?: number): number {
  if (threshold !== undefined) return Math.max(1, Math.ceil((dataBlocks * (100 - threshold)) / 100))
  return Math.max(1, Math.min(32768, Math.floor(dataBlocks / 10)))
}

/** The thin-pool line, as Docker wrote it: `<meta> <data> <block> <low water mark> 1 skip_block_zeroing`. */
export function poolTable(metadata: string, data: string, dataSectors: number, blockSectors: number, threshold?: number): string {
  const blocks = Math.floor(dataSectors / blockSectors)
  return `0 ${dataSectors} thin-pool ${metadata} ${data} ${blockSectors} ${lowWaterMark(blocks, threshold)} 1 skip_block_zeroing`
}

export async function infoOrUndefined(dm: DeviceMapper, name: string): Promise<DeviceInfo | undefined> {
  try {
    return await dm.info(name)
  } catch (err) {
    if (err instanceof DmError && (err.code === 'ENXIO' || err.code === 'ENODEV' || err.code === 'ENOENT')) return undefined
    throw err
  }
}

/** A block device's 'major:minor' from its path. */
function devNumber(path: string, field: string): string {
  let st
  try {
    st = statSync(path, { bigint: true })
  } catch {
    throw invalid('open', field, `must be a block device, ${path} does not exist`)
  }
  if (!st.isBlockDevice()) throw invalid('open', field, `must be a block device, ${path} is not one`)
  const rdev = st.rdev
  const major = Number((rdev >> 8n) & 0xfffn)
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n))
  return `${major}:${minor}`
}

export interface PoolSetup {
  record: PoolRecord
  /** things made during this open, undone if the open is refused */
  madeFiles: string[]
  attachedLoops: number[]
  createdPool: boolean
  /** the pool's transaction id when a foreign pool was adopted */
  adoptedTxid?: bigint
}

/** Checks an existing pool device: a thin-pool, and (unless it carries our identity) empty and at transaction 0. */
async function inspectPool(dm: DeviceMapper, name: string, identity: string | undefined, field: string): Promise<{ lvm: boolean; txid: bigint; blockSectors: number; ours: boolean }> {
  const info = await dm.info(name)
  const table = await dm.table(name)
  if (table.length !== 1 || table[0].type !== 'thin-pool') {
    throw invalid('open', field, `must name a thin-pool device, ${name} is ${table.map((t) => t.type).join(', ') || 'empty'}`)
  }
  const st = await new ThinPool(dm, name).status()
  if (st.state !== 'active') throw new DmError({ message: `open: thin pool ${name} is ${st.state}`, code: 'EIO', operation: 'open', device: name })
  const txid = BigInt(st.transactionId)
  const ours = identity !== undefined && info.uuid === poolUuid(identity)
  const blockSectors = Number(table[0].params.split(/\s+/)[2])
  return { lvm: info.uuid.startsWith('LVM-'), txid, blockSectors, ours }
}

/**
 * Makes or finds the pool for `cfg`. With `state` (an existing root) the stored record wins; the pool device is
 * recreated from it when it is gone. Without, this is a first open: the record is made from the options.
 */
export async function setupPool(dm: DeviceMapper, cfg: VolumeConfig, state: State | undefined, identity: string): Promise<PoolSetup> {
  const out: PoolSetup = { record: undefined as unknown as PoolRecord, madeFiles: [], attachedLoops: [], createdPool: false }
  const blockSectors = cfg.blockSize / 512
  if (state) {
    // The stored pool wins over options given later (Convoy's rule), but an explicit contradiction is refused.
    if (cfg.explicit.includes('blockSize') && cfg.blockSize !== state.pool.blockSectors * 512) {
      throw invalid('open', 'blockSize', `is ${cfg.blockSize} bytes but the pool of ${cfg.root} was made with ${state.pool.blockSectors * 512}`)
    }
    const named = cfg.thinPoolDevice ?? (cfg.explicit.includes('poolName') ? cfg.poolName : undefined)
    if (named !== undefined && named !== state.pool.name) {
      throw invalid('open', cfg.thinPoolDevice !== undefined ? 'thinPoolDevice' : 'poolName', `is '${named}' but ${cfg.root} uses the pool '${state.pool.name}'`)
    }
    out.record = state.pool
    const existing = await infoOrUndefined(dm, state.pool.name)
    if (existing) {
      if (state.pool.created && existing.uuid !== poolUuid(state.identity)) {
        throw new DmError({ message: `open: device ${state.pool.name} is not this root's pool (uuid '${existing.uuid}')`, code: 'EBUSY', operation: 'open', device: state.pool.name })
      }
      await inspectPool(dm, state.pool.name, state.identity, 'poolName')
      return out
    }
    if (state.pool.kind === 'external') {
      throw new DmError({ message: `open: thin pool ${state.pool.name} (thinPoolDevice) does not exist`, code: 'ENOENT', operation: 'open', device: state.pool.name })
    }
    await createPoolDevice(dm, cfg.root, state.pool, state.identity, out, cfg.autoExtend ? cfg.autoExtend.threshold : undefined)
    return out
  }

  if (cfg.thinPoolDevice !== undefined) {
    const name = cfg.thinPoolDevice
    if (!(await infoOrUndefined(dm, name))) throw invalid('open', 'thinPoolDevice', `must name an existing thin pool, ${name} does not exist`)
    const p = await inspectPool(dm, name, undefined, 'thinPoolDevice')
    await refuseForeign(dm, name, p.txid)
    out.record = { name, kind: 'external', created: false, lvm: p.lvm, blockSectors: p.blockSectors }
    out.adoptedTxid = p.txid
    return out
  }

  const name = cfg.poolName ?? defaultPoolName(cfg.root)
  if (await infoOrUndefined(dm, name)) {
    // A pool of that name exists but this root has no state: adopt it only if it is empty.
    const p = await inspectPool(dm, name, undefined, 'poolName')
    await refuseForeign(dm, name, p.txid)
    out.record = { name, kind: 'external', created: false, lvm: p.lvm, blockSectors: p.blockSectors }
    out.adoptedTxid = p.txid
    return out
  }
  const record: PoolRecord =
    cfg.dataDevice !== undefined
      ? { name, kind: 'devices', created: true, lvm: false, blockSectors, dataDevice: cfg.dataDevice, metadataDevice: cfg.metadataDevice }
      : { name, kind: 'loop', created: true, lvm: false, blockSectors, loopDataSize: cfg.loopDataSize, loopMetadataSize: cfg.loopMetadataSize }
  out.record = record
  return out
}

/** Refuses a pool we did not make unless it is empty: transaction id 0 and no data blocks used. */
async function refuseForeign(dm: DeviceMapper, name: string, txid: bigint): Promise<void> {
  const st = await new ThinPool(dm, name).status()
  const used = st.state === 'active' ? st.usedDataBlocks : -1
  if (txid !== 0n || used !== 0) {
    throw new DmError({
      message: `open: thin pool ${name} is in use by someone else (transaction id ${txid}, ${used} data blocks used); refusing to take it over`,
      code: 'EBUSY',
      operation: 'open',
      device: name,
    })
  }
}

/** Creates the pool device of a loop or devices record (first open, or after its devices went away). */
export async function createPoolDevice(dm: DeviceMapper, root: string, record: PoolRecord, identity: string, out: PoolSetup, threshold?: number): Promise<void> {
  let meta: string
  let data: string
  let dataSectors: number
  if (record.kind === 'loop') {
    const f = loopFiles(root)
    if (ensureSparse(f.data, record.loopDataSize!)) out.madeFiles.push(f.data)
    if (ensureSparse(f.metadata, record.loopMetadataSize!)) out.madeFiles.push(f.metadata)
    const m = await attachFile(f.metadata)
    if (m.attached) out.attachedLoops.push(m.number)
    const d = await attachFile(f.data)
    if (d.attached) out.attachedLoops.push(d.number)
    meta = m.path
    data = d.path
    dataSectors = Math.floor(record.loopDataSize! / 512)
  } else {
    meta = record.metadataDevice!
    data = record.dataDevice!
    devNumber(meta, 'metadataDevice')
    dataSectors = deviceSectors(devNumber(data, 'dataDevice')) ?? 0
  }
  const sectors = dataSectors - (dataSectors % record.blockSectors)
  if (sectors < record.blockSectors) throw invalid('open', 'dataDevice', `must hold at least one ${record.blockSectors}-sector block`)
  await dm.create(record.name, poolTable(meta, data, sectors, record.blockSectors, threshold), { uuid: poolUuid(identity) })
  out.createdPool = true
}
