// Reads of /sys/block and /proc: what the ioctls do not say (who holds a device open, how big a block device is).
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { devNumber } from './nodes'

/** Block devices holding a dm device open, for EBUSY messages: dm devices by their dm name ('vol (dm-3)'). */
export function holders(minor: number): string[] {
  try {
    return readdirSync(`/sys/block/dm-${minor}/holders`).map((h) => {
      try {
        return `${readFileSync(`/sys/block/${h}/dm/name`, 'utf8').trim()} (${h})`
      } catch {
        return h // not a dm device (md, bcache, ...)
      }
    })
  } catch {
    return []
  }
}

/**
 * Who has the block device open, for EBUSY messages: processes with an fd on it (`/proc/<pid>/fd`, as far as
 * they are readable) and mount points (`/proc/self/mountinfo`). At most `max` entries.
 */
export function openers(major: number, minor: number, max = 8): string[] {
  const dev = devNumber(major, minor)
  const out: string[] = []
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const f = line.split(' ')
      if (f[2] === `${major}:${minor}`) out.push(`mounted at ${f[4]}`)
    }
  } catch {
    // no /proc
  }
  let pids: string[] = []
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p))
  } catch {
    return out
  }
  for (const pid of pids) {
    if (out.length >= max) break
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        const st = statSync(`/proc/${pid}/fd/${fd}`)
        if (!st.isBlockDevice() || st.rdev !== dev) continue
      } catch {
        continue
      }
      let comm = '?'
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
      } catch {
        // exited meanwhile
      }
      out.push(`pid ${pid} (${comm}) fd ${fd}`)
      if (out.length >= max) break
    }
  }
  return out
}

/** A block device's size in sectors ('major:minor' as the kernel prints it), undefined if unknown. */
export function deviceSectors(dev: string | undefined): number | undefined {
  if (dev === undefined || !/^\d+:\d+$/.test(dev)) return undefined
  try {
    return Number(readFileSync(`/sys/dev/block/${dev}/size`, 'utf8').trim())
  } catch {
    return undefined
  }
}
