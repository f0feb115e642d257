// Failures as the user sees them: one line on stderr naming the device and what to do (never a stack trace),
// or `{ "error": { code, message, operation, device, field } }` with --json. Exit 2 for bad usage (our own
// checks and input the library rejected before any ioctl), 1 for an operation that failed.
import { DmError } from '../core'
import { UsageError } from './args'

export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

/** What to do about a kernel or open error, by errno name and operation. */
function hint(err: DmError): string | undefined {
  const open = err.operation === 'open'
  switch (err.code) {
    case 'ENODEV':
      return open ? 'this kernel has no device-mapper; load dm_mod' : undefined
    case 'ENOENT':
      return open ? '/dev/mapper/control is missing; load dm_mod (or create the node: mknod /dev/mapper/control c 10 236)' : undefined
    case 'EACCES':
    case 'EPERM':
      return 'device-mapper needs root (CAP_SYS_ADMIN)'
    case 'ENXIO':
      return `no such device${err.device ? ` '${err.device}'` : ''}; see 'devmapper ls'`
    case 'EBUSY':
      return err.operation === 'DM_DEV_REMOVE'
        ? 'the device is open; close it, or use --retry, --deferred (remove at last close) or -f (fail its I/O first)'
        : 'the device is busy'
    case 'EEXIST':
      return 'a device with that name or uuid already exists'
    case 'ENOTTY':
      return 'the kernel does not know this device-mapper ioctl (too old?)'
    default:
      return undefined
  }
}

export interface Reported {
  status: number
  stderr: string
}

/** The stderr text and exit status for a failure of `verb`. */
export function report(err: unknown, json: boolean, verb: string | undefined): Reported {
  if (err instanceof UsageError) {
    const body = { code: 'EUSAGE', message: err.message, operation: verb ?? '', device: '', field: '' }
    return {
      status: EXIT_USAGE,
      stderr: json ? `${JSON.stringify({ error: body })}\n` : `devmapper: ${err.message}\n${verb ? '' : "Try 'devmapper --help'.\n"}`,
    }
  }
  if (err instanceof DmError) {
    const status = err.field !== undefined ? EXIT_USAGE : EXIT_FAILED
    if (json) {
      const body = { code: err.code, message: err.message, operation: err.operation, device: err.device, field: err.field ?? '' }
      return { status, stderr: `${JSON.stringify({ error: body })}\n` }
    }
    const h = hint(err)
    return { status, stderr: `devmapper: ${err.message}${h ? `: ${h}` : ''}\n` }
  }
  const e = err as NodeJS.ErrnoException
  const message = e instanceof Error ? e.message : String(err)
  if (json) {
    const body = { code: e?.code ?? 'EFAIL', message, operation: verb ?? '', device: '', field: '' }
    return { status: EXIT_FAILED, stderr: `${JSON.stringify({ error: body })}\n` }
  }
  return { status: EXIT_FAILED, stderr: `devmapper: ${message}\n` }
}
