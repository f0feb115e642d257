// Input rules checked before any ioctl, each failure a DmError naming the field (see dm-ioctl.h and
// drivers/md/dm-ioctl.c for the kernel's own limits).
import { invalid } from './errors'

const NAME_MAX = 127 // DM_NAME_LEN - 1
const UUID_MAX = 128 // DM_UUID_LEN - 1
const TYPE_MAX = 15 // DM_MAX_TYPE_NAME - 1

export function checkName(name: unknown, operation: string, field = 'name'): string {
  if (typeof name !== 'string') throw invalid(operation, field, `must be a string, got ${typeof name}`)
  const bytes = Buffer.byteLength(name)
  if (bytes < 1 || bytes > NAME_MAX) throw invalid(operation, field, `must be 1..${NAME_MAX} bytes, got ${bytes}`, name)
  if (name.includes('/')) throw invalid(operation, field, "must not contain '/'", name)
  if (name.includes('\0')) throw invalid(operation, field, 'must not contain NUL', name)
  if (name === '.' || name === '..' || name === 'control') throw invalid(operation, field, `must not be '${name}'`, name)
  return name
}

export function checkUuid(uuid: unknown, operation: string, device = ''): string {
  if (typeof uuid !== 'string') throw invalid(operation, 'uuid', `must be a string, got ${typeof uuid}`, device)
  const bytes = Buffer.byteLength(uuid)
  if (bytes < 1 || bytes > UUID_MAX) throw invalid(operation, 'uuid', `must be 1..${UUID_MAX} bytes, got ${bytes}`, device)
  if (uuid.includes('\0')) throw invalid(operation, 'uuid', 'must not contain NUL', device)
  return uuid
}

export function checkTargetType(type: unknown, operation: string, field: string, device = ''): string {
  if (typeof type !== 'string' || type.length === 0) throw invalid(operation, field, 'must be a non-empty string', device)
  if (Buffer.byteLength(type) > TYPE_MAX) throw invalid(operation, field, `must be at most ${TYPE_MAX} bytes, got '${type}'`, device)
  if (/[\s\0]/.test(type)) throw invalid(operation, field, `must not contain whitespace or NUL, got '${type}'`, device)
  return type
}

export function checkSectors(n: unknown, operation: string, field: string, device = '', min = 0): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw invalid(operation, field, `must be a safe integer number of sectors, got ${String(n)}`, device)
  }
  if (n < min) throw invalid(operation, field, `must be >= ${min}, got ${n}`, device)
  return n
}

export function checkUint(n: unknown, operation: string, field: string, max: number, device = ''): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > max) {
    throw invalid(operation, field, `must be an integer in 0..${max}, got ${String(n)}`, device)
  }
  return n
}

export function checkParams(params: unknown, operation: string, field: string, device = ''): string {
  if (typeof params !== 'string') throw invalid(operation, field, `must be a string, got ${typeof params}`, device)
  if (/[\n\r\0]/.test(params)) throw invalid(operation, field, 'must not contain a newline or NUL', device)
  return params
}
