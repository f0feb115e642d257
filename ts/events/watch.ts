// dm.watch(): an async iterator of device events, fed by the EventPoller (DM_DEV_ARM_POLL + libuv poll on the
// control fd). The baseline counters are taken when watch() is called, so events caused right after the call
// are seen even before the first next(). At most one event per device waits in the queue: a slow consumer
// gets the newest counter, never an unbounded backlog.
import { invalid } from '../core/errors'
import type { EventPoller, ListedCounter } from './event-poller'

export interface WatchOptions {
  /** ends the iteration (normally, not with an error) when aborted */
  signal?: AbortSignal
  /** keep the process alive while watching (default false: a watch alone never holds the process open) */
  keepAlive?: boolean
}

export interface DeviceEvent {
  name: string
  /** the name's exact bytes when they are not valid UTF-8 (see ListedDevice.nameBuffer) */
  nameBuffer?: Buffer
  /** the device's event counter now */
  eventNr: number
  /** the counter when last seen (0 for a device that appeared after the watch started) */
  previousEventNr: number
  major: number
  minor: number
  uuid?: string
}

type Pending = { resolve: (r: IteratorResult<DeviceEvent>) => void; reject: (err: unknown) => void }

export class DeviceWatch implements AsyncIterableIterator<DeviceEvent> {
  readonly #seen = new Map<string, ListedCounter>()
  readonly #queue: DeviceEvent[] = []
  #waiting: Pending | undefined
  #error: unknown
  #ended = false
  #unsubscribe: (() => void) | undefined
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => this.#end()

  constructor(poller: EventPoller, options: WatchOptions = {}) {
    this.#signal = options.signal
    if (this.#signal?.aborted) {
      this.#ended = true
      return
    }
    this.#unsubscribe = poller.subscribe({
      keepAlive: options.keepAlive === true,
      onList: (devices) => this.#compare(devices),
      onError: (err) => this.#fail(err),
    })
    try {
      for (const d of poller.listSync()) this.#seen.set(key(d), d)
    } catch (err) {
      this.#unsubscribe()
      throw err
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<DeviceEvent>> {
    const value = this.#queue.shift()
    if (value !== undefined) return Promise.resolve({ value, done: false })
    if (this.#error !== undefined) {
      const err = this.#error
      this.#error = undefined
      return Promise.reject(err)
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true })
    if (this.#waiting) return Promise.reject(invalid('watch', 'next', 'must not be called again before the previous next() settled'))
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject }
    })
  }

  /** Ends the watch (also what `break` out of for-await calls). */
  return(): Promise<IteratorResult<DeviceEvent>> {
    this.#queue.length = 0
    this.#end()
    return Promise.resolve({ value: undefined, done: true })
  }

  #compare(devices: ListedCounter[]): void {
    const now = new Map(devices.map((d) => [key(d), d]))
    for (const [k, d] of now) {
      const before = this.#seen.get(k)?.eventNr ?? 0
      if (d.eventNr !== before) this.#push({ ...d, previousEventNr: before })
    }
    this.#seen.clear()
    for (const [k, d] of now) this.#seen.set(k, d)
  }

  #push(ev: DeviceEvent): void {
    if (this.#ended) return
    if (this.#waiting) {
      const w = this.#waiting
      this.#waiting = undefined
      w.resolve({ value: ev, done: false })
      return
    }
    const queued = this.#queue.findIndex((q) => q.major === ev.major && q.minor === ev.minor && q.name === ev.name)
    if (queued >= 0) this.#queue[queued] = { ...ev, previousEventNr: this.#queue[queued].previousEventNr }
    else this.#queue.push(ev)
  }

  #end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#unsubscribe?.()
    const w = this.#waiting
    this.#waiting = undefined
    w?.resolve({ value: undefined, done: true })
  }

  #fail(err: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
    const w = this.#waiting
    this.#waiting = undefined
    if (w) w.reject(err)
    else this.#error = err
  }
}

// A device is its dev_t for as long as it exists; the name guards against a new device reusing a minor.
function key(d: ListedCounter): string {
  return `${d.major}:${d.minor}:${d.name}`
}
