// Each loop operation is written once, as a generator that yields the ioctls it needs; core's drivers run it:
// `runSync` sends them on the JS thread, `runAsync` on the libuv thread pool. The generator's try/finally closes its fds either way.
import type { NativeLoop } from '../core/native'
import { native } from '../core/native'
import { drive, driveAsync, sleepSync } from '../core/operation'

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

export function runSync<T>(steps: Steps<T>): T {
  return drive(steps, (s) => ('sleepMs' in s ? sleepSync(s.sleepMs) : (native.loop[`${s.call}Sync`] as AnyFn)(...s.args)))
}

export function runAsync<T>(steps: Steps<T>): Promise<T> {
  return driveAsync(steps, async (s) => {
    if ('sleepMs' in s) return new Promise((done) => setTimeout(done, s.sleepMs))
    if (INLINE.has(s.call)) return (native.loop[`${s.call}Sync`] as AnyFn)(...s.args)
    return (native.loop[s.call] as AnyFn)(...s.args)
  })
}
