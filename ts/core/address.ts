// Addressing: a DeviceRef resolved to the request fields that name exactly one device, and its label in errors.
import { invalid } from './errors'
import type { NativeRequest } from './native'
import type { DeviceRef } from './types'
import { checkName, checkUint, checkUuid } from './validate'

/** Resolves a DeviceRef into the request fields that address it (exactly one of name, uuid, dev). */
export function address(ref: DeviceRef, operation: string): NativeRequest {
  if (typeof ref === 'string') return { name: checkName(ref, operation) }
  if (ref !== null && typeof ref === 'object') {
    if ('name' in ref) return { name: checkName(ref.name, operation) }
    if ('uuid' in ref) return { uuid: checkUuid(ref.uuid, operation) }
    if ('major' in ref) {
      return {
        major: checkUint(ref.major, operation, 'major', 0xfff),
        minor: checkUint(ref.minor, operation, 'minor', 0xfffff),
      }
    }
  }
  throw invalid(operation, 'device', 'must be a name, { name }, { uuid } or { major, minor }')
}

export function label(req: NativeRequest): string {
  return req.name ?? req.uuid ?? `${req.major}:${req.minor}`
}
