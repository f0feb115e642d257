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

/** Every failure devmapper reports: kernel errors, open errors and rejected input alike. */
export class DmError extends Error {
  code: string
  errno: number
  operation: string
  device: string
  field?: string

  constructor(init: DmErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause })
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
