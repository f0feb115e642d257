// The `loop` namespace: attach, info, list, find, resize, detach, each with a Sync twin, written once as ioctl
// steps (./steps.ts). Validation comes first and sends nothing; a failed attach clears what it bound.
import { closeSync, constants, openSync } from 'node:fs'
import { constants as os } from 'node:os'
import { DmError, invalid, withCleanupError } from '../core/errors'
import type { NativeLoopConfig, NativeLoopStatus } from '../core/native'
import {
  LOOP_CONTROL, LoFlags, decodeKernelDev, decodeStatDev, ensureLoopControl, ensureLoopNode, fsError, loopError, openLoop, resolveLoop, toInfo,
} from './device'
import { ioctl, runAsync, runSync, sleep, type Steps } from './steps'
import { boundNumbers } from './sysfs'
import type { LoopAttachOptions, LoopDeviceRef, LoopInfo } from './types'
import { checkAttach, statBacking, type AttachPlan } from './validate'

const { EBUSY, EINVAL, ENOTTY, ENOSYS, ENXIO, ENOENT } = os.errno
/** Another process can take the free device between LOOP_CTL_GET_FREE and LOOP_CONFIGURE: try again this often. */
const ATTACH_ATTEMPTS = 32

function notAttached(err: number): string | undefined {
  return err === ENXIO ? 'not attached' : undefined
}

function* status(fd: number, path: string): Steps<NativeLoopStatus> {
  const s = yield* ioctl('getStatus', fd)
  if (s.errno !== 0) throw loopError(s.errno, 'LOOP_GET_STATUS64', path, notAttached(s.errno))
  return s as NativeLoopStatus
}

/** LOOP_CLR_FD after a failed step of attach; a failure to clear is added to the original error. */
function* clearAfter(fd: number, path: string, error: unknown): Steps<never> {
  const err = yield* ioctl('clrFd', fd)
  throw err === 0 ? error : withCleanupError(error, loopError(err, 'LOOP_CLR_FD', path), 'detaching the half-attached device')
}

function openBacking(plan: AttachPlan): number {
  const flags = (plan.readOnly ? constants.O_RDONLY : constants.O_RDWR) | (plan.directIo ? constants.O_DIRECT : 0)
  try {
    return openSync(plan.file, flags)
  } catch (err) {
    if (plan.directIo && (err as NodeJS.ErrnoException).code === 'EINVAL') {
      throw invalid('attach', 'directIo', 'cannot be used: the backing file\'s filesystem does not support O_DIRECT', plan.file)
    }
    throw fsError(err, 'open', plan.file, 'file')
  }
}

/** Binds the file to the device open on fd: 'busy' if someone else bound it first. */
function* bind(fd: number, fileFd: number, plan: AttachPlan, path: string): Steps<'bound' | 'busy'> {
  const flags = (plan.readOnly ? LoFlags.READ_ONLY : 0) | (plan.autoclear ? LoFlags.AUTOCLEAR : 0)
    | (plan.partscan ? LoFlags.PARTSCAN : 0) | (plan.directIo ? LoFlags.DIRECT_IO : 0)
  const cfg: NativeLoopConfig = { offset: plan.offset, sizeLimit: plan.sizeLimit, flags, blockSize: plan.blockSize, fileName: plan.file }
  if (!plan.legacy) {
    const err = yield* ioctl('configure', fd, fileFd, cfg)
    if (err === 0) return 'bound'
    if (err === EBUSY) return 'busy'
    // Kernels before 5.8 do not know LOOP_CONFIGURE (EINVAL or ENOTTY); a genuine EINVAL recurs below.
    if (err !== EINVAL && err !== ENOTTY && err !== ENOSYS) throw loopError(err, 'LOOP_CONFIGURE', path)
  }
  const err = yield* ioctl('setFd', fd, fileFd)
  if (err === EBUSY) return 'busy'
  if (err !== 0) throw loopError(err, 'LOOP_SET_FD', path)
  // LOOP_SET_STATUS64 sets only autoclear and partscan; read-only came from the file's open mode.
  const steps: [string, () => Steps<number>][] = [
    ['LOOP_SET_STATUS64', () => ioctl('setStatus', fd, { ...cfg, flags: flags & (LoFlags.AUTOCLEAR | LoFlags.PARTSCAN) })],
  ]
  if (plan.blockSize) steps.push(['LOOP_SET_BLOCK_SIZE', () => ioctl('setBlockSize', fd, plan.blockSize)])
  if (plan.directIo) steps.push(['LOOP_SET_DIRECT_IO', () => ioctl('setDirectIo', fd, true)])
  for (const [operation, step] of steps) {
    const e = yield* step()
    if (e !== 0) yield* clearAfter(fd, path, loopError(e, operation, path))
  }
  return 'bound'
}

function* attachSteps(plan: AttachPlan): Steps<LoopInfo> {
  const fileFd = openBacking(plan)
  let ctl: number | undefined
  try {
    try {
      ctl = openSync(ensureLoopControl(), constants.O_RDWR)
    } catch (err) {
      throw fsError(err, 'open', LOOP_CONTROL)
    }
    for (let attempt = 1; ; attempt++) {
      const free = yield* ioctl('getFree', ctl)
      if (free.errno !== 0) throw loopError(free.errno, 'LOOP_CTL_GET_FREE', LOOP_CONTROL)
      const n = free.number!
      const path = ensureLoopNode(n)
      const fd = openLoop(path, 'attach', constants.O_RDWR)
      try {
        if ((yield* bind(fd, fileFd, plan, path)) === 'busy') {
          if (attempt >= ATTACH_ATTEMPTS) {
            throw loopError(EBUSY, plan.legacy ? 'LOOP_SET_FD' : 'LOOP_CONFIGURE', path, `every free device was taken by someone else (${attempt} attempts)`)
          }
          yield* sleep(Math.min(attempt, 20))
          continue
        }
        // Read back before our close: with autoclear and no other opener the kernel frees the device then.
        let info: LoopInfo
        try {
          info = toInfo(n, yield* status(fd, path))
        } catch (err) {
          return yield* clearAfter(fd, path, err)
        }
        if (plan.directIo && !info.directIo) {
          // The kernel quietly falls back to buffered I/O when the offset or block size does not suit the file's filesystem.
          yield* clearAfter(fd, path, invalid('attach', 'directIo', `was refused by the kernel (offset ${plan.offset} or block size not aligned to the backing filesystem)`, plan.file))
        }
        return info
      } finally {
        closeSync(fd)
      }
    }
  } finally {
    if (ctl !== undefined) closeSync(ctl)
    closeSync(fileFd)
  }
}

function* readSteps(ref: LoopDeviceRef, operation: string): Steps<{ info: LoopInfo; status: NativeLoopStatus }> {
  const { number, path } = resolveLoop(ref, operation)
  // Opened read-only: enough as root, and udev sees no change event on close. (Closing is harmless: a bound
  // autoclear device has another opener, or the kernel would have freed it.)
  const fd = openLoop(path, operation)
  try {
    const s = yield* status(fd, path)
    return { info: toInfo(number, s), status: s }
  } finally {
    closeSync(fd)
  }
}

function* infoSteps(ref: LoopDeviceRef): Steps<LoopInfo> {
  return (yield* readSteps(ref, 'info')).info
}

function* listAll(operation: string): Steps<{ info: LoopInfo; status: NativeLoopStatus }[]> {
  const out: { info: LoopInfo; status: NativeLoopStatus }[] = []
  for (const n of boundNumbers()) {
    try {
      out.push(yield* readSteps(n, operation))
    } catch (err) {
      // detached (or removed) between the sysfs listing and the ioctl
      if (err instanceof DmError && (err.errno === ENXIO || err.errno === ENOENT)) continue
      throw err
    }
  }
  return out
}

function* listSteps(): Steps<LoopInfo[]> {
  return (yield* listAll('list')).map((e) => e.info)
}

function* findSteps(file: string): Steps<LoopInfo[]> {
  const { st } = statBacking(file, 'find')
  const dev = decodeStatDev(st.dev)
  return (yield* listAll('find'))
    .filter(({ status }) => {
      const back = decodeKernelDev(status.device)
      return status.inode === st.ino && back.major === dev.major && back.minor === dev.minor
    })
    .map((e) => e.info)
}

function* resizeSteps(ref: LoopDeviceRef): Steps<LoopInfo> {
  const { number, path } = resolveLoop(ref, 'resize')
  const fd = openLoop(path, 'resize')
  try {
    const err = yield* ioctl('setCapacity', fd)
    if (err !== 0) throw loopError(err, 'LOOP_SET_CAPACITY', path, notAttached(err))
    return toInfo(number, yield* status(fd, path))
  } finally {
    closeSync(fd)
  }
}

function* detachSteps(ref: LoopDeviceRef): Steps<void> {
  const { path } = resolveLoop(ref, 'detach')
  const fd = openLoop(path, 'detach')
  try {
    // With other openers (a dm table, udev's blkid) the kernel sets autoclear and detaches at their last close.
    const err = yield* ioctl('clrFd', fd)
    if (err !== 0) throw loopError(err, 'LOOP_CLR_FD', path, notAttached(err))
  } finally {
    closeSync(fd)
  }
}

// In-process attaches take turns: LOOP_CTL_GET_FREE names the same device to every caller until one binds it,
// so concurrent attaches would mostly collide. Other processes are handled by the EBUSY retry.
let attachTurn: Promise<unknown> = Promise.resolve()

function inTurn<T>(fn: () => Promise<T>): Promise<T> {
  const run = attachTurn.then(fn, fn)
  attachTurn = run.catch(() => undefined)
  return run
}

/** Loop devices by ioctl: bind a file to /dev/loopN, read one back, list, find by file, grow, detach. */
export const loop = {
  /** Binds `file` to a free loop device (LOOP_CTL_GET_FREE + LOOP_CONFIGURE) and returns its info. */
  async attach(file: string, options?: LoopAttachOptions): Promise<LoopInfo> {
    const plan = checkAttach(file, options)
    return inTurn(() => runAsync(attachSteps(plan)))
  },
  attachSync(file: string, options?: LoopAttachOptions): LoopInfo {
    return runSync(attachSteps(checkAttach(file, options)))
  },
  /** One loop device, by path or number; ENXIO if it is not attached. */
  async info(device: LoopDeviceRef): Promise<LoopInfo> {
    return runAsync(infoSteps(device))
  },
  infoSync(device: LoopDeviceRef): LoopInfo {
    return runSync(infoSteps(device))
  },
  /** Every attached loop device, by number. */
  async list(): Promise<LoopInfo[]> {
    return runAsync(listSteps())
  },
  listSync(): LoopInfo[] {
    return runSync(listSteps())
  },
  /** The loop devices backed by `file` (same filesystem device and inode, so renames do not matter). */
  async find(file: string): Promise<LoopInfo[]> {
    return runAsync(findSteps(file))
  },
  findSync(file: string): LoopInfo[] {
    return runSync(findSteps(file))
  },
  /** LOOP_SET_CAPACITY: the device takes the backing file's new size; returns the new info. */
  async resize(device: LoopDeviceRef): Promise<LoopInfo> {
    return runAsync(resizeSteps(device))
  },
  resizeSync(device: LoopDeviceRef): LoopInfo {
    return runSync(resizeSteps(device))
  },
  /** LOOP_CLR_FD; while others hold the device open the kernel detaches it at their last close. */
  async detach(device: LoopDeviceRef): Promise<void> {
    return runAsync(detachSteps(device))
  },
  detachSync(device: LoopDeviceRef): void {
    runSync(detachSteps(device))
  },
}

export type Loop = typeof loop
