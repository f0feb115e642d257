// The reply decoders (ts/core/abi.ts): offsets against the static_asserts of native/dm_abi.h, and fixed byte
// fixtures laid out by hand the way the kernel writes them (drivers/md/dm-ioctl.c).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import {
  DM_IOCTL, DM_NAME_LIST, DM_TARGET_DEPS, DM_TARGET_SPEC, DM_TARGET_VERSIONS, decodeReply, readFrames,
} from '../../ts/core/abi'

const ROOT = join(__dirname, '..', '..', '..')
const header = readFileSync(join(ROOT, 'native', 'dm_abi.h'), 'utf8')

/** `struct.field` -> offset, and `struct` -> size, from the static_asserts the C++ build checks. */
function asserted(): Map<string, number> {
  const m = new Map<string, number>()
  for (const [, s, f, n] of header.matchAll(/offsetof\(struct (\w+), (\w+)\) == (\d+)/g)) m.set(`${s}.${f}`, Number(n))
  for (const [, s, n] of header.matchAll(/sizeof\(struct (\w+)\) == (\d+)/g)) m.set(s, Number(n))
  return m
}

t.test('every offset abi.ts uses is the one dm_abi.h asserts, and every assert is used', async (t) => {
  const c = asserted()
  const layouts: Record<string, Record<string, number>> = {
    dm_ioctl: DM_IOCTL, dm_target_spec: DM_TARGET_SPEC, dm_target_deps: DM_TARGET_DEPS,
    dm_name_list: DM_NAME_LIST, dm_target_versions: DM_TARGET_VERSIONS,
  }
  const seen = new Set<string>()
  for (const [struct, fields] of Object.entries(layouts)) {
    for (const [field, off] of Object.entries(fields)) {
      const key = field === 'size' ? struct : `${struct}.${field}`
      t.equal(off, c.get(key), key)
      seen.add(key)
    }
  }
  // dm_target_msg is only packed in C++; everything else asserted is decoded in TypeScript
  const unused = [...c.keys()].filter((k) => !seen.has(k) && !k.startsWith('dm_target_msg'))
  t.same(unused, [], 'asserted in dm_abi.h but not in abi.ts')
})

/** A reply buffer: the header with the given fields, then `payload` at data_start = 312. */
function reply(h: { version?: number[]; flags?: number; event?: number; open?: number; targets?: number; dev?: [number, number]; name?: string; uuid?: string }, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(312 + payload.length)
  const [ma, mi, pa] = h.version ?? [4, 47, 0]
  b.writeUInt32LE(ma, 0)
  b.writeUInt32LE(mi, 4)
  b.writeUInt32LE(pa, 8)
  b.writeUInt32LE(312 + payload.length, 12)
  b.writeUInt32LE(312, 16)
  b.writeUInt32LE(h.targets ?? 0, 20)
  b.writeInt32LE(h.open ?? 0, 24)
  b.writeUInt32LE(h.flags ?? 0, 28)
  b.writeUInt32LE(h.event ?? 0, 32)
  if (h.dev) b.writeBigUInt64LE(encodeDev(...h.dev), 40)
  b.write(h.name ?? '', 48)
  b.write(h.uuid ?? '', 176)
  payload.copy(b, 312)
  return b
}

function encodeDev(major: number, minor: number): bigint {
  return BigInt((minor & 0xff) | (major << 8)) | (BigInt(minor & ~0xff) << 12n)
}

const pad8 = (n: number): number => (n + 7) & ~7

t.test('header fields', async (t) => {
  const r = decodeReply('none', reply({ flags: 0x22, event: 7, open: 2, targets: 1, dev: [253, 0x12345], name: 'vol-a', uuid: 'LVM-x' }))
  t.same(r, {
    version: [4, 47, 0], flags: 0x22, eventNr: 7, openCount: 2, targetCount: 1, major: 253, minor: 0x12345,
    name: 'vol-a', uuid: 'LVM-x', bufferSize: 312,
  })
  // a name filling all 128 bytes without a NUL stops at the field's end
  const full = reply({ name: 'n'.repeat(128) })
  t.equal(decodeReply('none', full).name, 'n'.repeat(128))
})

t.test('TABLE_STATUS: targets chained by next (relative to the payload), u64 above 2^53 as bigint', async (t) => {
  const specs: Buffer[] = []
  let off = 0
  const targets = [
    { start: 0n, length: 2048n, type: 'linear', params: '7:0 0' },
    { start: 2048n, length: 2n ** 60n, type: 'thin-pool', params: '1 2/3 4/5 - rw' },
  ]
  for (const x of targets) {
    const len = pad8(40 + x.params.length + 1)
    const s = Buffer.alloc(len)
    s.writeBigUInt64LE(x.start, 0)
    s.writeBigUInt64LE(x.length, 8)
    off += len
    s.writeUInt32LE(off, 20)
    s.write(x.type, 24)
    s.write(x.params, 40)
    specs.push(s)
  }
  const r = decodeReply('targets', reply({ targets: 2 }, Buffer.concat(specs)))
  t.same(r.targets, [
    { start: 0, length: 2048, type: 'linear', params: '7:0 0' },
    { start: 2048, length: 2n ** 60n, type: 'thin-pool', params: '1 2/3 4/5 - rw' },
  ])
  t.same(decodeReply('targets', reply({ targets: 0 })).targets, [])
})

t.test('TABLE_DEPS: count, then encoded dev_t values', async (t) => {
  const p = Buffer.alloc(8 + 16)
  p.writeUInt32LE(2, 0)
  p.writeBigUInt64LE(encodeDev(7, 3), 8)
  p.writeBigUInt64LE(encodeDev(253, 300), 16)
  t.same(decodeReply('deps', reply({}, p)).deps, [{ major: 7, minor: 3 }, { major: 253, minor: 300 }])
  // a count past the payload's end stops at the end
  p.writeUInt32LE(9, 0)
  t.equal(decodeReply('deps', reply({}, p)).deps!.length, 2)
})

/** LIST_DEVICES records as dm-ioctl.c lays them out from 4.37: name, aligned event_nr + flags, uuid. */
function nameList(devs: { name: string; dev: [number, number]; event: number; uuid?: string }[]): Buffer {
  const parts: Buffer[] = []
  let at = 0
  devs.forEach((d, i) => {
    const ext = pad8(12 + Buffer.byteLength(d.name) + 1)
    const len = pad8(ext + 8 + (d.uuid ? d.uuid.length + 1 : 0))
    const r = Buffer.alloc(len)
    r.writeBigUInt64LE(encodeDev(...d.dev), 0)
    r.writeUInt32LE(i + 1 < devs.length ? len : 0, 8)
    r.write(d.name, 12)
    r.writeUInt32LE(d.event, ext)
    r.writeUInt32LE(d.uuid ? 1 : 2, ext + 4)
    if (d.uuid) r.write(d.uuid, ext + 8)
    parts.push(r)
    at += len
  })
  return Buffer.concat(parts)
}

t.test('LIST_DEVICES: names, dev numbers, event counters and uuids (4.37+)', async (t) => {
  const p = nameList([
    { name: 'a', dev: [253, 0], event: 3, uuid: 'CRYPT-1' },
    { name: 'seven-chars', dev: [253, 1], event: 0 },
    { name: 'x'.repeat(20), dev: [253, 512], event: 9, uuid: 'u' },
  ])
  t.same(decodeReply('devices', reply({}, p)).devices, [
    { name: 'a', major: 253, minor: 0, eventNr: 3, uuid: 'CRYPT-1' },
    { name: 'seven-chars', major: 253, minor: 1, eventNr: 0 },
    { name: 'x'.repeat(20), major: 253, minor: 512, eventNr: 9, uuid: 'u' },
  ])
  // before 4.37 the records carry only dev and name
  t.same(decodeReply('devices', reply({ version: [4, 36, 0] }, p)).devices!.map((d) => Object.keys(d)), [
    ['name', 'major', 'minor'], ['name', 'major', 'minor'], ['name', 'major', 'minor'],
  ])
  // no devices: one zeroed record
  t.same(decodeReply('devices', reply({}, Buffer.alloc(16))).devices, [])
})

t.test('LIST_VERSIONS: chained records of name and version', async (t) => {
  const recs = [{ name: 'linear', v: [1, 4, 0] }, { name: 'thin-pool', v: [1, 23, 0] }]
  const parts = recs.map((r, i) => {
    const len = pad8(16 + r.name.length + 1)
    const b = Buffer.alloc(len)
    b.writeUInt32LE(i + 1 < recs.length ? len : 0, 0)
    r.v.forEach((n, k) => b.writeUInt32LE(n, 4 + 4 * k))
    b.write(r.name, 16)
    return b
  })
  t.same(decodeReply('versions', reply({}, Buffer.concat(parts))).versions, [
    { name: 'linear', version: [1, 4, 0] },
    { name: 'thin-pool', version: [1, 23, 0] },
  ])
})

t.test('TARGET_MSG: the reply text only with DM_DATA_OUT_FLAG', async (t) => {
  const p = Buffer.from('stats 1\0\0\0\0\0\0\0\0')
  t.equal(decodeReply('message', reply({ flags: 1 << 16 }, p)).data, 'stats 1')
  t.equal(decodeReply('message', reply({}, p)).data, undefined)
})

t.test('frames of a multi-reply: errno, length, bytes, padding to 8', async (t) => {
  const b = Buffer.alloc(8 + 8 + 8 + 16)
  b.writeUInt32LE(0, 0)
  b.writeUInt32LE(3, 4)
  b.write('abc', 8)
  b.writeUInt32LE(6, 16)
  b.writeUInt32LE(9, 20)
  b.write('123456789', 24)
  t.same(readFrames(b).map((f) => [f.errno, f.bytes.toString()]), [[0, 'abc'], [6, '123456789']])
})

t.test('names with bytes above 0x7f decode as UTF-8, in short and long replies', async (t) => {
  t.equal(decodeReply('none', reply({ name: 'vol-ü' })).name, 'vol-ü')
  const many = Array.from({ length: 40 }, (_, i) => ({ name: `dev-${i}-${'x'.repeat(20)}`, dev: [253, i] as [number, number], event: i }))
  const ascii = decodeReply('devices', reply({}, nameList(many))).devices!
  t.equal(ascii.length, 40)
  t.equal(ascii[39].name, `dev-39-${'x'.repeat(20)}`)
  many[7].name = 'snapshot-ä-€'
  const mixed = decodeReply('devices', reply({}, nameList(many))).devices!
  t.equal(mixed[7].name, 'snapshot-ä-€')
  t.equal(mixed[8].name, `dev-8-${'x'.repeat(20)}`, 'records after it are found at the right offsets')
})
