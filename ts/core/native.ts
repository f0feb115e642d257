// The native addon's shape, declared in one place, and its loader: node-gyp-build's choice (the local node-gyp
// build, else the best prebuild for this platform), falling back past files that fail to load, then the cmake-js build.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { kernelError, type DmError } from './errors'

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

/** flock(2) and BLKDISCARD (native/lock.cc): 0 or the errno number. */
export interface NativeLock {
  flock(fd: number, op: number): number
  blkdiscard(fd: number, start: number, length: number): number
  LOCK_SH: number
  LOCK_EX: number
  LOCK_NB: number
  LOCK_UN: number
}

/** What LOOP_CONFIGURE / LOOP_SET_STATUS64 set: byte offsets, LO_FLAGS_* bits, the name cut to 63 bytes. */
export interface NativeLoopConfig {
  offset: number
  sizeLimit: number
  flags: number
  /** LOOP_CONFIGURE only; 0 keeps the default */
  blockSize?: number
  fileName: string
}

/** LOOP_GET_STATUS64's loop_info64; device numbers in the kernel's huge_encode_dev form. */
export interface NativeLoopStatus {
  errno: 0
  device: bigint
  inode: bigint
  rdevice: bigint
  offset: number
  sizeLimit: number
  number: number
  flags: number
  fileName: string
}

/** The loop-device ioctls (native/loop.cc) on fds opened by TypeScript; failures come back as errno numbers. */
export interface NativeLoop {
  getFree(controlFd: number): Promise<{ errno: number; number?: number }>
  getFreeSync(controlFd: number): { errno: number; number?: number }
  configure(fd: number, fileFd: number, config: NativeLoopConfig): Promise<number>
  configureSync(fd: number, fileFd: number, config: NativeLoopConfig): number
  setFd(fd: number, fileFd: number): Promise<number>
  setFdSync(fd: number, fileFd: number): number
  setStatus(fd: number, status: NativeLoopConfig): Promise<number>
  setStatusSync(fd: number, status: NativeLoopConfig): number
  getStatus(fd: number): Promise<NativeLoopStatus | { errno: number }>
  getStatusSync(fd: number): NativeLoopStatus | { errno: number }
  clrFd(fd: number): Promise<number>
  clrFdSync(fd: number): number
  setCapacity(fd: number): Promise<number>
  setCapacitySync(fd: number): number
  setDirectIo(fd: number, on: boolean): Promise<number>
  setDirectIoSync(fd: number, on: boolean): number
  setBlockSize(fd: number, bytes: number): Promise<number>
  setBlockSizeSync(fd: number, bytes: number): number
}

export interface NativeAddon {
  Control: new (path?: string) => NativeControl
  Poller: new (fd: number, onReadable: (errno: number, events: number) => void) => NativePoller
  udev: NativeUdev
  lock: NativeLock
  loop: NativeLoop
  /** Every failed open or ioctl becomes what `make` returns; the native side passes numbers, no names. */
  setErrorFactory(make: (errno: number, operation: string, device: string) => Error): void
  /** The C library's description of an errno ('Device or resource busy'). */
  strerror(errno: number): string
  commands: Record<Command, { nr: number; name: string; minVersion: [number, number, number] }>
}

/**
 * The addon's candidates, best first: node-gyp-build's pick (DEVMAPPER_PREBUILD, build/Release, or the best
 * prebuild for this platform, arch, libc and N-API), then every other matching prebuild, then the cmake-js build.
 * node-gyp-build names one file and does not fall back, so a prebuild that fails to load (a foreign or broken
 * file, a glibc too old for it) is skipped here and the next is tried; the error lists every attempt.
 */
export function loadAddon(root: string): NativeAddon {
  const gypBuild = require('node-gyp-build') as NodeGypBuild
  const candidates: string[] = []
  const failures: string[] = []
  try {
    candidates.push(gypBuild.resolve(root))
  } catch (err) {
    failures.push((err as Error).message.trim().replace(/\s*\n\s*/g, '; '))
  }
  const prebuilds = join(root, 'prebuilds')
  const tuples = existsSync(prebuilds) ? readdirSync(prebuilds).map(gypBuild.parseTuple) : []
  for (const tuple of tuples.filter(gypBuild.matchTuple(process.platform, process.arch)).sort(gypBuild.compareTuples)) {
    const dir = join(prebuilds, tuple.name)
    const tags = readdirSync(dir).map(gypBuild.parseTags).filter(gypBuild.matchTags('node', process.versions.modules))
    candidates.push(...tags.sort(gypBuild.compareTags('node')).map((t) => join(dir, t.file)))
  }
  candidates.push(join(root, 'build-cmake', 'Release', 'devmapper.node'))
  for (const file of new Set(candidates)) {
    if (!existsSync(file)) continue
    try {
      return require(file) as NativeAddon
    } catch (err) {
      failures.push(`${file}: ${(err as Error).message.split('\n')[0]}`)
    }
  }
  throw new Error(
    `devmapper: could not load the native addon.\n  ${failures.join('\n  ') || 'no build and no prebuild found'}\n` +
      'Build it from source with `npm rebuild devmapper --build-from-source` (needs g++, make and python3).',
  )
}

/** The parts of node-gyp-build's loader used above (it exports its tag matching for reuse). */
type Tuple = { name: string; platform: string; architectures: string[] }
type Tags = { file: string }
interface NodeGypBuild {
  resolve(dir: string): string
  parseTuple(name: string): Tuple | undefined
  matchTuple(platform: string, arch: string): (t: Tuple | undefined) => t is Tuple
  compareTuples(a: Tuple, b: Tuple): number
  parseTags(file: string): Tags | undefined
  matchTags(runtime: string, abi: string): (t: Tags | undefined) => t is Tags
  compareTags(runtime: string): (a: Tags, b: Tags) => number
}

function packageRoot(): string {
  // dist/core/native.js in the package, build/ts/core/native.js when the tests compile the sources
  const root = [join(__dirname, '..', '..'), join(__dirname, '..', '..', '..')].find((d) => existsSync(join(d, 'binding.gyp')))
  if (!root) throw new Error(`devmapper: no package root (binding.gyp) above ${__dirname}`)
  return root
}

export const native: NativeAddon = loadAddon(packageRoot())
native.setErrorFactory((errno, operation, device) => kernelError(errno, operation, device, native.strerror(errno)))
