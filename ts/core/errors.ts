import { constants } from 'node:os'

export interface DmErrorInit {
  message: string
  /** errno name ('EBUSY', 'ENXIO', 'EINVAL', ...) */
  code: string
  /** numeric errno; for validation errors, the errno the kernel would have returned */
  errno?: number
  /** the ioctl ('DM_DEV_REMOVE', ...), 'open', or the API call that rejected bad input */
  operation: string
  /** the device name, uuid or major:minor the operation addressed, '' when none */
  device?: string
  /** for validation errors: the input field that was wrong */
  field?: string
  cause?: unknown
}

// Where Linux has two names for one number, the one its headers (and glibc's strerrorname_np) use.
const PREFERRED_NAMES: Record<number, string> = { 95: 'EOPNOTSUPP' }

/** The errno name for a number ('EPERM' for 1), as in DmError.code. */
export function errnoName(errno: number, fallback = `errno ${errno}`): string {
  return PREFERRED_NAMES[errno] ?? Object.entries(constants.errno as Record<string, number>).find(([, n]) => n === errno)?.[0] ?? fallback
}

/**
 * A value as error messages show it: strings quoted, bigints with `n`, the type named where the printed form
 * alone would hide it (`got '4096' (a string)`, `got 8n (a bigint)`), objects as JSON.
 */
export function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}' (a string)`
  if (typeof v === 'bigint') return `${v}n (a bigint)`
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v)
  if (typeof v === 'function' || typeof v === 'symbol') return `a ${typeof v}`
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}

// What the user can do about an error the kernel or the system reports without context.
const OPEN_HINTS: Record<string, string> = {
  ENODEV: 'this kernel has no device-mapper (load dm_mod: modprobe dm_mod)',
  ENXIO: 'this kernel has no device-mapper (load dm_mod: modprobe dm_mod)',
  ENOENT: 'no device-mapper control node (load dm_mod: modprobe dm_mod; in a container, bind-mount /dev/mapper/control)',
  EACCES: 'device-mapper needs root (CAP_SYS_ADMIN)',
  EPERM: 'device-mapper needs root (CAP_SYS_ADMIN)',
}

/** Every failure devmapper reports: kernel errors, open errors and rejected input alike. */
export class DmError extends Error {
  code: string
  errno: number
  operation: string
  device: string
  // `declare`: no own property unless set, so printed errors show no `field: undefined`
  declare field?: string
  /** a failed table load: the kernel's log line about it (`device-mapper: table: 253:3: linear: ...`), when readable */
  declare kernelMessage?: string
  /** DEV_CREATE's EBUSY: the device of that name exists without a live table (an interrupted create) */
  declare halfMade?: boolean

  constructor(init: DmErrorInit) {
    const hint = init.operation === 'open' ? OPEN_HINTS[init.code] : undefined
    const message = hint && !init.message.includes(hint) ? `${init.message}: ${hint}` : init.message
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.name = 'DmError'
    this.code = init.code
    this.errno = init.errno ?? (constants.errno as Record<string, number>)[init.code] ?? 0
    this.operation = init.operation
    this.device = init.device ?? ''
    if (init.field !== undefined) this.field = init.field
  }
}

/**
 * The error for a failed open or ioctl, made for the native layer (which passes numbers only):
 * "DM_DEV_REMOVE name: Device or resource busy (EBUSY)". `description` is the C library's strerror text.
 */
export function kernelError(errno: number, operation: string, device: string, description: string): DmError {
  const code = errnoName(errno, 'EUNKNOWN')
  return new DmError({ message: `${operation}${device ? ` ${device}` : ''}: ${description} (${code})`, code, errno, operation, device })
}

/** A rejected input: code EINVAL, raised before any ioctl is sent. */
export function invalid(operation: string, field: string, problem: string, device = ''): DmError {
  return new DmError({
    message: `${operation}${device ? ` ${device}` : ''}: ${field} ${problem}`,
    code: 'EINVAL',
    operation,
    device,
    field,
  })
}

/** Joins a failed operation's error with the error of its cleanup step, keeping the first one's code. */
export function withCleanupError<E>(error: E, cleanup: unknown, what: string): E {
  if (error instanceof Error) {
    error.message += `; ${what} also failed: ${(cleanup as Error).message}`
    ;(error as Error & { cleanupError?: unknown }).cleanupError = cleanup
  }
  return error
}
