// The kernel log (/dev/kmsg), read only after a table load failed: the ioctl says only EINVAL, while the
// kernel logs which target refused and why (`device-mapper: table: 253:3: linear: Device lookup failed`).
// Reading needs root (or CAP_SYSLOG with kernel.dmesg_restrict); when it is not readable, nothing is added.
import { closeSync, constants, openSync, readSync } from 'node:fs'

export const KMSG = '/dev/kmsg'

/** One /dev/kmsg record: `<prio>,<seq>,<usec>,<flags>;<text>` plus continuation lines (` KEY=value`). */
export interface KmsgRecord {
  seq: number
  /** microseconds since boot (the kernel's local clock) */
  usec: number
  text: string
}

/** Parses one record as read(2) returns it; undefined if it is not in the documented form. */
export function parseKmsgRecord(record: string): KmsgRecord | undefined {
  const m = /^(\d+),(\d+),(\d+),[^;]*;([^\n]*)/.exec(record)
  if (!m) return undefined
  return { seq: Number(m[2]), usec: Number(m[3]), text: m[4] }
}

/**
 * Every record still in the kernel's ring buffer, oldest first, or undefined if /dev/kmsg cannot be read.
 * Each read(2) returns one record; EAGAIN marks the end, EPIPE a record overwritten while reading (skipped).
 */
export function readKmsg(path = KMSG): KmsgRecord[] | undefined {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch {
    return undefined
  }
  const out: KmsgRecord[] = []
  const buf = Buffer.alloc(8192) // the kernel's record limit (CONSOLE_EXT_LOG_MAX)
  try {
    for (let i = 0; i < 1_000_000; i++) {
      let n: number
      try {
        n = readSync(fd, buf, 0, buf.length, null)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') continue
        break // EAGAIN: the end; anything else: stop with what we have
      }
      if (n === 0) break
      const r = parseKmsgRecord(buf.toString('utf8', 0, n))
      if (r) out.push(r)
    }
  } finally {
    closeSync(fd)
  }
  return out
}

/** The kernel's clock as /dev/kmsg stamps records (CLOCK_MONOTONIC, in microseconds). */
export function kmsgNow(): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/**
 * The last `device-mapper: table: <major>:<minor>: ...` line logged for the device at or after `sinceUsec`
 * (less a second of slack between the clocks), without its prefix: e.g. `linear: Device lookup failed (-ENXIO)`.
 */
export function lastTableError(records: readonly KmsgRecord[], major: number, minor: number, sinceUsec = 0): string | undefined {
  const prefix = `device-mapper: table: ${major}:${minor}: `
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]
    if (r.usec < sinceUsec - 1_000_000) break
    if (r.text.startsWith(prefix)) return r.text.slice(prefix.length).trim()
  }
  return undefined
}
