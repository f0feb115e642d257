// The facade's public request and reply shapes.
import type { NativeControl } from './native'
import type { SectorsOptions } from './table'
import type { UdevCallOptions, UdevMode } from './udev'
import type { NameMangling } from './validate'

/**
 * A device: its name (a string, or a Buffer with the exact bytes of a name that is not valid UTF-8), or
 * `{ name }`, `{ uuid }`, `{ major, minor }`.
 */
export type DeviceRef = string | Buffer | { name: string | Buffer } | { uuid: string } | { major: number; minor: number }

export interface Version {
  major: number
  minor: number
  patch: number
}

export interface DeviceInfo {
  name: string
  /** the name's exact bytes when they are not valid UTF-8 (`name` then shows U+FFFD for them): address the device with it */
  nameBuffer?: Buffer
  uuid: string
  major: number
  minor: number
  openCount: number
  eventNr: number
  targetCount: number
  suspended: boolean
  readOnly: boolean
  activeTable: boolean
  inactiveTable: boolean
  deferredRemove: boolean
  /** the node to open: /dev/mapper/<name> (made by udev or by devmapper, see the `udev` option) */
  path: string
}

export interface ListedDevice {
  name: string
  /**
   * The name's exact bytes, present only when they are not valid UTF-8: `name` then has U+FFFD in their place
   * and may equal another device's name. Address such a device by this Buffer or by `{ major, minor }`.
   */
  nameBuffer?: Buffer
  major: number
  minor: number
  uuid?: string
  eventNr?: number
}

export interface CreateOptions extends UdevCallOptions {
  uuid?: string
  readOnly?: boolean
}

export interface RemoveOptions extends UdevCallOptions {
  /** remove at last close instead of failing with EBUSY while open */
  deferred?: boolean
  /** EBUSY retries before giving up (default from the DeviceMapper options, 10) */
  retries?: number
}

export interface SuspendOptions {
  noFlush?: boolean
  skipLockfs?: boolean
}

export interface Geometry {
  cylinders: number
  heads: number
  sectors: number
  start: number
}

export interface DeviceMapperOptions {
  /** the control device (default /dev/mapper/control) */
  controlPath?: string
  /**
   * A stand-in for the native control object (the binding seam): tests of rollback, retry and udev ordering
   * pass a fake here (test/fakes/control.ts). Default: the addon's Control on `controlPath`.
   */
  control?: NativeControl
  /** EBUSY retries on remove (default 10) */
  removeRetries?: number
  /** first EBUSY backoff delay in ms, doubled per retry up to 500 ms (default 10) */
  removeRetryDelayMs?: number
  /** who makes /dev/mapper/<name>: 'auto' (default: udev if running, else devmapper), 'udev', 'manual', 'none' */
  udev?: UdevMode
  /** longest wait for udev to confirm a resume, remove or rename, in ms (default 30000) */
  udevTimeoutMs?: number
  /**
   * Names dmsetup and udev cannot take as they are (anything but A-Z a-z 0-9 # + - . : = @ _): 'reject'
   * (default: EINVAL at create and rename), 'hex' (mangled as libdm and dmsetup do, `a b` -> `a\x20b`, also
   * when addressing), or 'none' (sent as given).
   */
  nameMangling?: NameMangling
  /**
   * devmapper's mark on the devices it creates: every create gets a uuid starting with this prefix (the
   * caller's uuid after it, or a random one), so that removeHalfMade() can find and clear devices a killed
   * process left without a live table. Default: none (uuids are the caller's).
   */
  uuidPrefix?: string
}

/** table()'s options: the inactive slot instead of the live one; start and length as bigints. */
export interface TableOptions extends SectorsOptions {
  inactive?: boolean
}

/** status()'s options: `noFlush` keeps a thin-pool from committing first; start and length as bigints. */
export interface StatusOptions extends SectorsOptions {
  noFlush?: boolean
}
