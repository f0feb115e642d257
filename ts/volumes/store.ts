// The state store of a volume root: one JSON document, root/state.json, holding the pool's identity, every
// volume, the thin ids in use, and the intent of the operation in flight. Written whole and atomically (temp
// file, fsync, rename, fsync the directory), so a crash leaves either the old or the new document, never a torn
// one; leftover `.tmp` files are ignored and swept. One document instead of one file per volume: no split
// stores that can drift (containerd #5646), and an intent and the change it describes land together.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DmError } from '../core/errors'

export const STATE_FILE = 'state.json'
export const STATE_VERSION = 1

export type FsType = 'ext4' | 'xfs' | 'none'

export interface VolumeRecord {
  deviceId: number
  /** bytes */
  size: number
  parent?: string
  fs: FsType
  createdAt: string
  /** last mapped bytes seen while active (an inactive thin device has no status to ask) */
  usedBytes?: number
}

/** The operation in flight: written before its first kernel step, cleared by its commit. */
export type Intent =
  | { op: 'create'; name: string; deviceId: number; size: number; fs: FsType; txid: string; createdAt: string }
  | { op: 'snapshot'; name: string; deviceId: number; source: string; sourceId: number; size: number; fs: FsType; txid: string; createdAt: string }
  | { op: 'remove'; name: string; deviceId: number; txid: string; deferred: boolean; deferredDeletion?: boolean }
  | { op: 'resize'; name: string; size: number; oldSize: number }
  | { op: 'purge'; deviceId: number; txid: string }
  | { op: 'grow'; size: number; oldSize: number }

export interface PoolRecord {
  name: string
  /** loop: files under root/devicemapper; devices: dataDevice/metadataDevice; external: thinPoolDevice */
  kind: 'loop' | 'devices' | 'external'
  /** we created the pool device (and remove it in destroy) */
  created: boolean
  /** the pool belongs to LVM (uuid LVM-...): never sent set_transaction_id */
  lvm: boolean
  dataDevice?: string
  metadataDevice?: string
  /** sectors */
  blockSectors: number
  loopDataSize?: number
  loopMetadataSize?: number
}

export interface State {
  version: number
  /** random, made at first open: names this root's pool and devices (uuids), tells our pool from a foreign one */
  identity: string
  pool: PoolRecord
  /** the pool transaction id after the last committed change (decimal string: 64-bit) */
  transactionId: string
  /** where the next id search starts (wraps at 2^24) */
  nextId: number
  volumes: Record<string, VolumeRecord>
  /** ids held by no volume but still in the pool: deletes that waited for a deferred removal (EBUSY) */
  pendingDeletes: number[]
  /** ids the pool already had (EEXIST on create): never allocated again, reported by check() */
  quarantined: number[]
  intent?: Intent
}

export function statePath(root: string): string {
  return join(root, STATE_FILE)
}

/** The stored state, or undefined when the root has none yet. */
export function readState(root: string): State | undefined {
  const file = statePath(root)
  if (!existsSync(file)) return undefined
  let doc: State
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as State
  } catch (cause) {
    throw new DmError({ message: `${file}: not a volume state document (${(cause as Error).message})`, code: 'EINVAL', operation: 'open', device: file, cause })
  }
  if (doc.version !== STATE_VERSION || typeof doc.identity !== 'string' || typeof doc.volumes !== 'object') {
    throw new DmError({ message: `${file}: unknown state version ${String(doc.version)}`, code: 'EINVAL', operation: 'open', device: file })
  }
  doc.pendingDeletes ??= []
  doc.quarantined ??= []
  return doc
}

/** Writes `data` to `file` atomically: a temp file beside it, fsync, rename over, fsync the directory. */
export function writeFileAtomic(dir: string, name: string, data: string): void {
  const tmp = join(dir, `.${name}.tmp-${process.pid}`)
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, join(dir, name))
  const dfd = openSync(dir, 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

export function writeState(root: string, state: State): void {
  writeFileAtomic(root, STATE_FILE, JSON.stringify(state, null, 2) + '\n')
}

/** Removes temp files a crashed writer left (only those of processes no longer alive). */
export function sweepTemps(root: string): void {
  for (const f of readdirSync(root)) {
    const m = /^\..+\.tmp-(\d+)$/.exec(f)
    if (!m) continue
    const pid = Number(m[1])
    let alive = pid === process.pid
    if (!alive) {
      try {
        process.kill(pid, 0)
        alive = true
      } catch {
        alive = false
      }
    }
    if (!alive) rmSync(join(root, f), { force: true })
  }
}
