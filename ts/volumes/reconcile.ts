// What `open` (and every operation, once it holds the lock) decides about an intent a dead process left: roll
// the operation forward to its end or back to its start, so each operation is all-or-nothing. Pure decisions
// here; the manager carries them out against the kernel.
//
// The commit point of create and snapshot is the pool's set_transaction_id (on pools we own): a pool already at
// txid+1 holds the new thin id for good, so the store catches up (forward); otherwise the id is deleted if it got
// made (back). Without a transaction id to go by (LVM pools) both roll back. Removal, purge and resize always
// roll forward: the caller asked for them, and every step of theirs can be repeated.
import { DmError } from '../core/errors'
import type { Intent, State } from './store'

export type Direction = 'forward' | 'back'

export function decide(intent: Intent, poolTxid: bigint, useTxid: boolean): Direction {
  switch (intent.op) {
    case 'create':
    case 'snapshot':
      return useTxid && poolTxid === BigInt(intent.txid) + 1n ? 'forward' : 'back'
    default:
      return 'forward'
  }
}

/**
 * The pool's transaction id must be the one the store committed, or, with an intent in flight that moves it,
 * that one plus one. Anything else means someone else changed the pool (Docker #15629): refuse with EBUSY.
 */
export function checkTransactionId(state: State, poolTxid: bigint, useTxid: boolean, pool: string): void {
  if (!useTxid) return
  const stored = BigInt(state.transactionId)
  const i = state.intent
  const moving = i !== undefined && 'txid' in i
  if (poolTxid === stored) return
  if (moving && BigInt(i.txid) === stored && poolTxid === stored + 1n) return
  throw new DmError({
    message: `thin pool ${pool} has transaction id ${poolTxid}, but this root committed ${stored}: the pool was changed by someone else; refusing to touch it (if only the transaction id moved, VolumeManager.recoverTransactionId, CLI 'volume recover-txid', checks the pool against the state and adopts it)`,
    code: 'EBUSY',
    operation: 'open',
    device: pool,
  })
}
