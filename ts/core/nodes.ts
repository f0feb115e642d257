// The no-udev fallback: /dev/mapper/<name> block nodes made, moved and removed by the library, as libdm does
// when udev is not running (containers, minimal VMs). Only block nodes and symlinks are ever replaced or
// removed; a node or link that already reaches the right device is left alone (udev or an admin made it).
import { chmodSync, lstatSync, mkdirSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs'
import { constants } from 'node:os'
import { DmError, errnoName } from './errors'
import { native } from './native'

export const MAPPER_DIR = '/dev/mapper'
const NODE_MODE = 0o600

const mknod = native.udev.mknod

export function nodePath(name: string): string {
  return `${MAPPER_DIR}/${name}`
}

/** glibc's makedev(), which is how Node reports st_rdev (arithmetic, not shifts: minors reach 2^20). */
export function devNumber(major: number, minor: number): number {
  return (minor & 0xff) + (major & 0xfff) * 0x100 + Math.floor(minor / 0x100) * 0x100000 + Math.floor(major / 0x1000) * 0x100000000000
}

function lstatOrUndefined(path: string): Stats | undefined {
  // no exception for the common "no node yet": building one costs more than the lstat
  return lstatSync(path, { throwIfNoEntry: false })
}

/** True if `path` is a block node for dev, or a symlink that resolves to one (udev's `../dm-N`). */
function reaches(path: string, st: Stats | undefined, dev: number): boolean {
  if (st === undefined) return false
  if (st.isBlockDevice()) return st.rdev === dev
  if (!st.isSymbolicLink()) return false
  try {
    const target = statSync(path)
    return target.isBlockDevice() && target.rdev === dev
  } catch {
    return false // dangling
  }
}

function nodeError(operation: string, name: string, code: string, message: string, cause?: unknown): DmError {
  return new DmError({ message: `${operation} ${nodePath(name)}: ${message}`, code, operation, device: name, cause })
}

/** Makes the path replaceable: removes a stale block node or link, refuses anything else. */
function clearStale(name: string, st: Stats | undefined): void {
  if (st === undefined) return
  if (!st.isBlockDevice() && !st.isSymbolicLink()) {
    throw nodeError('mknod', name, 'EEXIST', 'exists and is not a block device node or symlink; left alone')
  }
  unlinkSync(nodePath(name))
}

/**
 * Refuses, before the kernel call, an operation whose node could not be made: /dev/mapper/<name> exists and is
 * neither a block node nor a symlink (a directory, a regular file). The same EEXIST error ensureNode would
 * raise afterwards, when the device would already have changed.
 */
export function checkNodeFree(name: string, operation: string): void {
  const st = lstatOrUndefined(nodePath(name))
  if (st !== undefined && !st.isBlockDevice() && !st.isSymbolicLink()) {
    throw nodeError(operation, name, 'EEXIST', 'exists and is not a block device node or symlink, so the device node cannot be made there; nothing was changed')
  }
}

/** Ensures /dev/mapper/<name> reaches major:minor, creating a 0600 block node if it does not. */
export function ensureNode(name: string, major: number, minor: number): void {
  const path = nodePath(name)
  const dev = devNumber(major, minor)
  for (let attempt = 0; attempt < 2; attempt++) {
    const st = lstatOrUndefined(path)
    if (reaches(path, st, dev)) return
    clearStale(name, st)
    mkdirSync(MAPPER_DIR, { recursive: true, mode: 0o755 })
    const err = mknod(path, major, minor, NODE_MODE)
    if (err === 0) {
      // mknod's mode passes through the umask; the node must be exactly 0600.
      if ((lstatSync(path).mode & 0o7777) !== NODE_MODE) chmodSync(path, NODE_MODE)
      return
    }
    // EEXIST: made concurrently between our lstat and mknod; look at it once more.
    if (err !== constants.errno.EEXIST) throw nodeError('mknod', name, errnoName(err), 'cannot create the block node')
  }
  throw nodeError('mknod', name, 'EEXIST', 'was replaced concurrently by something else')
}

/** Removes /dev/mapper/<name> if it is a block node or a symlink; anything else is not ours to remove. */
export function removeNode(name: string): void {
  const st = lstatOrUndefined(nodePath(name))
  if (st === undefined || (!st.isBlockDevice() && !st.isSymbolicLink())) return
  try {
    unlinkSync(nodePath(name))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

/** Moves the node from `from` to `to` (device major:minor); the old name goes, the new one reaches the device. */
export function renameNode(from: string | undefined, to: string, major: number, minor: number): void {
  const dev = devNumber(major, minor)
  const toPath = nodePath(to)
  if (!reaches(toPath, lstatOrUndefined(toPath), dev)) {
    const fromSt = from === undefined ? undefined : lstatOrUndefined(nodePath(from))
    if (from !== undefined && reaches(nodePath(from), fromSt, dev)) {
      clearStale(to, lstatOrUndefined(toPath))
      renameSync(nodePath(from), toPath)
    } else {
      ensureNode(to, major, minor)
    }
  }
  if (from !== undefined && from !== to) removeNode(from)
}
