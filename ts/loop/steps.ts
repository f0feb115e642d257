// Each loop operation is written once, as a generator that yields the ioctls it needs; `runSync` sends them
// on the JS thread, `runAsync` on the libuv thread pool. The generator's try/finally closes its fds either way.
import type { NativeLoop } from '../core/native'
import { native } from '../core/native'

type Ioctl = Exclude<keyof NativeLoop, `${string}Sync`>
type Step = { call: Ioctl; args: unknown[] } | { sleepMs: number }
export type Steps<T> = Generator<Step, T, unknown>

/** Yields one ioctl; its errno or reply comes back as the value of `yield*`. */
export function* ioctl<K extends Ioctl>(call: K, ...args: Parameters<NativeLoop[K]>): Generator<Step, Awaited<ReturnType<NativeLoop[K]>>, unknown> {
  return (yield { call, args }) as Awaited<ReturnType<NativeLoop[K]>>
}

export function* sleep(ms: number): Steps<void> {
  yield { sleepMs: ms }
}

// LOOP_GET_STATUS64 never sleeps: its promise form runs inline too (a thread-pool hop costs more than the ioctl).
const INLINE: ReadonlySet<Ioctl> = new Set<Ioctl>(['getStatus'])

type AnyFn = (...args: unknown[]) => unknown

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

export function runSync<T>(steps: Steps<T>): T {
  let r = steps.next()
  while (!r.done) {
    const s = r.value
    let value: unknown
    try {
      if ('sleepMs' in s) sleepSync(s.sleepMs)
      else value = (native.loop[`${s.call}Sync`] as AnyFn)(...s.args)
    } catch (err) {
      r = steps.throw(err)
      continue
    }
    r = steps.next(value)
  }
  return r.value
}

export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let r = steps.next()
  while (!r.done) {
    const s = r.value
    let value: unknown
    try {
      if ('sleepMs' in s) await new Promise((done) => setTimeout(done, s.sleepMs))
      else if (INLINE.has(s.call)) value = (native.loop[`${s.call}Sync`] as AnyFn)(...s.args)
      else value = await (native.loop[s.call] as AnyFn)(...s.args)
    } catch (err) {
      r = steps.throw(err)
      continue
    }
    r = steps.next(value)
  }
  return r.value
}
