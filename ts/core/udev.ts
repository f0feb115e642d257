// How devmapper cooperates with udev, per operation that makes the kernel send a uevent (resume, remove, rename):
// - 'udev': libdm's cookie protocol, so the stock 55-dm.rules / 95-dm-notify.rules make /dev/mapper/<name> and
//   tell us (`dmsetup udevcomplete <cookie>`) when they are done. The wait is bounded, and the semaphore is
//   removed on every path, including timeouts and failed ioctls (leaked SysV semaphores have exhausted hosts).
//   Once udev has confirmed, the node is checked and repaired if udev left it wrong (libdm's
//   verify_udev_operations): a no-op when udev did its job, and the fix when a restarted udevd lost its
//   database or rules disabled the link. UdevFlags.DISABLE_LIBRARY_FALLBACK turns the check off.
// - 'manual': no udev; the library makes, moves and removes /dev/mapper/<name> itself (ts/nodes.ts) and tells any
//   udev that might be running to keep its hands off (DISABLE_DM_RULES | DISABLE_SUBSYSTEM_RULES).
// - 'none': neither; the caller manages nodes (devtmpfs always provides /dev/dm-<minor>).
// - 'auto' (default): 'udev' while udev runs (/run/udev/control exists) and SysV semaphores work, else 'manual'.
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { DmError, errnoName, invalid } from './errors'
import { Flags } from './flags'
import { native, type NativeReply } from './native'
import { ensureNode, removeNode, renameNode } from './nodes'
import { checkUint } from './validate'

export type UdevMode = 'auto' | 'udev' | 'manual' | 'none'

/** libdm's DM_UDEV_* flags, carried to the rules in the high 16 bits of the cookie. */
export const UdevFlags = {
  DISABLE_DM_RULES: 0x01,
  DISABLE_SUBSYSTEM_RULES: 0x02,
  DISABLE_DISK_RULES: 0x04,
  DISABLE_OTHER_RULES: 0x08,
  LOW_PRIORITY: 0x10,
  DISABLE_LIBRARY_FALLBACK: 0x20,
  PRIMARY_SOURCE: 0x40,
  /**
   * Preset for private devices (pool internals, metadata/data sub-devices): udev still links /dev/mapper/<name>
   * but runs no subsystem, disk or other rules, so blkid and friends never open (and briefly hold) the device,
   * a common cause of EBUSY on remove.
   */
  PRIVATE: 0x02 | 0x04 | 0x08,
} as const

/** Per-call udev options, accepted by create, resume, remove and rename. */
export interface UdevCallOptions {
  /** UdevFlags bits for this operation's uevent, e.g. UdevFlags.PRIVATE */
  udevFlags?: number
}

export const UDEV_CONTROL = '/run/udev/control'
export const DEFAULT_UDEV_TIMEOUT_MS = 30_000
const COOKIE_FLAGS_SHIFT = 16
const NO_UDEV_FLAGS = UdevFlags.DISABLE_DM_RULES | UdevFlags.DISABLE_SUBSYSTEM_RULES | UdevFlags.PRIMARY_SOURCE

const udev = native.udev

/** What the library does to /dev/mapper once the operation succeeded (when it manages nodes). */
export type NodeAction = { node: 'add' } | { node: 'remove' } | { node: 'rename'; from?: string; to: string }

/** One cookie-carrying operation in flight: begin() it, put eventNr in the request, then run()/runSync() it. */
export interface Ticket {
  readonly operation: string
  readonly device: string
  /** dm_ioctl.event_nr: the cookie (udev mode) or flags with base 0 */
  readonly eventNr: number
  readonly semid?: number
  readonly nodes: boolean
  readonly action: NodeAction
}

export class UdevSync {
  readonly mode: UdevMode
  readonly timeoutMs: number
  /** false once semget said ENOSYS (kernel without SysV IPC): 'auto' then means 'manual' for good */
  #semaphores = true

  constructor(mode: UdevMode = 'auto', timeoutMs: number = DEFAULT_UDEV_TIMEOUT_MS) {
    if (!['auto', 'udev', 'manual', 'none'].includes(mode)) {
      throw invalid('DeviceMapper', 'udev', `must be 'auto', 'udev', 'manual' or 'none', got '${String(mode)}'`)
    }
    this.mode = mode
    this.timeoutMs = checkUint(timeoutMs, 'DeviceMapper', 'udevTimeoutMs', 0x7fffffff)
  }

  /** The mode an operation starting now uses; 'auto' is decided per call, so it follows udev starting or stopping. */
  effectiveMode(): 'udev' | 'manual' | 'none' {
    if (this.mode !== 'auto') return this.mode
    return this.#semaphores && existsSync(UDEV_CONTROL) ? 'udev' : 'manual'
  }

  /** Prepares one operation: validates the per-call flags and, in udev mode, creates its cookie semaphore. */
  begin(operation: string, device: string, callFlags: number | undefined, action: NodeAction, mode = this.effectiveMode()): Ticket {
    const flags = callFlags === undefined ? 0 : checkUint(callFlags, operation, 'udevFlags', 0xffff, device)
    if (mode === 'none') return { operation, device, eventNr: cookie(flags, 0), nodes: false, action }
    if (mode === 'manual') return { operation, device, eventNr: cookie(flags | NO_UDEV_FLAGS, 0), nodes: true, action }
    if (!existsSync(UDEV_CONTROL)) {
      throw new DmError({
        message: `${operation} ${device}: udev mode, but udev is not running (no ${UDEV_CONTROL}); use udev: 'auto' or 'manual'`,
        code: 'ENOTCONN',
        operation: 'udev',
        device,
      })
    }
    const made = udev.cookieCreate(flags | UdevFlags.PRIMARY_SOURCE)
    if ('errno' in made) {
      if (this.mode === 'auto' && made.errno === constants.errno.ENOSYS) {
        this.#semaphores = false
        return this.begin(operation, device, callFlags, action)
      }
      throw new DmError({
        message: `${operation} ${device}: cannot create the udev cookie semaphore (${errnoName(made.errno)})`,
        code: errnoName(made.errno),
        operation: 'semget',
        device,
      })
    }
    const verify = (flags & UdevFlags.DISABLE_LIBRARY_FALLBACK) === 0
    return { operation, device, eventNr: made.cookie >>> 0, semid: made.semid, nodes: verify, action }
  }

  /**
   * Sends the operation, then settles the cookie: udev's reference is dropped by us if the ioctl failed or sent
   * no uevent; otherwise we wait (off the JS thread) for udev to finish. `reply` picks the cookie-carrying
   * ioctl's reply out of the result (a batch returns several), or returns nothing if it failed or never ran.
   */
  async run<T>(t: Ticket, send: () => Promise<T>, reply: (r: T) => unknown = (r) => r): Promise<T> {
    let result: T
    try {
      result = await send()
    } catch (err) {
      this.#discard(t)
      throw err
    }
    const r = okReply(reply(result))
    if (t.semid !== undefined) {
      if (r !== undefined && (r.flags & Flags.UEVENT_GENERATED) !== 0) {
        this.#check(t, await udev.cookieWait(t.semid, this.timeoutMs))
      } else {
        this.#discard(t)
      }
    }
    if (t.nodes && r !== undefined) applyNodes(t, r)
    return result
  }

  runSync<T>(t: Ticket, send: () => T, reply: (r: T) => unknown = (r) => r): T {
    let result: T
    try {
      result = send()
    } catch (err) {
      this.#discard(t)
      throw err
    }
    const r = okReply(reply(result))
    if (t.semid !== undefined) {
      if (r !== undefined && (r.flags & Flags.UEVENT_GENERATED) !== 0) {
        this.#check(t, udev.cookieWaitSync(t.semid, this.timeoutMs))
      } else {
        this.#discard(t)
      }
    }
    if (t.nodes && r !== undefined) applyNodes(t, r)
    return result
  }

  /**
   * DM_REMOVE_ALL carries no cookie; in manual mode the nodes of the devices it removed go here.
   * `before` and `after` are the device names listed around it.
   */
  removedAll(before: readonly string[], after: readonly string[]): void {
    if (this.effectiveMode() !== 'manual') return
    const left = new Set(after)
    for (const name of before) if (!left.has(name)) removeNode(name)
  }

  /**
   * No uevent carries this cookie (the ioctl failed, never ran, or changed nothing), so nobody but us can hold
   * a reference: removing it is libdm's complete + drop + wait collapsed into one call.
   */
  #discard(t: Ticket): void {
    if (t.semid !== undefined) udev.cookieRemove(t.semid)
  }

  #check(t: Ticket, errno: number): void {
    if (errno === 0) return
    const cookieHex = `0x${t.eventNr.toString(16)}`
    if (errno === constants.errno.EAGAIN) {
      throw new DmError({
        message:
          `${t.operation} ${t.device}: the kernel did it, but udev did not confirm cookie ${cookieHex} within ` +
          `${this.timeoutMs} ms (is systemd-udevd running and are the dmsetup udev rules installed?); ` +
          'the cookie semaphore was removed',
        code: 'ETIMEDOUT',
        operation: 'udev',
        device: t.device,
      })
    }
    throw new DmError({
      message: `${t.operation} ${t.device}: waiting for udev on cookie ${cookieHex} failed (${errnoName(errno)})`,
      code: errnoName(errno),
      errno,
      operation: 'semop',
      device: t.device,
    })
  }
}

function cookie(flags: number, base: number): number {
  return ((flags << COOKIE_FLAGS_SHIFT) | base) >>> 0
}

function okReply(r: unknown): NativeReply | undefined {
  return r !== null && typeof r === 'object' && 'flags' in r ? (r as NativeReply) : undefined
}

function applyNodes(t: Ticket, r: NativeReply): void {
  const a = t.action
  // A name that is not UTF-8 has no exact string form: /dev/mapper is never touched under a lossy one (that
  // path may be another device's node); such devices are reached at /dev/dm-<minor>.
  if (r.nameBuffer) return
  if (a.node === 'add') ensureNode(r.name, r.major, r.minor)
  else if (a.node === 'rename') renameNode(a.from, a.to, r.major, r.minor)
  // A deferred remove of an open device leaves it (and its node) in place until the last close.
  else if ((r.flags & Flags.DEFERRED_REMOVE) === 0) removeNode(r.name || t.device)
}
