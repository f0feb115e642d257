// thin: the thin-pool handle (messages, snapshots of active origins, resizing, typed status). Imports core and
// targets only.
export { MAX_THIN_ID, ThinPool, checkThinId, checkTransactionId } from './thin-pool'
export type { SnapshotOptions, ThinPoolStatus, TransactionId } from './thin-pool'
