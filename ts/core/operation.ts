// Multi-step operations are written once, as generators of steps, and driven either synchronously or
// asynchronously by the facade's runner (DeviceMapper.run / runSync). A step is one ioctl, one batch of ioctls
// sent in a single native call, or a pause; the runner answers each step with its reply, or throws the step's
// error into the generator, so retries and rollbacks are ordinary try/catch in the operation's code.
import type { BatchResult, Command, NativeReply, NativeRequest } from './native'

/** One ioctl of a batch. `ifOk: i`: sent iff call i of the batch succeeded, whatever failed since. */
export interface Call {
  command: Command
  req: NativeRequest
  ifOk?: number
}

/** Per-step udev details: the caller's UdevFlags, and the API operation named in udev errors. */
export interface StepOptions {
  udevFlags?: number
  operation?: string
}

export type Step =
  | ({ step: 'ioctl'; command: Command; req: NativeRequest } & StepOptions)
  | ({ step: 'batch'; reqs: Call[] } & StepOptions)
  | { step: 'sleep'; ms: number }
  | { step: 'statusAll'; flags: number; inline: boolean }

/** An operation: yields steps, receives their replies, returns its result. */
export type Operation<T> = Generator<Step, T, unknown>

/** One ioctl; udev cookies and node updates are applied by the runner (see DeviceMapper.#send). */
export function* ioctl(command: Command, req: NativeRequest, options?: StepOptions): Operation<NativeReply> {
  // no object spread here: a literal spread with other keys is a slow path in V8, paid by every query
  return (yield { step: 'ioctl', command, req, udevFlags: options?.udevFlags, operation: options?.operation }) as NativeReply
}

/**
 * Several ioctls in one native call (one thread-pool hop). After a failure the rest are skipped, except a call
 * with `ifOk`; the result has one entry per call: its reply, `{ error }`, or undefined if it was skipped.
 */
export function* batch(reqs: Call[], options?: StepOptions): Operation<BatchResult> {
  return (yield { step: 'batch', reqs, udevFlags: options?.udevFlags, operation: options?.operation }) as BatchResult
}

/**
 * LIST_DEVICES and every listed device's TABLE_STATUS with `flags`, in one native call; `inline`: on the JS
 * thread even in the promise form (nothing in it sleeps). The replies of the devices still there.
 */
export function* statusAll(flags: number, inline: boolean): Operation<NativeReply[]> {
  return (yield { step: 'statusAll', flags, inline }) as NativeReply[]
}

export function* sleep(ms: number): Operation<void> {
  yield { step: 'sleep', ms }
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** Drives a generator of steps (an Operation, or another wing's own step type) to its end, answering each step with `exec`. */
export function drive<T, S = Step>(op: Generator<S, T, unknown>, exec: (s: S) => unknown): T {
  let next = op.next()
  while (!next.done) {
    let reply: unknown
    try {
      reply = exec(next.value)
    } catch (err) {
      next = op.throw(err)
      continue
    }
    next = op.next(reply)
  }
  return next.value
}

/** The asynchronous twin of drive(). */
export async function driveAsync<T, S = Step>(op: Generator<S, T, unknown>, exec: (s: S) => Promise<unknown>): Promise<T> {
  let next = op.next()
  while (!next.done) {
    let reply: unknown
    try {
      reply = await exec(next.value)
    } catch (err) {
      next = op.throw(err)
      continue
    }
    next = op.next(reply)
  }
  return next.value
}
