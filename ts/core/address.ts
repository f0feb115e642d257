// Addressing: a DeviceRef resolved to the request fields that name exactly one device, and its label in errors.
import { invalid } from './errors'
import type { NativeRequest } from './native'
import type { DeviceRef } from './types'
import { checkName, checkNameRef, checkUint, checkUuid, mangleName, printable, type NameMangling } from './validate'

/**
 * Resolves a DeviceRef into the request fields that address it (exactly one of name, uuid, dev). A Buffer
 * name is sent byte for byte; with `mangling: 'hex'` a string name is mangled as libdm does (as dmsetup
 * looks names up).
 */
export function address(ref: DeviceRef, operation: string, mangling: NameMangling = 'reject'): NativeRequest {
  if (typeof ref === 'string' || Buffer.isBuffer(ref)) return { name: nameRef(ref, operation, mangling) }
  if (ref !== null && typeof ref === 'object') {
    if ('name' in ref) return { name: nameRef(ref.name, operation, mangling) }
    if ('uuid' in ref) return { uuid: checkUuid(ref.uuid, operation) }
    if ('major' in ref) {
      return {
        major: checkUint(ref.major, operation, 'major', 0xfff),
        minor: checkUint(ref.minor, operation, 'minor', 0xfffff),
      }
    }
  }
  throw invalid(operation, 'device', 'must be a name (string or Buffer), { name }, { uuid } or { major, minor }')
}

function nameRef(name: unknown, operation: string, mangling: NameMangling): string | Buffer {
  const n = checkNameRef(name, operation)
  return mangling === 'hex' && typeof n === 'string' ? checkName(mangleName(n, operation), operation) : n
}

export function label(req: NativeRequest): string {
  if (Buffer.isBuffer(req.name)) return printable(req.name)
  return req.name ?? req.uuid ?? `${req.major}:${req.minor}`
}
