// Narrowing of table() and status() results in tests, with a run-time check that the kernel gave what the type
// says: the union types leave typed fields unreachable until `type` (and a status's `state`) are tested.
import type { StatusTarget, TableTarget } from '../../ts'

export function tableOf<K extends TableTarget['type']>(t: TableTarget | undefined, type: K): Extract<TableTarget, { type: K }> {
  if (t?.type !== type) throw new Error(`expected a ${type} table target, got ${JSON.stringify(t)}`)
  return t as Extract<TableTarget, { type: K }>
}

/** A status of `type` in state 'active' (the typed fields), for the types whose status has a state. */
export function activeOf<K extends StatusTarget['type']>(t: StatusTarget | undefined, type: K): Extract<StatusTarget, { type: K; state: 'active' }> {
  if (t?.type !== type || !('state' in t) || t.state !== 'active') throw new Error(`expected an active ${type} status, got ${JSON.stringify(t)}`)
  return t as Extract<StatusTarget, { type: K; state: 'active' }>
}

export function statusOf<K extends StatusTarget['type']>(t: StatusTarget | undefined, type: K): Extract<StatusTarget, { type: K }> {
  if (t?.type !== type) throw new Error(`expected a ${type} status, got ${JSON.stringify(t)}`)
  return t as Extract<StatusTarget, { type: K }>
}
