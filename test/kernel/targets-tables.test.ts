// Every typed builder loaded into the kernel: dm.table() gives back the typed fields that were built (devices
// as major:minor), dmsetup prints the same line, and status parsers read the live status lines.
import { execFileSync, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, statSync } from 'node:fs'
import { inspect } from 'node:util'
import { t, type Test } from 'tap'
import { CryptKey, formatTable, type TargetInput } from '../../ts'
import { devPath, dm, dmsetup, loopDevice, name, readDevice, sh, sweep, writeDevice } from './helpers'
import { activeOf, statusOf, tableOf } from './narrow'

t.teardown(sweep)

/** 'major:minor' of a block device node. */
function devno(path: string): string {
  const rdev = statSync(path).rdev
  return `${(rdev >> 8) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`
}

/** Table fields without the raw params, start filled in. */
function typed(targets: Record<string, unknown>[]): Record<string, unknown>[] {
  return targets.map(({ params: _, ...rest }) => rest)
}

function dmsetupLines(n: string, ...flags: string[]): string {
  return dmsetup('table', ...flags, n).split('\n').map((l) => l.trim()).filter(Boolean).join('\n')
}

/** Creates `table`, checks the typed read-back against `expected` and dmsetup's line against formatTable. */
async function roundTrip(t: Test, n: string, table: TargetInput[], expected: Record<string, unknown>[], showKeys = false, readOnly = false) {
  await dm.create(n, table, { readOnly })
  const read = await dm.table(n)
  t.same(typed(read), expected, `${n}: dm.table() is what was built`)
  t.equal(dmsetupLines(n, ...(showKeys ? ['--showkeys'] : [])), formatTable(expected as TargetInput[], { showKeys }), `${n}: dmsetup table prints the same line`)
  t.equal(formatTable(read, { showKeys }), formatTable(expected as TargetInput[], { showKeys }))
  return read
}

/** Loads kernel modules the sandbox does not preload (dm-crypt needs the cbc/xts ciphers first). */
function insmod(...modules: string[]): void {
  const release = sh('uname', ['-r']).trim()
  const root = `/usr/lib/uml/modules/${release}/kernel`
  const find = (m: string): string | undefined => {
    const walk = (dir: string): string | undefined => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = `${dir}/${e.name}`
        if (e.isDirectory()) {
          const hit = walk(p)
          if (hit) return hit
        } else if (e.name === `${m}.ko`) return p
      }
      return undefined
    }
    return walk(root)
  }
  for (const m of modules) {
    const path = find(m)
    if (!path) throw new Error(`module ${m} is not in ${root}`)
    try {
      sh('insmod', [path])
    } catch {
      // already loaded
    }
  }
}

t.test('linear, zero, error: concatenated, devices by path, major:minor and { major, minor }', async (t) => {
  const a = loopDevice(4)
  const b = loopDevice(4)
  const [A, B] = [devno(a.path), devno(b.path)]
  const [maj, min] = B.split(':').map(Number)
  const read = await roundTrip(t, name('lin'), [
    { length: 2048, type: 'linear', device: a.path, offset: 0 },
    { length: 4096, type: 'linear', device: { major: maj, minor: min }, offset: 2048 },
    { length: 8, type: 'zero' },
    { length: 8, type: 'error' },
  ], [
    { start: 0, length: 2048, type: 'linear', device: A, offset: 0 },
    { start: 2048, length: 4096, type: 'linear', device: B, offset: 2048 },
    { start: 6144, length: 8, type: 'zero' },
    { start: 6152, length: 8, type: 'error' },
  ])
  t.equal(read[1].params, `${B} 2048`)
  const st = await dm.status(name('lin'))
  t.same(st.map((s) => s.type), ['linear', 'linear', 'zero', 'error'])
})

t.test('striped: table and live status', async (t) => {
  const a = loopDevice(8)
  const b = loopDevice(8)
  const [A, B] = [devno(a.path), devno(b.path)]
  const n = name('stripe')
  await roundTrip(t, n, [{ length: 8192, type: 'striped', chunkSize: 128, stripes: [{ device: a.path, offset: 0 }, { device: B, offset: 1024 }] }],
    [{ start: 0, length: 8192, type: 'striped', chunkSize: 128, stripes: [{ device: A, offset: 0 }, { device: B, offset: 1024 }] }])
  const st = statusOf((await dm.status(n))[0], 'striped')
  t.same(st.stripes, [{ device: A, health: 'A' }, { device: B, health: 'A' }])
  t.equal(dmsetup('status', n).trim(), `0 8192 striped 2 ${A} ${B} 1 AA`)
})

t.test('snapshot-origin and snapshot with discard features', async (t) => {
  const o = loopDevice(8)
  const c = loopDevice(8)
  const [O, C] = [devno(o.path), devno(c.path)]
  await roundTrip(t, name('origin'), [{ length: 16384, type: 'snapshot-origin', origin: o.path }], [{ start: 0, length: 16384, type: 'snapshot-origin', origin: O }])
  // a snapshot of a live origin is loaded with the origin suspended (dm-snap.c's handover rule)
  await dm.suspend(name('origin'))
  const read = await roundTrip(t, name('snap'),
    [{ length: 16384, type: 'snapshot', origin: o.path, cow: c.path, persistent: 'PO', chunkSize: 16, features: ['discard_zeroes_cow', 'discard_passdown_origin'] }],
    [{ start: 0, length: 16384, type: 'snapshot', origin: O, cow: C, persistent: 'PO', chunkSize: 16, features: ['discard_zeroes_cow', 'discard_passdown_origin'] }])
  await dm.resume(name('origin'))
  t.equal(read[0].params, `${O} ${C} PO 16 2 discard_zeroes_cow discard_passdown_origin`)
  const [st] = await dm.status(name('snap'))
  t.match(st, { state: 'active', allocatedSectors: Number, totalSectors: 16384, metadataSectors: Number })
})

t.test('thin-pool with features, thin with an external origin', async (t) => {
  const meta = loopDevice(8)
  const data = loopDevice(64)
  const ext = loopDevice(8)
  const [M, D, E] = [devno(meta.path), devno(data.path), devno(ext.path)]
  writeDevice(meta.path, 0, Buffer.alloc(4096))
  const pool = name('pool')
  await roundTrip(t, pool,
    [{ length: 131072, type: 'thin-pool', metadataDevice: meta.path, dataDevice: data.path, dataBlockSize: 256, lowWaterMark: 10, features: ['skip_block_zeroing', 'no_discard_passdown', 'error_if_no_space'] }],
    [{ start: 0, length: 131072, type: 'thin-pool', metadataDevice: M, dataDevice: D, dataBlockSize: 256, lowWaterMark: 10, features: ['skip_block_zeroing', 'no_discard_passdown', 'error_if_no_space'] }])
  await dm.message(pool, 0, 'create_thin 7')
  const P = devno(devPath(pool))
  await roundTrip(t, name('thin'), [{ length: 16384, type: 'thin', pool: devPath(pool), deviceId: 7, externalOrigin: ext.path }],
    [{ start: 0, length: 16384, type: 'thin', pool: P, deviceId: 7, externalOrigin: E }])
  const [st] = await dm.status(name('thin'))
  t.same(st, { ...st, state: 'active', mappedSectors: 0, highestMappedSector: null })
  const [ps] = await dm.status(pool)
  t.match(ps, { state: 'active', mode: 'rw', discards: 'no_discard_passdown', noSpacePolicy: 'error', needsCheck: false, totalDataBlocks: 512 })
})

t.test('flakey: features round-trip; a down device fails reads, drop_writes loses writes', async (t) => {
  const a = loopDevice(4)
  const A = devno(a.path)
  const corrupt = { corruptBioByte: 32, direction: 'r', value: 1, flags: 0 }
  await roundTrip(t, name('fl'), [{ length: 8192, type: 'flakey', device: a.path, offset: 0, upInterval: 1, downInterval: 1, features: [corrupt] }],
    [{ start: 0, length: 8192, type: 'flakey', device: A, offset: 0, upInterval: 1, downInterval: 1, features: [corrupt] }])
  t.same((await dm.status(name('fl')))[0], { start: 0, length: 8192, type: 'flakey', params: '' }, 'flakey has no status fields')
  // up 0 s, down 60 s: always down
  await roundTrip(t, name('down'), [{ length: 8192, type: 'flakey', device: a.path, offset: 0, upInterval: 0, downInterval: 60 }],
    [{ start: 0, length: 8192, type: 'flakey', device: A, offset: 0, upInterval: 0, downInterval: 60, features: [] }])
  t.throws(() => readDevice(devPath(name('down')), 0, 512), 'reads fail while down')
  writeDevice(a.path, 4096, Buffer.alloc(512, 0x11))
  await roundTrip(t, name('drop'), [{ length: 8192, type: 'flakey', device: a.path, offset: 0, upInterval: 0, downInterval: 60, features: ['drop_writes'] }],
    [{ start: 0, length: 8192, type: 'flakey', device: A, offset: 0, upInterval: 0, downInterval: 60, features: ['drop_writes'] }])
  writeDevice(devPath(name('drop')), 4096, Buffer.alloc(512, 0x22))
  t.same(readDevice(devPath(name('drop')), 4096, 512), Buffer.alloc(512, 0x11), 'the write was dropped, reads still work')
})

t.test('delay: three classes; status counts a write in flight', async (t) => {
  // writes are the delayed class: udev's probe reads the new device and must not wait
  const a = loopDevice(4)
  const b = loopDevice(8)
  const [A, B] = [devno(a.path), devno(b.path)]
  const n = name('delay')
  await roundTrip(t, n,
    [{ length: 8192, type: 'delay', device: a.path, offset: 0, delay: 0, write: { device: b.path, offset: 0, delay: 1500 }, flush: { device: B, offset: 8, delay: 0 } }],
    [{ start: 0, length: 8192, type: 'delay', device: A, offset: 0, delay: 0, write: { device: B, offset: 0, delay: 1500 }, flush: { device: B, offset: 8, delay: 0 } }])
  t.same((await dm.status(n))[0], { start: 0, length: 8192, type: 'delay', params: '0 0 0', reads: 0, writes: 0, flushes: 0 })
  const writer = spawn('dd', ['if=/dev/zero', `of=${devPath(n)}`, 'bs=4096', 'count=1', 'oflag=direct', 'conv=notrunc', 'status=none'])
  const done = new Promise((resolve) => writer.on('exit', resolve))
  await new Promise((r) => setTimeout(r, 500))
  const [busy] = await dm.status(n)
  t.match(busy, { reads: 0, writes: 1, flushes: 0 }, `a delayed write is in flight: ${busy.params}`)
  t.equal(await done, 0)
  t.match((await dm.status(n))[0], { writes: 0 })
})

t.test('crypt: key round-trips under SECURE_DATA, masked when printed', async (t) => {
  insmod('cbc', 'ecb', 'xts', 'encrypted-keys', 'dm-crypt')
  t.ok((await dm.targetVersions()).some((v) => v.name === 'crypt'), 'dm-crypt is loaded (the sandbox does not preload cbc/xts, so this test insmods them)')
  const a = loopDevice(4)
  const A = devno(a.path)
  const key = randomBytes(64).toString('hex')
  const n = name('crypt')
  const read = await roundTrip(t, n,
    [{ length: 8192, type: 'crypt', cipher: 'aes-xts-plain64', key, ivOffset: 0, device: a.path, offset: 0, options: ['allow_discards'] }],
    [{ start: 0, length: 8192, type: 'crypt', cipher: 'aes-xts-plain64', key: new CryptKey(key), ivOffset: 0, device: A, offset: 0, options: ['allow_discards'] }], true)
  const readKey = tableOf(read[0], 'crypt').key
  t.ok(readKey instanceof CryptKey)
  t.equal(readKey.reveal(), key, 'the key read back under SECURE_DATA is the key loaded')
  t.equal(read[0].params, `aes-xts-plain64 ${key} 0 ${A} 0 1 allow_discards`)
  for (const printed of [inspect(read), JSON.stringify(read), formatTable(read)]) t.notOk(printed.includes(key.slice(0, 16)), 'key not printed')
  t.equal(formatTable(read), `0 8192 crypt aes-xts-plain64 <redacted> 0 ${A} 0 1 allow_discards`)
  // the data really is encrypted with that key
  const plain = Buffer.alloc(4096, 'secret plaintext ')
  writeDevice(devPath(n), 0, plain)
  t.same(readDevice(devPath(n), 0, 4096), plain)
  t.notOk(readDevice(a.path, 0, 4096).includes('secret plaintext'), 'the backing device holds ciphertext')
  // reloading the read-back table (params kept, non-enumerable) gives the same mapping
  await dm.load(n, read)
  await dm.resume(n)
  t.same(readDevice(devPath(n), 0, 4096), plain)
})

t.test('cache: table echoes features and policy args; status parsed', async (t) => {
  const meta = loopDevice(8)
  const fast = loopDevice(8)
  const slow = loopDevice(16)
  const [M, F, S] = [devno(meta.path), devno(fast.path), devno(slow.path)]
  writeDevice(meta.path, 0, Buffer.alloc(4096))
  const n = name('cache')
  await roundTrip(t, n,
    [{ length: 32768, type: 'cache', metadataDevice: meta.path, cacheDevice: fast.path, originDevice: slow.path, blockSize: 512, features: ['metadata2', 'writeback'], policy: 'smq', policyArgs: { migration_threshold: 4096 } }],
    [{ start: 0, length: 32768, type: 'cache', metadataDevice: M, cacheDevice: F, originDevice: S, blockSize: 512, features: ['metadata2', 'writeback'], policy: 'smq', policyArgs: { migration_threshold: 4096 } }])
  writeDevice(devPath(n), 0, Buffer.alloc(65536, 3))
  readDevice(devPath(n), 0, 65536)
  const st = activeOf((await dm.status(n))[0], 'cache')
  t.match(st, {
    state: 'active', metadataBlockSize: 8, cacheBlockSize: 512, totalCacheBlocks: 32, features: ['metadata2', 'writeback'],
    coreArgs: { migration_threshold: 4096 }, policy: 'smq', mode: 'rw', needsCheck: false,
  }, st.params as string)
  t.ok((st.readHits as number) + (st.readMisses as number) + (st.writeHits as number) + (st.writeMisses as number) > 0, 'I/O was counted')
})

t.test('verity: a hash tree built here verifies; a corrupted block reads as an error and status C', async (t) => {
  const data = loopDevice(1)
  const hash = loopDevice(1)
  const [Dn, Hn] = [devno(data.path), devno(hash.path)]
  const blocks = 8
  const content = randomBytes(blocks * 4096)
  writeDevice(data.path, 0, content)
  const salt = randomBytes(32)
  // format 1: each digest is hash(salt || block); one hash block holds all 8, zero-padded; root = hash(salt || it)
  const digest = (b: Buffer) => createHash('sha256').update(salt).update(b).digest()
  const level = Buffer.alloc(4096)
  for (let i = 0; i < blocks; i++) digest(content.subarray(i * 4096, (i + 1) * 4096)).copy(level, i * 32)
  writeDevice(hash.path, 0, level)
  const rootDigest = digest(level).toString('hex')
  const fields = { version: 1, dataBlockSize: 4096, hashBlockSize: 4096, dataBlocks: blocks, hashStartBlock: 0, algorithm: 'sha256', rootDigest, salt: salt.toString('hex'), options: [] }
  const n = name('verity')
  await roundTrip(t, n, [{ length: blocks * 8, type: 'verity', dataDevice: data.path, hashDevice: hash.path, ...fields }],
    [{ start: 0, length: blocks * 8, type: 'verity', dataDevice: Dn, hashDevice: Hn, ...fields }], false, true)
  // verity's logical block is 4 KiB: read in whole blocks
  const read = (block: number) => execFileSync('dd', [`if=${devPath(n)}`, 'bs=4096', `skip=${block}`, 'count=1', 'iflag=direct', 'status=none'])
  for (let i = 0; i < blocks; i++) t.same(read(i), content.subarray(i * 4096, (i + 1) * 4096), `block ${i} verifies`)
  t.match((await dm.status(n))[0], { state: 'verified' })
  writeDevice(data.path, 3 * 4096, Buffer.alloc(4096, 0xee))
  t.throws(() => read(3), 'a corrupted block fails to read')
  t.match((await dm.status(n))[0], { state: 'corrupted' })
})

t.test('mirror: core log, two legs in sync', async (t) => {
  const a = loopDevice(4)
  const b = loopDevice(4)
  const [A, B] = [devno(a.path), devno(b.path)]
  const n = name('mirror')
  await roundTrip(t, n,
    [{ length: 8192, type: 'mirror', log: { type: 'core', regionSize: 1024 }, mirrors: [{ device: a.path, offset: 0 }, { device: b.path, offset: 0 }], features: ['handle_errors'] }],
    [{ start: 0, length: 8192, type: 'mirror', log: { type: 'core', regionSize: 1024 }, mirrors: [{ device: A, offset: 0 }, { device: B, offset: 0 }], features: ['handle_errors'] }])
  let st = (await dm.status(n))[0]
  for (let i = 0; i < 50 && !(st.type === 'mirror' && st.state === 'active' && st.syncedRegions === st.totalRegions); i++) {
    await new Promise((r) => setTimeout(r, 100))
    st = (await dm.status(n))[0]
  }
  t.same(st, { ...st, state: 'active', mirrors: [{ device: A, health: 'A' }, { device: B, health: 'A' }], syncedRegions: 8, totalRegions: 8, log: ['core'] })
  writeDevice(devPath(n), 0, Buffer.alloc(4096, 9))
  t.same(readDevice(b.path, 0, 4096), Buffer.alloc(4096, 9), 'writes reach the second leg')
})

t.test('raid: raid1 with metadata devices, synced status', async (t) => {
  insmod('raid1')
  const [m1, d1, m2, d2] = [loopDevice(4), loopDevice(8), loopDevice(4), loopDevice(8)]
  const [M1, D1, M2, D2] = [m1, d1, m2, d2].map((l) => devno(l.path))
  const n = name('raid')
  await roundTrip(t, n,
    [{ length: 8192, type: 'raid', raidType: 'raid1', chunkSize: 0, options: ['region_size', '1024'], devices: [{ metadata: m1.path, data: d1.path }, { metadata: M2, data: d2.path }] }],
    [{ start: 0, length: 8192, type: 'raid', raidType: 'raid1', chunkSize: 0, options: ['region_size', '1024'], devices: [{ metadata: M1, data: D1 }, { metadata: M2, data: D2 }] }])
  let st = (await dm.status(n))[0]
  for (let i = 0; i < 100 && !(st.type === 'raid' && st.state === 'active' && st.syncAction === 'idle'); i++) {
    await new Promise((r) => setTimeout(r, 100))
    st = (await dm.status(n))[0]
  }
  t.match(st, { state: 'active', raidType: 'raid1', health: 'AA', syncedSectors: 8192, totalSectors: 8192, syncAction: 'idle', mismatchCount: 0 }, st.params as string)
})
