// Input rules checked before any ioctl, each failure a DmError naming the field (see dm-ioctl.h and
// drivers/md/dm-ioctl.c for the kernel's own limits).
import { invalid, show } from './errors'

const NAME_MAX = 127 // DM_NAME_LEN - 1
const UUID_MAX = 128 // DM_UUID_LEN - 1
const TYPE_MAX = 15 // DM_MAX_TYPE_NAME - 1

// The common case, checked without encoding: 1..127 bytes of libdm's whitelisted ASCII, not '.', '..' or 'control'.
const PLAIN_NAME = /^(?!\.\.?$|control$)[A-Za-z0-9#+\-.:=@_]{1,127}$/

export function checkName(name: unknown, operation: string, field = 'name'): string {
  if (typeof name !== 'string') throw invalid(operation, field, `must be a string, got ${show(name)}`)
  if (PLAIN_NAME.test(name)) return name
  // A lone surrogate would go out as the bytes of U+FFFD: a different name than the caller's.
  if (/\p{Cs}/u.test(name)) throw invalid(operation, field, 'must be well-formed Unicode (it has a lone surrogate); use a Buffer for raw bytes', printable(name))
  return checkNameBytes(name, Buffer.from(name), operation, field)
}

/** A name that addresses an existing device: a string, or a Buffer holding its exact bytes (names need not be UTF-8). */
export function checkNameRef(name: unknown, operation: string, field = 'name'): string | Buffer {
  if (!Buffer.isBuffer(name)) return checkName(name, operation, field)
  return checkNameBytes(Buffer.from(name), name, operation, field)
}

function checkNameBytes<T extends string | Buffer>(name: T, bytes: Buffer, operation: string, field: string): T {
  const shown = printable(bytes)
  if (bytes.length < 1 || bytes.length > NAME_MAX) throw invalid(operation, field, `must be 1..${NAME_MAX} bytes, got ${bytes.length}`, shown)
  if (bytes.includes(0x2f)) throw invalid(operation, field, "must not contain '/'", shown)
  if (bytes.includes(0)) throw invalid(operation, field, 'must not contain NUL', shown)
  if (['.', '..', 'control'].includes(bytes.toString('latin1'))) throw invalid(operation, field, `must not be '${shown}'`, shown)
  return name
}

/**
 * How names that udev and dmsetup cannot take as they are (anything but A-Z a-z 0-9 # + - . : = @ _) are
 * handled when devmapper creates or renames a device:
 * - 'reject' (default): refused with EINVAL, so every device devmapper makes is usable by every other tool;
 * - 'hex': mangled exactly as libdm does (dmsetup's default `--manglename auto`): each such byte becomes
 *   `\xNN`, a name already in that form is kept, a mix of both is refused; devices are then addressed by the
 *   same unmangled names, and replies carry the kernel's (mangled) name;
 * - 'none': sent as given (dmsetup --manglename none); dmsetup and udev may then fail to find the device.
 */
export type NameMangling = 'reject' | 'hex' | 'none'

export function checkNameMangling(mode: unknown): NameMangling {
  if (mode === undefined) return 'reject'
  if (mode !== 'reject' && mode !== 'hex' && mode !== 'none') {
    throw invalid('DeviceMapper', 'nameMangling', `must be 'reject', 'hex' or 'none', got ${show(mode)}`)
  }
  return mode
}

// libdm's _is_whitelisted_char (libdm-common.c), the characters udev keeps in /dev/mapper link names.
const WHITELISTED = /^[A-Za-z0-9#+\-.:=@_]$/
const isWhitelisted = (byte: number): boolean => WHITELISTED.test(String.fromCharCode(byte))

/** libdm's mangling (DM_STRING_MANGLING_AUTO) of a name's UTF-8 bytes; throws like libdm on mixed input. */
export function mangleName(name: string, operation: string, field = 'name'): string {
  const b = Buffer.from(name)
  let out = ''
  let mangled: boolean | undefined // undefined: not known yet
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x5c && b[i + 1] === 0x78) {
      // an already mangled \xNN: kept as it is
      if (b.length - i < 4 || mangled === true) throw invalid(operation, field, 'mixes mangled (\\xNN) and unmangled characters', name)
      out += b.toString('latin1', i, i + 4)
      i += 3
      mangled = false
    } else if (isWhitelisted(b[i])) {
      out += String.fromCharCode(b[i])
    } else {
      if (mangled === false) throw invalid(operation, field, 'mixes mangled (\\xNN) and unmangled characters', name)
      out += `\\x${b[i].toString(16).padStart(2, '0')}`
      mangled = true
    }
  }
  return out
}

/**
 * A name for a new device (create, rename): the common rules, then libdm's character rules per `mangling`.
 * Returns the name to send to the kernel.
 */
export function checkNewName(name: unknown, operation: string, field: string, mangling: NameMangling): string {
  checkName(name, operation, field)
  const n = name as string
  if (mangling === 'none') return n
  if (mangling === 'hex') return checkName(mangleName(n, operation, field), operation, field)
  const bad = [...Buffer.from(n)].findIndex((c) => !isWhitelisted(c))
  if (bad >= 0) {
    throw invalid(
      operation,
      field,
      `must contain only A-Z a-z 0-9 and # + - . : = @ _ (libdm's rules: dmsetup and udev cannot use other characters as they are), ` +
        `got ${show(n)}; pass nameMangling: 'hex' to mangle as libdm does, or 'none' to send it as is`,
      printable(n),
    )
  }
  return n
}

/** A name as error messages show it: exact where it is printable ASCII, otherwise \xNN per byte. */
export function printable(name: string | Buffer): string {
  const b = typeof name === 'string' ? Buffer.from(name) : name
  let out = ''
  for (const c of b) out += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`
  return out
}

export function checkUuid(uuid: unknown, operation: string, device = ''): string {
  if (typeof uuid !== 'string') throw invalid(operation, 'uuid', `must be a string, got ${show(uuid)}`, device)
  const bytes = Buffer.byteLength(uuid)
  if (bytes < 1 || bytes > UUID_MAX) throw invalid(operation, 'uuid', `must be 1..${UUID_MAX} bytes, got ${bytes}`, device)
  if (uuid.includes('\0')) throw invalid(operation, 'uuid', 'must not contain NUL', device)
  return uuid
}

export function checkTargetType(type: unknown, operation: string, field: string, device = ''): string {
  if (typeof type !== 'string' || type.length === 0) throw invalid(operation, field, `must be a non-empty string, got ${show(type)}`, device)
  if (Buffer.byteLength(type) > TYPE_MAX) throw invalid(operation, field, `must be at most ${TYPE_MAX} bytes, got '${type}'`, device)
  if (/[\s\0]/.test(type)) throw invalid(operation, field, `must not contain whitespace or NUL, got '${type}'`, device)
  return type
}

export function checkSectors(n: unknown, operation: string, field: string, device = '', min = 0): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw invalid(operation, field, `must be a safe integer number of sectors, got ${show(n)}`, device)
  }
  if (n < min) throw invalid(operation, field, `must be >= ${min}, got ${n}`, device)
  return n
}

export function checkUint(n: unknown, operation: string, field: string, max: number, device = ''): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > max) {
    throw invalid(operation, field, `must be an integer in 0..${max}, got ${show(n)}`, device)
  }
  return n
}

export function checkParams(params: unknown, operation: string, field: string, device = ''): string {
  if (typeof params !== 'string') throw invalid(operation, field, `must be a string, got ${show(params)}`, device)
  if (/[\n\r\0]/.test(params)) throw invalid(operation, field, 'must not contain a newline or NUL', device)
  return params
}

/** An AbortSignal option: anything else would fail later, far from the call (in the poller's callback). */
export function checkSignal(signal: unknown, operation: string, device = ''): AbortSignal | undefined {
  if (signal === undefined) return undefined
  if (!(signal instanceof AbortSignal)) throw invalid(operation, 'signal', `must be an AbortSignal, got ${show(signal)}`, device)
  return signal
}

/** An options argument: undefined means {}, anything else must be an object. */
export function checkOptions<T extends object>(options: T | undefined | null, operation: string, device = ''): T {
  if (options === undefined) return {} as T
  if (options === null || typeof options !== 'object') throw invalid(operation, 'options', `must be an object, got ${show(options)}`, device)
  return options
}
