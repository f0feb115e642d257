// The native addon's shape, declared in one place, and its loader: node-gyp-build's choice (the local node-gyp
// build, else the best prebuild for this platform), falling back past files that fail to load, then the cmake-js build.
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
  name?: string
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
  uuid: string
  bufferSize: number
  targets?: NativeTarget[]
  deps?: { major: number; minor: number }[]
  devices?: { name: string; major: number; minor: number; eventNr?: number; uuid?: string }[]
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
native.setErrorClass(DmError)
