// The per-operation lock on a volume root: flock(2) on root/lock, taken for the length of one operation. The
// kernel drops it when the process dies, so a crash never leaves a lock behind (the file may stay; its
// existence means nothing). Taken with LOCK_NB and retried on a timer so the event loop never blocks.
import { closeSync, openSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { DmError, errnoName } from '../core/errors'
import { native } from '../core/native'

export interface RootLock {
  release(): void
}

/** Waits up to `timeoutMs` for the exclusive lock on `file`; EBUSY (EWOULDBLOCK) after that. */
export async function lockRoot(file: string, timeoutMs = 60_000): Promise<RootLock> {
  const fd = openSync(file, 'a+', 0o600)
  const { flock, LOCK_EX, LOCK_NB, LOCK_UN } = native.lock
  const deadline = Date.now() + timeoutMs
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    const err = flock(fd, LOCK_EX | LOCK_NB)
    if (err === 0) break
    if (errnoName(err) !== 'EWOULDBLOCK' && errnoName(err) !== 'EAGAIN') {
      closeSync(fd)
      throw new DmError({ message: `flock ${file}: ${errnoName(err)}`, code: errnoName(err), errno: err, operation: 'flock', device: file })
    }
    if (Date.now() > deadline) {
      closeSync(fd)
      throw new DmError({ message: `flock ${file}: still held by another process after ${timeoutMs} ms`, code: 'EBUSY', operation: 'flock', device: file })
    }
    await sleep(delay)
  }
  let held = true
  return {
    release() {
      if (!held) return
      held = false
      flock(fd, LOCK_UN)
      closeSync(fd)
    },
  }
}
