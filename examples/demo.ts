// The demo (`npm run demo` runs it inside the sandbox kernel): a thin pool on two sparse loop files, a thin
// volume, a write, a snapshot, their info and status, and a teardown that leaves nothing behind.
import { mkdtempSync, openSync, readSync, rmSync, closeSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DeviceMapper, loop, thin, thinPool, type DeviceInfo } from 'devmapper'

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

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
