// What /sys/block/loopN says and LOOP_GET_STATUS64 does not: the whole backing path (the ioctl's name is cut at
// 63 bytes), the size, the block size, the device number, and which devices are bound at all.
import { existsSync, readdirSync, readFileSync } from 'node:fs'

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined // the device went away (or was never there)
  }
}

/** True if loopN exists in the kernel (bound or not). */
export function loopExists(n: number): boolean {
  return existsSync(`/sys/block/loop${n}`)
}

/** Numbers of the bound loop devices, ascending: the kernel adds the `loop` group at bind, drops it at clear. */
export function boundNumbers(): number[] {
  let names: string[]
  try {
    names = readdirSync('/sys/block')
  } catch {
    return []
  }
  return names
    .map((n) => /^loop(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(`/sys/block/${m[0]}/loop`))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
}

/** major:minor of loopN; minors are N << part_shift when loop.ko has max_part set. */
export function loopDevNumber(n: number): { major: number; minor: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(read(`/sys/block/loop${n}/dev`)?.trim() ?? '')
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined
}

/** The backing file path, without the trailing newline; undefined if not bound. */
export function backingFile(n: number): string | undefined {
  return read(`/sys/block/loop${n}/loop/backing_file`)?.replace(/\n$/, '')
}

/** Size in bytes (the kernel counts 512-byte sectors whatever the block size). */
export function sizeBytes(n: number): number | undefined {
  const s = read(`/sys/block/loop${n}/size`)
  return s === undefined ? undefined : Number(s.trim()) * 512
}

export function logicalBlockSize(n: number): number | undefined {
  const s = read(`/sys/block/loop${n}/queue/logical_block_size`)
  return s === undefined ? undefined : Number(s.trim())
}

/** Size in bytes of a block device 'major:minor' (for block devices used as backing files). */
export function blockDeviceBytes(major: number, minor: number): number | undefined {
  const s = read(`/sys/dev/block/${major}:${minor}/size`)
  return s === undefined ? undefined : Number(s.trim()) * 512
}

/** The kernel name ('loop3', 'sda') of block device major:minor. */
export function blockDeviceName(major: number, minor: number): string | undefined {
  const uevent = read(`/sys/dev/block/${major}:${minor}/uevent`)
  return uevent ? /^DEVNAME=(.*)$/m.exec(uevent)?.[1] : undefined
}
