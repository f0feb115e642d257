// The native addon's shape, declared in one place, and its loader: a prebuild for this platform first, then
// the local node-gyp build (found by `bindings`), then the cmake-js build.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { DmError } from './errors'

export interface NativeTarget {
  start: number | bigint
  length: number | bigint
  type: string
  params: string
}

export interface NativeRequest {
  /** a Buffer is sent byte for byte (names need not be UTF-8) */
  name?: string | Buffer
  uuid?: string
  major?: number
  minor?: number
  flags?: number
  /** udev cookie (resume, remove, rename) or the last event seen (DEV_WAIT) */
  eventNr?: number
  targets?: NativeTarget[]
  /** new name or uuid (DEV_RENAME), geometry (DEV_SET_GEOMETRY), message text (TARGET_MSG) */
  data?: string
  sector?: number | bigint
}

export interface NativeReply {
  version: [number, number, number]
  flags: number
  eventNr: number
  openCount: number
  targetCount: number
  major: number
  minor: number
  name: string
  /** the name's exact bytes, present only when they are not valid UTF-8 (then `name` has U+FFFD in their place) */
  nameBuffer?: Buffer
  uuid: string
  bufferSize: number
  targets?: NativeTarget[]
  deps?: { major: number; minor: number }[]
  devices?: { name: string; nameBuffer?: Buffer; major: number; minor: number; eventNr?: number; uuid?: string }[]
  versions?: { name: string; version: [number, number, number] }[]
  data?: string
}

export type Command =
  | 'version' | 'removeAll' | 'listDevices' | 'devCreate' | 'devRemove' | 'devRename' | 'devSuspend'
  | 'devStatus' | 'devWait' | 'tableLoad' | 'tableClear' | 'tableDeps' | 'tableStatus' | 'listVersions'
  | 'targetMsg' | 'devSetGeometry' | 'devArmPoll' | 'getTargetVersion'

export type BatchRequest = NativeRequest & { cmd: number }
export type BatchResult = (NativeReply | { error: DmError })[]

export type NativeControl = {
  [C in Command]: (req?: NativeRequest) => Promise<NativeReply>
} & {
  [C in Command as `${C}Sync`]: (req?: NativeRequest) => NativeReply
} & {
  batch(reqs: BatchRequest[]): Promise<BatchResult>
  batchSync(reqs: BatchRequest[]): BatchResult
  close(): void
  fd(): number
}

/** libdm's udev cookie semaphores and mknod (native/udev.cc); failures come back as errno numbers. */
export interface NativeUdev {
  cookieCreate(flags: number): { semid: number; cookie: number } | { errno: number }
  cookieComplete(semid: number): number
  cookieWait(semid: number, timeoutMs: number): Promise<number>
  cookieWaitSync(semid: number, timeoutMs: number): number
  cookieRemove(semid: number): number
  mknod(path: string, major: number, minor: number, mode: number): number
}

/** A libuv poll handle on an fd (native/poll.cc); calls back on POLLIN, never keeps the loop alive unless ref'd. */
export interface NativePoller {
  start(): void
  stop(): void
  ref(): void
  unref(): void
  close(): void
}

export interface NativeAddon {
  Control: new (path?: string) => NativeControl
  Poller: new (fd: number, onReadable: (errno: number, events: number) => void) => NativePoller
  udev: NativeUdev
  setErrorClass(cls: typeof DmError): void
  commands: Record<Command, { nr: number; name: string; minVersion: [number, number, number] }>
}

function load(): NativeAddon {
  // dist/core/native.js in the package, build/ts/core/native.js when the tests compile the sources
  const root = [join(__dirname, '..', '..'), join(__dirname, '..', '..', '..')].find((d) => existsSync(join(d, 'binding.gyp')))!
  const prebuilds = join(root, 'prebuilds', `${process.platform}-${process.arch}`)
  if (existsSync(prebuilds)) {
    const file = readdirSync(prebuilds).find((f) => f.endsWith('.node'))
    if (file) return require(join(prebuilds, file)) as NativeAddon
  }
  const cmake = join(root, 'build-cmake', 'Release', 'devmapper.node')
  try {
    return require('bindings')({ bindings: 'devmapper', module_root: root }) as NativeAddon
  } catch (err) {
    if (existsSync(cmake)) return require(cmake) as NativeAddon
    throw err
  }
}

export const native: NativeAddon = load()
native.setErrorClass(DmError)
