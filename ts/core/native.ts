// The native addon's shape, declared in one place, and its loader: node-gyp-build's choice (the local node-gyp
// build, else the best prebuild for this platform), falling back past files that fail to load, then the cmake-js build;
// or exactly the file DEVMAPPER_NATIVE names (the sanitizer builds of scripts/build-sanitize.sh), with no fallback.
// The addon's Control answers with the kernel's reply bytes; the Control exported here decodes them (abi.ts),
// so callers see NativeReply objects.
import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { decodeReply, readFrames, type DecodedReply, type PayloadKind } from './abi'
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

export type NativeReply = DecodedReply

export type Command =
  | 'version' | 'removeAll' | 'listDevices' | 'devCreate' | 'devRemove' | 'devRename' | 'devSuspend'
  | 'devStatus' | 'devWait' | 'tableLoad' | 'tableClear' | 'tableDeps' | 'tableStatus' | 'listVersions'
  | 'targetMsg' | 'devSetGeometry' | 'devArmPoll' | 'getTargetVersion'

/**
 * A batch entry. Once a request fails the rest are skipped, except an entry with `ifOk: i`: it is sent iff
 * entry i succeeded, whatever failed since (the resume after a failed message).
 */
export type BatchRequest = NativeRequest & { cmd: number; ifOk?: number }
/** One entry per request: its reply, its error, or undefined when it was skipped after a failure. */
export type BatchResult = (NativeReply | { error: DmError } | undefined)[]

export type NativeControl = {
  [C in Command]: (req?: NativeRequest) => Promise<NativeReply>
} & {
  [C in Command as `${C}Sync`]: (req?: NativeRequest) => NativeReply
} & {
  batch(reqs: BatchRequest[]): Promise<BatchResult>
  batchSync(reqs: BatchRequest[]): BatchResult
  /** LIST_DEVICES and every device's TABLE_STATUS with `flags`, in one native call: the status replies */
  statusAll(flags: number): Promise<NativeReply[]>
  statusAllSync(flags: number): NativeReply[]
  close(): void
  fd(): number
}

type RawBatchResult = (Buffer | { error: DmError } | undefined)[]

/**
 * One command's arguments as the addon takes them: positional, so a cheap command costs no property reads;
 * `major` -1 addresses by name or uuid; `payload` (the request itself) is read only by the commands that carry
 * targets, data or a sector.
 */
type RawArgs = [name: string | Buffer | undefined, uuid: string | undefined, flags: number, eventNr: number, major: number, minor: number, payload: NativeRequest]

/** The addon's Control: replies as bytes, statusAll as framed replies (abi.ts readFrames). */
type RawControl = {
  [C in Command]: (...args: RawArgs) => Promise<Buffer>
} & {
  /** the reply's length when it fitted into `scratch`, else the reply in a new Buffer */
  [C in Command as `${C}Sync`]: (...args: [...RawArgs, scratch: Buffer]) => Buffer | number
} & {
  batch(reqs: BatchRequest[]): Promise<RawBatchResult>
  batchSync(reqs: BatchRequest[]): RawBatchResult
  statusAll(flags: number): Promise<Buffer>
  statusAllSync(flags: number): Buffer
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
  semGetVal(semid: number): { value: number } | { errno: number }
  /** a block node; with `char`, a character node */
  mknod(path: string, major: number, minor: number, mode: number, char?: boolean): number
}

/**
 * A libuv poll handle (native/poll.cc); calls back on POLLIN, never keeps the loop alive unless ref'd.
 * start(fd, onReadable) opens a handle on the fd (which the caller owns) and holds the callback until close(),
 * which closes the handle (not the fd); the same Poller can start again, on any fd.
 */
export interface NativePoller {
  start(fd: number, onReadable: (errno: number, events: number) => void): void
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
  Poller: new () => NativePoller
  udev: NativeUdev
  lock: NativeLock
  loop: NativeLoop
  /** Every failed open or ioctl becomes what `make` returns; the native side passes numbers, no names. */
  setErrorFactory(make: (errno: number, operation: string, device: string) => Error): void
  /** The C library's description of an errno ('Device or resource busy'). */
  strerror(errno: number): string
  commands: Record<Command, { nr: number; name: string; minVersion: [number, number, number] }>
}

const SCRATCH_BYTES = 16 * 1024
const SCRATCH_MAX = 1024 * 1024
const SECURE_DATA = 1 << 15

/** What each command's reply payload holds. */
const PAYLOAD: Record<Command, PayloadKind> = {
  version: 'none', removeAll: 'none', listDevices: 'devices', devCreate: 'none', devRemove: 'none',
  devRename: 'none', devSuspend: 'none', devStatus: 'none', devWait: 'targets', tableLoad: 'none',
  tableClear: 'none', tableDeps: 'deps', tableStatus: 'targets', listVersions: 'versions', targetMsg: 'message',
  devSetGeometry: 'none', devArmPoll: 'none', getTargetVersion: 'versions',
}

type RawAddon = Omit<NativeAddon, 'Control'> & { Control: new (path?: string) => RawControl }

/** The addon's Control with every reply decoded. */
function decodingControl(raw: RawControl, commands: NativeAddon['commands']): NativeControl {
  const kindByNr: PayloadKind[] = []
  const c: Record<string, unknown> = {}
  // Sync replies land here when they fit: the JS thread decodes one before it can send the next. It grows to the
  // longest reply seen (up to SCRATCH_MAX), so a repeated long listing allocates nothing either.
  let scratch = Buffer.alloc(SCRATCH_BYTES)
  for (const [name, kind] of Object.entries(PAYLOAD) as [Command, PayloadKind][]) {
    kindByNr[commands[name].nr] = kind
    const send = raw[name]
    const sendSync = raw[`${name}Sync`]
    c[name] = (req: NativeRequest = {}) =>
      send.call(raw, req.name, req.uuid, req.flags ?? 0, req.eventNr ?? 0, req.major ?? -1, req.minor ?? 0, req).then((b) => decodeReply(kind, b))
    c[`${name}Sync`] = (req: NativeRequest = {}) => {
      const r = sendSync.call(raw, req.name, req.uuid, req.flags ?? 0, req.eventNr ?? 0, req.major ?? -1, req.minor ?? 0, req, scratch)
      const secure = (req.flags ?? 0) & SECURE_DATA
      if (typeof r !== 'number') {
        if (r.length <= SCRATCH_MAX) scratch = Buffer.alloc(r.length * 2)
        const reply = decodeReply(kind, r)
        if (secure) r.fill(0)
        return reply
      }
      const reply = decodeReply(kind, scratch, r)
      if (secure) scratch.fill(0, 0, r) // a crypt key in a table reply
      return reply
    }
  }
  const batchReply = (reqs: BatchRequest[], rs: RawBatchResult): BatchResult =>
    rs.map((r, i) => (r instanceof Uint8Array ? decodeReply(kindByNr[reqs[i].cmd], r) : r))
  const statusReplies = (b: Buffer): NativeReply[] => readFrames(b).map((f) => decodeReply('targets', f.bytes))
  c.batch = (reqs: BatchRequest[]) => raw.batch(reqs).then((rs) => batchReply(reqs, rs))
  c.batchSync = (reqs: BatchRequest[]) => batchReply(reqs, raw.batchSync(reqs))
  c.statusAll = (flags: number) => raw.statusAll(flags).then(statusReplies)
  c.statusAllSync = (flags: number) => statusReplies(raw.statusAllSync(flags))
  c.close = () => raw.close()
  c.fd = () => raw.fd()
  return c as NativeControl
}

/** The raw addon with its Control wrapped: `new native.Control(path)` gives the decoding wrapper. */
function decoding(addon: RawAddon): NativeAddon {
  const RawControl = addon.Control
  // a constructor returning an object yields that object
  const Control = function (path?: string) {
    return decodingControl(new RawControl(path), addon.commands)
  } as unknown as NativeAddon['Control']
  return { ...addon, Control }
}

/**
 * The addon's candidates, best first: node-gyp-build's pick (DEVMAPPER_PREBUILD, build/Release, or the best
 * prebuild for this platform, arch, libc and N-API), then every other matching prebuild, then the cmake-js build.
 * node-gyp-build names one file and does not fall back, so a prebuild that fails to load (a foreign or broken
 * file, a glibc too old for it) is skipped here and the next is tried; the error lists every attempt.
 */
export function loadAddon(root: string): RawAddon {
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
      return require(file) as RawAddon
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

/** DEVMAPPER_NATIVE=<file>: that build or an error, never a silent fallback to another one. */
function loadNative(): RawAddon {
  const file = process.env.DEVMAPPER_NATIVE
  return file ? (require(resolve(file)) as RawAddon) : loadAddon(packageRoot())
}

export const native: NativeAddon = decoding(loadNative())
native.setErrorFactory((errno, operation, device) => kernelError(errno, operation, device, native.strerror(errno)))
