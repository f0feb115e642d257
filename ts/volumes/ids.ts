// Thin id allocation: 24-bit ids taken from the state, never one that a volume, a pending delete, a quarantined
// id or the intent in flight holds. The search starts at nextId and wraps, so ids are not reused right away
// (a late deferred delete of an old id cannot hit a new volume).
import { DmError } from '../core/errors'
import type { State } from './store'

export const MAX_THIN_ID = 0xffffff

/** Every id the state accounts for. */
export function usedIds(state: State): Set<number> {
  const used = new Set<number>()
  for (const v of Object.values(state.volumes)) used.add(v.deviceId)
  for (const id of state.pendingDeletes) used.add(id)
  for (const id of state.quarantined) used.add(id)
  const i = state.intent
  if (i && 'deviceId' in i) used.add(i.deviceId)
  return used
}

/** The next free id at or after state.nextId (wrapping); advances nextId past it. ENOSPC when all 2^24 are used. */
export function allocateId(state: State): number {
  const used = usedIds(state)
  if (used.size > MAX_THIN_ID) {
    throw new DmError({ message: 'createVolume: all 2^24 thin ids are in use', code: 'ENOSPC', operation: 'createVolume' })
  }
  let id = state.nextId & MAX_THIN_ID
  while (used.has(id)) id = (id + 1) & MAX_THIN_ID
  state.nextId = (id + 1) & MAX_THIN_ID
  return id
}
