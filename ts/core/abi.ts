// The kernel's reply layout (<linux/dm-ioctl.h>) and its decoders. The native layer hands back the reply bytes
// as the kernel wrote them (the dm_ioctl header, then the payload); these functions turn them into the
// NativeReply shapes. Reading a few fields off a Buffer is far cheaper than building each one through N-API.
// Every offset here is also a static_assert in native/dm_abi.h; test/unit/abi.test.ts keeps the two equal.
// Pure functions, no native import: the unit tests decode fixed byte fixtures.
import { isAscii, isUtf8 } from 'node:buffer'

/** struct dm_ioctl: the header of every request and reply. */
export const DM_IOCTL = {
  size: 312,
  version: 0,
  data_size: 12,
  data_start: 16,
  target_count: 20,
  open_count: 24,
  flags: 28,
  event_nr: 32,
  dev: 40,
  name: 48,
  uuid: 176,
} as const
export const DM_NAME_LEN = 128
export const DM_UUID_LEN = 129

/** struct dm_target_spec: one target of a TABLE_STATUS / DEV_WAIT reply, followed by its text. */
export const DM_TARGET_SPEC = { size: 40, sector_start: 0, length: 8, status: 16, next: 20, target_type: 24 } as const
export const DM_MAX_TYPE_NAME = 16

/** struct dm_target_deps: TABLE_DEPS reply. */
export const DM_TARGET_DEPS = { count: 0, dev: 8 } as const

/** struct dm_name_list: one LIST_DEVICES record; from interface 4.37 an event_nr, flags and uuid follow the name. */
export const DM_NAME_LIST = { dev: 0, next: 8, name: 12 } as const
export const DM_NAME_LIST_FLAG_HAS_UUID = 1

/** struct dm_target_versions: one LIST_VERSIONS / GET_TARGET_VERSION record. */
export const DM_TARGET_VERSIONS = { next: 0, version: 4, name: 16 } as const

const DATA_OUT_FLAG = 1 << 16

export type Triple = [number, number, number]

export interface ReplyTarget {
  start: number | bigint
  length: number | bigint
  type: string
  params: string
}

export interface ReplyDevice {
  name: string
  /** the name's exact bytes, present only when they are not valid UTF-8 (then `name` has U+FFFD in their place) */
  nameBuffer?: Buffer
  major: number
  minor: number
  eventNr?: number
  uuid?: string
}

export interface DecodedReply {
  version: Triple
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
  /** size of the reply the kernel wrote (header + payload) */
  bufferSize: number
  targets?: ReplyTarget[]
  deps?: { major: number; minor: number }[]
  devices?: ReplyDevice[]
  versions?: { name: string; version: Triple }[]
  data?: string
}

/** What a command's payload holds. */
export type PayloadKind = 'none' | 'targets' | 'deps' | 'devices' | 'versions' | 'message'

const TWO_32 = 2 ** 32

/**
 * A u64 as a number when it is a safe integer (below 2^53), else a bigint: never a silently rounded value. 2^53
 * itself is a bigint too: as a number it is also what 2^53 + 1 rounds to, so it could not be told apart.
 */
function u64(b: Buffer, at: number): number | bigint {
  const lo = b.readUInt32LE(at)
  const hi = b.readUInt32LE(at + 4)
  return hi < 0x200000 ? hi * TWO_32 + lo : b.readBigUInt64LE(at)
}

/** The kernel's "huge" dev_t encoding: major in bits 8..19, minor in bits 0..7 and 20..31. */
export function devMajor(lo: number): number {
  return (lo & 0xfff00) >>> 8
}
export function devMinor(lo: number): number {
  return (lo & 0xff) | ((lo >>> 12) & 0xfff00)
}

/**
 * A reply's bytes, and the same bytes as a one-byte (latin1) string: strings are cut from it with indexOf and
 * slice instead of one Buffer-to-string call each (a C++ call per name is most of a 1,000-device list's cost).
 * Offsets are the same in both. A string with bytes >= 0x80 is decoded again as UTF-8.
 */
interface Src {
  b: Buffer
  text: string
  ascii: boolean
}

function source(b: Buffer, len: number): Src {
  // isAscii is one SIMD pass: worth it where there are many strings to check
  return { b, text: b.toString('latin1', 0, len), ascii: len > 1024 && isAscii(b.subarray(0, len)) }
}

/** Where the NUL-terminated bytes at `at` end: their NUL, or limit if there is none before it. */
function strEnd(src: Src, at: number, limit: number): number {
  if (at >= limit) return limit
  const end = src.text.indexOf('\0', at)
  return end < 0 || end > limit ? limit : end
}

/** Whether b[at, end) has a byte >= 0x80: a loop over a short name beats a regex over a slice of it. */
function hasHigh(b: Buffer, at: number, end: number): boolean {
  for (let i = at; i < end; i++) if (b[i] > 0x7f) return true
  return false
}

/** The NUL-terminated string at [at, limit), never reading past limit even if the NUL is missing. */
function str(src: Src, at: number, limit: number): string {
  const end = strEnd(src, at, limit)
  if (end <= at) return ''
  return src.ascii || !hasHigh(src.b, at, end) ? src.text.slice(at, end) : src.b.toString('utf8', at, end)
}

/**
 * Sets `name` from the NUL-terminated bytes at [at, limit), and `nameBuffer` when they are not valid UTF-8;
 * returns where the name ends.
 */
function setName(o: { name: string; nameBuffer?: Buffer }, src: Src, at: number, limit: number): number {
  const end = strEnd(src, at, limit)
  if (end <= at || src.ascii || !hasHigh(src.b, at, end)) {
    o.name = end <= at ? '' : src.text.slice(at, end)
    return end
  }
  o.name = src.b.toString('utf8', at, end)
  const bytes = src.b.subarray(at, end)
  if (!isUtf8(bytes)) o.nameBuffer = Buffer.from(bytes)
  return end
}

function triple(b: Buffer, at: number): Triple {
  return [b.readUInt32LE(at), b.readUInt32LE(at + 4), b.readUInt32LE(at + 8)]
}

/** Decodes one reply: b[0 .. len), the header and payload as the kernel returned them. */
export function decodeReply(kind: PayloadKind, b: Buffer, len = b.length): DecodedReply {
  const H = DM_IOCTL
  const src = source(b, len)
  const dev = b.readUInt32LE(H.dev)
  const r: DecodedReply = {
    version: triple(b, H.version),
    flags: b.readUInt32LE(H.flags),
    eventNr: b.readUInt32LE(H.event_nr),
    openCount: b.readInt32LE(H.open_count),
    targetCount: b.readUInt32LE(H.target_count),
    major: devMajor(dev),
    minor: devMinor(dev),
    name: '',
    uuid: str(src, H.uuid, H.uuid + DM_UUID_LEN),
    bufferSize: len,
  }
  setName(r, src, H.name, H.name + DM_NAME_LEN)
  if (kind === 'none') return r
  // The payload is [data_start, data_size) of the header the kernel returned, clamped to the bytes we have.
  const start = Math.min(b.readUInt32LE(H.data_start), len)
  const end = Math.min(Math.max(b.readUInt32LE(H.data_size), start), len)
  switch (kind) {
    case 'targets':
      r.targets = decodeTargets(src, start, end, r.targetCount)
      break
    case 'deps':
      r.deps = decodeDeps(b, start, end)
      break
    case 'devices':
      r.devices = decodeDevices(src, start, end, r.version[0] > 4 || (r.version[0] === 4 && r.version[1] >= 37))
      break
    case 'versions':
      r.versions = decodeVersions(src, start, end)
      break
    case 'message':
      if (r.flags & DATA_OUT_FLAG) r.data = str(src, start, end)
      break
  }
  return r
}

/** dm_target_spec records; `next` is relative to the payload start in replies and must move forward. */
function decodeTargets(src: Src, start: number, end: number, count: number): ReplyTarget[] {
  const S = DM_TARGET_SPEC
  const b = src.b
  const out: ReplyTarget[] = []
  let off = 0
  for (let i = 0; i < count; i++) {
    const p = start + off
    if (p + S.size > end) break
    out.push({
      start: u64(b, p + S.sector_start),
      length: u64(b, p + S.length),
      type: str(src, p + S.target_type, p + S.target_type + DM_MAX_TYPE_NAME),
      params: str(src, p + S.size, end),
    })
    const next = b.readUInt32LE(p + S.next)
    if (next <= off && i + 1 < count) break
    off = next
  }
  return out
}

function decodeDeps(b: Buffer, start: number, end: number): { major: number; minor: number }[] {
  const out: { major: number; minor: number }[] = []
  if (start + DM_TARGET_DEPS.dev > end) return out
  const count = b.readUInt32LE(start + DM_TARGET_DEPS.count)
  for (let i = 0; i < count; i++) {
    const at = start + DM_TARGET_DEPS.dev + i * 8
    if (at + 8 > end) break
    const lo = b.readUInt32LE(at)
    out.push({ major: devMajor(lo), minor: devMinor(lo) })
  }
  return out
}

/** dm_name_list records; `extended` (4.37+): an aligned event_nr, flags and maybe a uuid follow each name. */
function decodeDevices(src: Src, start: number, end: number, extended: boolean): ReplyDevice[] {
  const L = DM_NAME_LIST
  const b = src.b
  const out: ReplyDevice[] = []
  let p = start
  while (p + L.name <= end) {
    const lo = b.readUInt32LE(p + L.dev)
    if (lo === 0 && b.readUInt32LE(p + L.dev + 4) === 0) break // an empty list is one zeroed record
    const next = b.readUInt32LE(p + L.next)
    // Names are raw bytes to the kernel; a foreign device's odd name must not break listing.
    // the shape of a ListedDevice (toList passes it on as is): uuid only when set, eventNr when the kernel has it
    const d: ReplyDevice = { name: '', major: devMajor(lo), minor: devMinor(lo) }
    const nameEnd = setName(d, src, p + L.name, end)
    if (extended) {
      // The extension is aligned relative to the payload start, as the kernel lays it out.
      const ext = start + ((nameEnd + 1 - start + 7) & ~7)
      if (ext + 8 <= end && (next === 0 || ext + 8 <= p + next)) {
        const uuid = b.readUInt32LE(ext + 4) & DM_NAME_LIST_FLAG_HAS_UUID ? str(src, ext + 8, end) : ''
        if (uuid) d.uuid = uuid
        d.eventNr = b.readUInt32LE(ext)
      }
    }
    out.push(d)
    if (next === 0) break
    p += next
  }
  return out
}

function decodeVersions(src: Src, start: number, end: number): { name: string; version: Triple }[] {
  const V = DM_TARGET_VERSIONS
  const b = src.b
  const out: { name: string; version: Triple }[] = []
  let p = start
  while (p + V.name <= end) {
    out.push({ name: str(src, p + V.name, end), version: triple(b, p + V.version) })
    const next = b.readUInt32LE(p + V.next)
    if (next === 0) break
    p += next
  }
  return out
}

/** Frames of a multi-reply (native AppendFrame): u32 errno, u32 length, the bytes, padding to 8. */
export function readFrames(b: Buffer): { errno: number; bytes: Buffer }[] {
  const out: { errno: number; bytes: Buffer }[] = []
  let p = 0
  while (p + 8 <= b.length) {
    const errno = b.readUInt32LE(p)
    const len = b.readUInt32LE(p + 4)
    out.push({ errno, bytes: b.subarray(p + 8, Math.min(p + 8 + len, b.length)) })
    p += 8 + ((len + 7) & ~7)
  }
  return out
}
