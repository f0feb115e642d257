// Loop devices as paths, numbers and fds: resolving a reference, making a missing /dev/loopN or /dev/loop-control,
// opening it, the DmError for a failed call, and LOOP_GET_STATUS64 + sysfs turned into a LoopInfo.
import { chmodSync, constants, lstatSync, openSync, readFileSync, statSync, type BigIntStats, type Stats } from 'node:fs'
import { constants as os } from 'node:os'
import { DmError, errnoName, invalid } from '../core/errors'
import type { NativeLoopStatus } from '../core/native'
import { native } from '../core/native'
import { checkUint } from '../core/validate'
import { backingFile, blockDeviceName, logicalBlockSize, loopDevNumber, loopExists, sizeBytes } from './sysfs'
import type { LoopDeviceRef, LoopInfo } from './types'

export const LOOP_MAJOR = 7
export const LOOP_CONTROL = '/dev/loop-control'
const NODE_MODE = 0o660 // as devtmpfs makes them (root:disk)

/** LO_FLAGS_* of <linux/loop.h> */
export const LoFlags = { READ_ONLY: 1, AUTOCLEAR: 4, PARTSCAN: 8, DIRECT_IO: 16 } as const

/** The DmError for a failed ioctl or open: errno name as code, the ioctl as operation. */
export function loopError(err: number, operation: string, device: string, detail?: string): DmError {
  const code = errnoName(err)
  return new DmError({
    message: `${operation} ${device}: ${detail ?? code}${detail ? ` (${code})` : ''}`,
    code,
    errno: err,
    operation,
    device,
  })
}

/** Wraps a Node fs error (ENOENT, EACCES, ...) as a DmError. */
export function fsError(err: unknown, operation: string, device: string, field?: string): DmError {
  const e = err as NodeJS.ErrnoException
  return new DmError({
    message: `${operation} ${device}: ${e.message}`,
    code: e.code ?? 'EIO',
    errno: e.errno === undefined ? undefined : Math.abs(e.errno),
    operation,
    device,
    field,
    cause: err,
  })
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch {
    return undefined
  }
}

/** Makes /dev/loopN if it is missing (containers without devtmpfs); a node that is there is left alone. */
export function ensureLoopNode(n: number): string {
  const path = `/dev/loop${n}`
  if (lstatOrUndefined(path) !== undefined) return path
  const dev = loopDevNumber(n) ?? { major: LOOP_MAJOR, minor: n }
  const err = native.udev.mknod(path, dev.major, dev.minor, NODE_MODE)
  if (err === 0) chmodSync(path, NODE_MODE) // mknod's mode went through the umask
  else if (err !== os.errno.EEXIST /* made meanwhile */) throw loopError(err, 'mknod', path, 'cannot create the loop device node')
  return path
}

const MISC_LOOP_CONTROL = '/sys/class/misc/loop-control/dev'

/**
 * Makes /dev/loop-control if it is missing (a container or a minimal /dev) and the loop module is there (sysfs
 * gives its major:minor), as ensureLoopNode does for /dev/loopN. Otherwise a DmError naming the path and what to
 * do. A node that is there is left alone, unless it is not a character device (then the error says so).
 */
export function ensureLoopControl(): string {
  const path = LOOP_CONTROL
  const st = lstatOrUndefined(path)
  if (st !== undefined) {
    if (st.isCharacterDevice() || st.isSymbolicLink()) return path
    throw new DmError({ message: `open ${path}: exists but is not a character device; remove it and the node is made again (or: mknod ${path} c 10 237)`, code: 'ENOTTY', operation: 'open', device: path })
  }
  let dev: string
  try {
    dev = readFileSync(MISC_LOOP_CONTROL, 'utf8').trim()
  } catch {
    throw new DmError({ message: `open ${path}: no such node, and the kernel has no loop-control device (${MISC_LOOP_CONTROL} is missing): load the loop module (modprobe loop)`, code: 'ENOENT', operation: 'open', device: path })
  }
  const m = /^(\d+):(\d+)$/.exec(dev)
  if (!m) throw new DmError({ message: `open ${path}: no such node, and ${MISC_LOOP_CONTROL} says '${dev}', not major:minor`, code: 'ENOENT', operation: 'open', device: path })
  const err = native.udev.mknod(path, Number(m[1]), Number(m[2]), NODE_MODE, true)
  if (err === 0) chmodSync(path, NODE_MODE) // mknod's mode went through the umask
  else if (err !== os.errno.EEXIST /* made meanwhile */) {
    throw loopError(err, 'mknod', path, `no such node and it cannot be created; create it (mknod ${path} c ${m[1]} ${m[2]}) or mount devtmpfs on /dev`)
  }
  return path
}

/** The number and path of a loop device reference; checked before anything is opened. */
export function resolveLoop(ref: LoopDeviceRef, operation: string): { number: number; path: string } {
  let n: number
  if (typeof ref === 'number') {
    n = checkUint(ref, operation, 'device', 2 ** 20 - 1)
  } else if (typeof ref === 'string' && ref.length > 0) {
    const m = /^\/dev\/loop(\d+)$/.exec(ref)
    if (m) n = Number(m[1])
    else {
      // Any other path (a symlink, a node elsewhere) must be a block device the kernel calls loopN.
      let st: BigIntStats
      try {
        st = statSync(ref, { bigint: true })
      } catch (err) {
        throw fsError(err, operation, ref, 'device')
      }
      const { major, minor } = decodeStatDev(st.rdev)
      const name = st.isBlockDevice() ? blockDeviceName(major, minor) : undefined
      const nm = name === undefined ? null : /^loop(\d+)$/.exec(name)
      if (!nm) throw invalid(operation, 'device', 'must be a loop device (a path like /dev/loop3 or its number)', ref)
      n = Number(nm[1])
    }
  } else {
    throw invalid(operation, 'device', `must be a loop device path or number, got ${String(ref)}`)
  }
  if (!loopExists(n)) {
    throw new DmError({ message: `${operation} /dev/loop${n}: no such loop device`, code: 'ENXIO', operation, device: `/dev/loop${n}` })
  }
  return { number: n, path: ensureLoopNode(n) }
}

/** Opens a loop device (read-only by default: enough for every ioctl as root, and a read-only close sends udev
 * no change event). libuv opens every fd O_CLOEXEC. */
export function openLoop(path: string, operation: string, flags = constants.O_RDONLY): number {
  try {
    return openSync(path, flags)
  } catch (err) {
    throw fsError(err, operation, path)
  }
}

/** The kernel's huge_encode_dev (loop_info64.lo_device) as major:minor. */
export function decodeKernelDev(dev: bigint): { major: number; minor: number } {
  return { major: Number((dev & 0xfff00n) >> 8n), minor: Number((dev & 0xffn) | ((dev >> 12n) & 0xfff00n)) }
}

/** glibc's dev_t (Node's stat().dev as bigint) as major:minor (gnu_dev_major / gnu_dev_minor). */
export function decodeStatDev(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n)),
  }
}

/** A LOOP_GET_STATUS64 reply and the sysfs reads made right after it, as the public shape. */
export function toInfo(n: number, status: NativeLoopStatus): LoopInfo {
  const dev = loopDevNumber(n) ?? { major: LOOP_MAJOR, minor: n }
  const back = decodeKernelDev(status.device)
  return {
    path: `/dev/loop${n}`,
    number: n,
    major: dev.major,
    minor: dev.minor,
    backingFile: backingFile(n) ?? status.fileName,
    offset: status.offset,
    sizeLimit: status.sizeLimit,
    readOnly: (status.flags & LoFlags.READ_ONLY) !== 0,
    autoclear: (status.flags & LoFlags.AUTOCLEAR) !== 0,
    directIo: (status.flags & LoFlags.DIRECT_IO) !== 0,
    partscan: (status.flags & LoFlags.PARTSCAN) !== 0,
    sizeBytes: sizeBytes(n) ?? 0,
    blockSize: logicalBlockSize(n) ?? 512,
    backingDevice: `${back.major}:${back.minor}`,
    backingInode: Number(status.inode),
  }
}
