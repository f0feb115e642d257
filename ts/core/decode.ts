// Reply decoders: the native layer's replies turned into the public shapes. Pure functions.
import { Flags } from './flags'
import type { NativeReply } from './native'
import { nodePath } from './nodes'
import type { DeviceInfo, ListedDevice, Version } from './types'

export function toVersion(v: readonly number[]): Version {
  return { major: v[0], minor: v[1], patch: v[2] }
}

export function toInfo(r: NativeReply): DeviceInfo {
  const info: DeviceInfo = {
    name: r.name,
    uuid: r.uuid,
    major: r.major,
    minor: r.minor,
    openCount: r.openCount,
    eventNr: r.eventNr,
    targetCount: r.targetCount,
    suspended: (r.flags & Flags.SUSPEND) !== 0,
    readOnly: (r.flags & Flags.READONLY) !== 0,
    activeTable: (r.flags & Flags.ACTIVE_PRESENT) !== 0,
    inactiveTable: (r.flags & Flags.INACTIVE_PRESENT) !== 0,
    deferredRemove: (r.flags & Flags.DEFERRED_REMOVE) !== 0,
    // a name that is not UTF-8 has no string path; /dev/dm-<minor> always exists (devtmpfs)
    path: r.nameBuffer ? `/dev/dm-${r.minor}` : nodePath(r.name),
  }
  if (r.nameBuffer) info.nameBuffer = r.nameBuffer
  return info
}

export function toList(r: NativeReply): ListedDevice[] {
  // abi.ts decodes each record in a ListedDevice's shape (a second object per device is a third of the cost
  // of listing 1,000 devices)
  return r.devices ?? []
}
