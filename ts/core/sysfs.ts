// Reads of /sys/block: what the ioctls do not say (who holds a device, how big a block device is).
import { readdirSync, readFileSync } from 'node:fs'

/** Block devices holding a dm device open, for EBUSY messages. */
export function holders(minor: number): string[] {
  try {
    return readdirSync(`/sys/block/dm-${minor}/holders`)
  } catch {
    return []
  }
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
