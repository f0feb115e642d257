// Shared by the volumes-* kernel tests: a fresh root under /tmp per test, block devices for pools (loop devices
// over sparse files, made with losetup from the test side), thin_dump of a metadata snapshot to see the pool's
// ids from outside the library, and a teardown that removes whatever a test left.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { dm, loopDevice, sh } from './helpers'

export const MiB = 1024 * 1024

/** A new, not yet existing root directory under /tmp. */
export function freshRoot(label: string): string {
  return join(mkdtempSync(`/tmp/vol-${label}-`), 'root')
}

/** Two block devices for a pool: metadata and data. */
export function poolDevices(dataMiB = 256, metaMiB = 16): { dataDevice: string; metadataDevice: string } {
  const meta = loopDevice(metaMiB)
  const data = loopDevice(dataMiB)
  return { dataDevice: data.path, metadataDevice: meta.path }
}

/** The pool's thin ids as thin_dump sees them on a metadata snapshot. */
export function poolIdsFromOutside(pool: string): number[] {
  const table = dm.tableSync(pool)[0].params.split(/\s+/)
  const [maj, min] = table[0].split(':')
  const node = existsSync(table[0]) ? table[0] : `/dev/${sh('sh', ['-c', `grep DEVNAME /sys/dev/block/${maj}:${min}/uevent | cut -d= -f2`]).trim()}`
  dm.messageSync(pool, 0, 'reserve_metadata_snap')
  try {
    const xml = execFileSync('thin_dump', ['--metadata-snap', node], { encoding: 'utf8', maxBuffer: 1 << 28 })
    return [...xml.matchAll(/<device dev_id="(\d+)"/g)].map((m) => Number(m[1])).sort((a, b) => a - b)
  } finally {
    dm.messageSync(pool, 0, 'release_metadata_snap')
  }
}

/** Removes every device-mapper device whose name starts with `prefix` (newest first), looping. */
export function removeDevicesWithPrefix(prefix: string): void {
  for (let round = 0; round < 10; round++) {
    const left = dm.listSync().filter((d) => d.name.startsWith(prefix)).sort((a, b) => b.minor - a.minor)
    if (left.length === 0) return
    for (const d of left) {
      try {
        sh('umount', ['-l', `/dev/dm-${d.minor}`])
      } catch {
        // not mounted
      }
      try {
        dm.resumeSync(d.name)
        dm.removeSync(d.name, { retries: 2 })
      } catch {
        // next round
      }
    }
  }
}

export function rmRoot(root: string): void {
  rmSync(join(root, '..'), { recursive: true, force: true })
}

/** Writes 64 KiB of `byte` at the start of a block device, direct and flushed. */
export function writePattern(path: string, byte: number): void {
  execFileSync('dd', [`of=${path}`, 'bs=65536', 'count=1', 'oflag=direct', 'conv=fsync,notrunc', 'status=none'], { input: Buffer.alloc(65536, byte) })
}

/** True when the first 64 KiB of a block device are all `byte`. */
export function readPattern(path: string, byte: number): boolean {
  const got = execFileSync('dd', [`if=${path}`, 'bs=65536', 'count=1', 'iflag=direct', 'status=none'])
  return got.length === 65536 && got.equals(Buffer.alloc(65536, byte))
}
