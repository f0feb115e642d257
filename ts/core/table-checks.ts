// What a table load can be checked for before the ioctl, and what a failed load is explained with after it.
// The kernel answers a bad table with a bare errno (ENODEV, ENXIO, EINVAL); these say which target and why.
import { existsSync, statSync } from 'node:fs'
import { DmError } from './errors'
import { KMSG, kmsgNow, lastTableError, readKmsg } from './kmsg'
import { targetType, type RawTarget, type Sectors } from './table'

/** The device arguments of a registered target's params: paths and major:minor tokens. */
function deviceTokens(t: RawTarget<Sectors>): string[] {
  if (targetType(t.type) === undefined) return [] // an unknown target's arguments mean nothing to us
  return t.params.split(/\s+/).filter((w) => w.startsWith('/') || /^\d+:\d+$/.test(w))
}

/**
 * Device paths in the table must exist and be block devices, and major:minor pairs must name a block device
 * (when /sys is there to ask). Raises what the kernel would (ENODEV, ENXIO), naming the target and device.
 */
export function checkTableDevices(targets: readonly RawTarget<Sectors>[], operation: string, device: string): void {
  const sysfs = existsSync('/sys/dev/block')
  targets.forEach((t, i) => {
    for (const dev of deviceTokens(t)) {
      const fail = (code: string, problem: string): DmError =>
        new DmError({
          message: `${operation}${device ? ` ${device}` : ''}: table[${i}] (${t.type}): ${problem}`,
          code,
          operation,
          device,
          field: `table[${i}].params`,
        })
      if (dev.startsWith('/')) {
        let st
        try {
          st = statSync(dev)
        } catch {
          throw fail('ENODEV', `device ${dev} does not exist`)
        }
        if (!st.isBlockDevice()) throw fail('ENODEV', `${dev} is not a block device (${kind(st)})`)
      } else if (sysfs && !existsSync(`/sys/dev/block/${dev}`)) {
        throw fail('ENXIO', `no block device ${dev} (major:minor)`)
      }
    }
  })
}

function kind(st: import('node:fs').Stats): string {
  if (st.isFile()) return 'a regular file: attach it with losetup first'
  if (st.isDirectory()) return 'a directory'
  if (st.isCharacterDevice()) return 'a character device'
  return 'not a device'
}

/** Context of a failed TABLE_LOAD: the device loaded into, its table, and when the call started. */
export interface LoadContext {
  major?: number
  minor?: number
  targets: readonly RawTarget<Sectors>[]
  /** kmsgNow() before the ioctl */
  since: number
  /** whether the dm device exists (so ENXIO is about a device in the table, not the dm device) */
  deviceExists: boolean
}

/**
 * Adds to a failed load's error what the kernel logged about it (which target refused and why, from /dev/kmsg
 * when readable) and what ENXIO/ENODEV mean here (a device in the table is missing, not the dm device itself).
 * Returns the same error object.
 */
export function explainLoadError(err: unknown, ctx: LoadContext): unknown {
  if (!(err instanceof DmError) || err.operation !== 'DM_TABLE_LOAD') return err
  if ((err.code === 'ENXIO' || err.code === 'ENODEV') && ctx.deviceExists) {
    err.message += ': a device in the table does not exist or is not a block device (the dm device itself exists)'
  }
  if (ctx.major === undefined || ctx.minor === undefined || !ctx.deviceExists) return err
  const records = readKmsg()
  const line = records && lastTableError(records, ctx.major, ctx.minor, ctx.since)
  if (line) {
    const type = /^([^:\s]+):/.exec(line)?.[1]
    const at = ctx.targets.map((t, i) => (t.type === type ? i : -1)).filter((i) => i >= 0)
    const where = at.length === 1 ? `table[${at[0]}] (${type})` : type ? `a ${type} target` : 'the table'
    const why = type ? line.slice(type.length + 1).trim() : line
    err.message += `; the kernel refused ${where}: ${why}`
    err.kernelMessage = `device-mapper: table: ${ctx.major}:${ctx.minor}: ${line}`
    if (at.length === 1) err.field = `table[${at[0]}]`
  } else if (records === undefined && err.code === 'EINVAL') {
    err.message += ` (the kernel log, ${KMSG}, would say which target refused; it is not readable here)`
  }
  return err
}

export { kmsgNow }
