// The demo (`npm run demo` runs it inside the sandbox kernel): a thin pool on two sparse loop files, a thin
// volume, a write, a snapshot, their info and status, and a teardown that leaves nothing behind; then the same
// story one level up with the VolumeManager: ext4 volumes, a file written, a snapshot read back, removal.
import { mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, closeSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DeviceMapper, VolumeManager, loop, thin, thinPool, type DeviceInfo } from 'devmapper'

const dm = new DeviceMapper()
const MiB = 2048 // sectors

function show(title: string, info: DeviceInfo, status: Record<string, unknown>[]): void {
  const state = info.suspended ? 'suspended' : 'active'
  console.log(`\n${title}: ${info.name}  (${info.path}, ${info.major}:${info.minor}, ${state}, open ${info.openCount}, events ${info.eventNr})`)
  for (const s of status) {
    const typed = Object.entries(s).filter(([k]) => !['start', 'length', 'type', 'params', 'state'].includes(k))
    console.log(`  ${s.type} status: ${s.params}`)
    for (const [k, v] of typed) console.log(`    ${k}: ${JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x))}`)
  }
}

async function main(): Promise<void> {
  const v = await dm.version()
  console.log(`device-mapper ioctl interface ${v.major}.${v.minor}.${v.patch}`)
  const dir = mkdtempSync('/tmp/devmapper-demo-')
  const loops: string[] = []
  const made: string[] = []
  try {
    // 1. Two sparse files as loop devices: 16 MiB of metadata, 256 MiB of data.
    const meta = join(dir, 'meta.img')
    const data = join(dir, 'data.img')
    writeFileSync(meta, Buffer.alloc(4096)) // a zeroed first block means "empty metadata"
    truncateSync(meta, 16 * 1024 * 1024)
    writeFileSync(data, '')
    truncateSync(data, 256 * 1024 * 1024)
    for (const f of [meta, data]) loops.push((await loop.attach(f)).path) // LOOP_CTL_GET_FREE + LOOP_CONFIGURE
    console.log(`loop devices: ${loops.join(', ')} (sparse files in ${dir})`)

    // 2. The pool: 64 KiB blocks (128 sectors), low water mark 16 blocks.
    await dm.create('demo-pool', [thinPool(256 * MiB, loops[0], loops[1], { dataBlockSize: 128, lowWaterMark: 16 })])
    made.push('demo-pool')
    const pool = dm.thinPool('demo-pool')

    // 3. A 1 GiB thin volume (thin id 0) – bigger than the pool, as thin provisioning allows.
    await pool.createThin(0)
    const vol = await dm.create('demo-thin', [thin(1024 * MiB, '/dev/mapper/demo-pool', 0)])
    made.push('demo-thin')

    // 4. Write 4 MiB to it.
    const fd = openSync(vol.path, 'r+')
    writeSync(fd, Buffer.alloc(4 * 1024 * 1024, 'devmapper!'), 0, 4 * 1024 * 1024, 0)
    closeSync(fd)

    // 5. Snapshot it (thin id 1); the pool handle suspends the active origin around create_snap.
    await pool.createSnapshot(1, 0, { origin: 'demo-thin' })
    const snap = await dm.create('demo-snap', [thin(1024 * MiB, '/dev/mapper/demo-pool', 1)])
    made.push('demo-snap')
    const check = Buffer.alloc(10)
    const sfd = openSync(snap.path, 'r')
    readSync(sfd, check, 0, 10, 0)
    closeSync(sfd)
    console.log(`snapshot reads back: "${check.toString()}"`)

    for (const n of ['demo-pool', 'demo-thin', 'demo-snap']) {
      show(n === 'demo-pool' ? 'pool' : n === 'demo-thin' ? 'thin volume' : 'snapshot', await dm.info(n), await dm.status(n))
    }
    console.log('\ntables:')
    for (const n of ['demo-pool', 'demo-thin', 'demo-snap']) {
      for (const t of await dm.table(n)) console.log(`  ${n}: ${t.start} ${t.length} ${t.type} ${t.params}`)
    }
  } finally {
    // Teardown: thin devices first, the pool last, then the loop devices and files.
    for (const n of made.reverse()) await dm.remove(n)
    for (const l of loops) await loop.detach(l)
    rmSync(dir, { recursive: true, force: true })
    const left = (await dm.list()).filter((d) => d.name.startsWith('demo-'))
    console.log(`\nteardown: ${left.length === 0 ? 'no devices left' : `LEFT BEHIND: ${left.map((d) => d.name).join(', ')}`}`)
    if (left.length) process.exitCode = 1
  }
}

/** The volume manager: Docker's devicemapper driver as a library (pool on sparse files in root, ext4 volumes). */
async function volumes(): Promise<void> {
  const dir = mkdtempSync('/tmp/devmapper-demo-vol-')
  const root = join(dir, 'root')
  console.log(`\n--- VolumeManager (root ${root}) ---`)
  const vm = await VolumeManager.open({ root, loopDataSize: '512M', loopMetadataSize: '16M', defaultVolumeSize: '64M' })
  try {
    const st = await vm.status()
    console.log(`pool ${st.poolName}: ${st.dataTotalBytes / 2 ** 20} MiB data, transaction ${st.transactionId}`)
    const web = await vm.createVolume('web') // create_thin + mkfs.ext4, committed with set_transaction_id
    console.log(`created ${web.name}: thin id ${web.deviceId}, ${web.size / 2 ** 20} MiB ${web.fs}`)
    const m1 = join(dir, 'web')
    mkdirSync(m1)
    await vm.mount('web', m1) // activates it
    writeFileSync(join(m1, 'index.html'), 'hello from a thin volume\n')
    const snap = await vm.snapshot('web', 'web-backup') // suspend, create_snap, resume: the mounted volume keeps running
    writeFileSync(join(m1, 'index.html'), 'changed after the snapshot\n')
    const m2 = join(dir, 'backup')
    mkdirSync(m2)
    await vm.mount('web-backup', m2)
    console.log(`snapshot ${snap.name} (parent ${snap.parent}) reads: ${readFileSync(join(m2, 'index.html'), 'utf8').trim()}`)
    console.log(`volume ${web.name} reads:          ${readFileSync(join(m1, 'index.html'), 'utf8').trim()}`)
    for (const v of await vm.listVolumes()) console.log(`  ${v.name.padEnd(11)} id ${v.deviceId}  ${v.active ? `active ${v.path} on ${v.mountpoint}` : 'inactive'}  used ${(v.usedBytes / 2 ** 20).toFixed(1)} MiB`)
    await vm.unmount('web-backup')
    await vm.removeVolume('web-backup') // deactivate, discard, delete the thin id
    console.log(`removed web-backup; check: ${JSON.stringify(await vm.check())}`)
    await vm.unmount('web')
  } finally {
    await vm.destroy() // volumes, pool, loop devices, files
    rmSync(dir, { recursive: true, force: true })
  }
  const left = (await dm.list()).filter((d) => d.name.startsWith('devmapper-'))
  console.log(`destroy: ${left.length === 0 ? 'no devices left' : `LEFT BEHIND: ${left.map((d) => d.name).join(', ')}`}`)
  if (left.length) process.exitCode = 1
}

main().then(volumes).catch((err) => {
  console.error(err)
  process.exitCode = 1
})
