// Kill test, growPool (a pool on loop files): a child dies at each step; the next open shows the old size
// (killed before the intent was stored) or the new one in the data file, its loop device, the pool's table and
// status, and the state. Then the same after a "reboot" (every device and loop device gone) mid-grow: thin_check
// and thin_dump on the metadata at rest, and the pool remade at the size its metadata already counts.
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { STEPS } from '../../ts/volumes'
import { dm, dmsetup, sh } from './helpers'
import { crashCase, crashRoot, prepareRoot, runChild } from './volumes-crash'
import { MiB, poolIdsFromOutside, readPattern, removeDevicesWithPrefix } from './volumes-helpers'

const options = crashRoot('grow', 'cg')
const pool = options.poolName

/** The data size as every layer sees it: file, loop device, pool table, pool status, state. */
function sizes(root: string): { file: number; loop: number; table: number; status: number; state: number } {
  const table = dmsetup('table', pool).trim().split(/\s+/)
  const status = dmsetup('status', pool).trim().split(/\s+/)
  const block = Number(table[5]) * 512
  const state = JSON.parse(readFileSync(join(root, 'state.json'), 'utf8')) as { pool: { loopDataSize: number } }
  return {
    file: statSync(join(root, 'devicemapper', 'data')).size,
    loop: Number(readFileSync(`/sys/dev/block/${table[4]}/size`, 'utf8')) * 512,
    table: Number(table[1]) * 512,
    status: Number(status[5].split('/')[1]) * block,
    state: state.pool.loopDataSize,
  }
}

const all = (n: number): ReturnType<typeof sizes> => ({ file: n, loop: n, table: n, status: n, state: n })

t.test('growPool killed at every step', async (t) => {
  await prepareRoot(options)
  let size = 128 * MiB
  for (const step of STEPS.growPool) {
    const args: unknown[] = [size + 32 * MiB]
    await crashCase(t, options, {
      step, op: 'growPool', args, steps: STEPS.growPool, doneFrom: 'grow.truncate',
      after: async (t, vm, done) => {
        const want = done ? size + 32 * MiB : size
        t.same(sizes(options.root), all(want), `${step}: file, loop, table, status and state at ${want / MiB}M`)
        t.equal((await vm.status()).dataTotalBytes, want)
        size = want
      },
    })
  }
})

t.test('a reboot in the middle of a grow: the pool is remade at the new size', async (t) => {
  const r = runChild(options, 'growPool', [`${(sizes(options.root).state + 32 * MiB) / MiB}M`], 'grow.commit')
  t.equal(r.signal, 'SIGKILL', r.stderr.slice(0, 400))
  const want = sizes(options.root).table
  t.ok(want > sizes(options.root).state, 'the kernel pool is larger than the state says')
  // the reboot: every device of the root and the loop devices over its files go
  removeDevicesWithPrefix(pool.replace(/-pool$/, '-'))
  t.notOk(dm.listSync().some((d) => d.name === pool))
  for (const f of ['data', 'metadata']) {
    for (const line of sh('losetup', ['-j', join(options.root, 'devicemapper', f)]).split('\n').filter(Boolean)) sh('losetup', ['-d', line.split(':')[0]])
  }
  // the metadata at rest: thin_check passes, thin_dump counts the new size and exactly the state's ids
  // (through a read-only loop device: the tools open with O_DIRECT, which tmpfs refuses)
  const meta = sh('losetup', ['-f', '--show', '-r', join(options.root, 'devicemapper', 'metadata')]).trim()
  let xml: string
  try {
    execFileSync('thin_check', [meta], { stdio: 'pipe' })
    xml = execFileSync('thin_dump', [meta], { encoding: 'utf8' })
  } finally {
    sh('losetup', ['-d', meta])
  }
  const block = Number(/data_block_size="(\d+)"/.exec(xml)![1]) * 512
  t.equal(Number(/nr_data_blocks="(\d+)"/.exec(xml)![1]) * block, want, 'thin_dump: the metadata counts the new size')
  const stateIds = Object.values((JSON.parse(readFileSync(join(options.root, 'state.json'), 'utf8')) as { volumes: Record<string, { deviceId: number }> }).volumes).map((v) => v.deviceId).sort((a, b) => a - b)
  t.same([...xml.matchAll(/<device dev_id="(\d+)"/g)].map((m) => Number(m[1])).sort((a, b) => a - b), stateIds, 'thin_dump: the state ids')
  const vm = await VolumeManager.open(options)
  t.same(sizes(options.root), all(want), 'remade and recorded at the new size')
  const keep = await vm.activate('keep')
  t.ok(readPattern(keep.path!, 0xa5), 'the volume made before is intact')
  const vols = await vm.listVolumes()
  t.same(poolIdsFromOutside(pool), vols.map((v) => v.deviceId).sort((a, b) => a - b), 'thin_dump: the state ids')
  t.match(await vm.check(), { ok: true })
  await vm.destroy()
})
