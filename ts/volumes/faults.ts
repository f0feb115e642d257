// Fault injection for the crash tests: every kernel or store step of a volume operation calls `step(name)`;
// when DEVMAPPER_VOLUMES_CRASH_AT names that step, the process kills itself with SIGKILL right there (no
// finally blocks, no exit handlers: what a crash or an OOM kill leaves behind). Off unless the variable is set.

/** The steps of each operation, in order; a kill test walks these. */
export const STEPS = {
  createVolume: ['create.intent', 'create.create_thin', 'create.activate', 'create.mkfs', 'create.deactivate', 'create.set_transaction_id', 'create.commit'],
  snapshot: ['snapshot.intent', 'snapshot.suspend', 'snapshot.create_snap', 'snapshot.resume', 'snapshot.set_transaction_id', 'snapshot.commit'],
  resize: ['resize.intent', 'resize.reload', 'resize.grow_fs', 'resize.commit'],
  removeVolume: ['remove.intent', 'remove.discard', 'remove.deactivate', 'remove.delete', 'remove.set_transaction_id', 'remove.commit'],
  growPool: ['grow.intent', 'grow.truncate', 'grow.loop_capacity', 'grow.load', 'grow.resume', 'grow.commit'],
  /** the delete of a thin id queued by a deferred deletion, at the start of any locked call */
  purge: ['purge.delete', 'purge.set_transaction_id', 'purge.commit'],
  /** check({ repair: true }) deleting an orphan thin id */
  repair: ['repair.delete', 'repair.set_transaction_id', 'repair.commit'],
} as const

export type Step = (typeof STEPS)[keyof typeof STEPS][number]

export const CRASH_ENV = 'DEVMAPPER_VOLUMES_CRASH_AT'

export function step(name: Step): void {
  if (process.env[CRASH_ENV] === name) process.kill(process.pid, 'SIGKILL')
}
