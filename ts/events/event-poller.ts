// Device events without a blocked thread-pool worker: one control fd of our own, armed with DM_DEV_ARM_POLL and
// watched by a libuv poll handle (native/poll.cc). When it turns readable we re-arm *before* listing the
// devices, so an event that lands while we list wakes us again instead of being lost; subscribers (watch()
// iterators, waitEvent calls) compare the listed event counters with what they saw last.
//
// The fd is separate from DeviceMapper's own so that close() on the facade, or a caller's own armPoll(), never
// disturbs the watcher. It opens with the first subscriber and closes with the last. The native Control and
// Poller are made once and kept for the poller's lifetime (a round closes the fd and the poll handle, the next
// reopens them): a fresh pair per round left reply buffers (~32 KiB), wrappers and async contexts waiting for
// the garbage collector, and a loop of watch open/close rounds grew RSS by tens to hundreds of MiB.
import { toList } from '../core/decode'
import { DmError, errnoName } from '../core/errors'
import { Flags } from '../core/flags'
import { native, type NativeControl, type NativePoller, type NativeReply, type NativeRequest } from '../core/native'

/** One LIST_DEVICES record with its event counter (interface 4.37+). */
export interface ListedCounter {
  name: string
  /** the name's exact bytes when they are not valid UTF-8 (see ListedDevice.nameBuffer) */
  nameBuffer?: Buffer
  major: number
  minor: number
  uuid?: string
  eventNr: number
}

export interface Subscriber {
  /** every listing taken after a wake-up */
  onList(devices: ListedCounter[]): void
  /** the poll or the listing failed; the subscriber is dropped */
  onError(err: Error): void
  /** hold the process open while subscribed (waitEvent does; watch() only when asked) */
  keepAlive: boolean
}

function counters(r: NativeReply): ListedCounter[] {
  const devices = toList(r)
  // Counters in the listing came with DM_DEV_ARM_POLL (4.37): on an older kernel arming already failed.
  if (devices.some((d) => d.eventNr === undefined)) {
    throw new DmError({ message: 'the kernel lists no event counters (needs interface 4.37)', code: 'EOPNOTSUPP', operation: 'DM_LIST_DEVICES' })
  }
  return devices as ListedCounter[]
}

export class EventPoller {
  readonly #path: string
  readonly #subscribers = new Set<Subscriber>()
  /** made with the first subscriber, kept while this poller lives; the fd and poll handle are open only while subscribed */
  #native: { control: NativeControl; poller: NativePoller } | undefined
  /** the control while subscribed, else undefined */
  #control: NativeControl | undefined
  /** counts rounds, so a listing from an earlier round is told apart from the current one */
  #epoch = 0
  #listing = false
  #again = false
  #refs = 0

  constructor(controlPath: string) {
    this.#path = controlPath
  }

  /** Adds a subscriber, opening and arming the fd if it is the first; returns the unsubscribe function. */
  subscribe(sub: Subscriber): () => void {
    if (this.#subscribers.size === 0) this.#start()
    this.#subscribers.add(sub)
    if (sub.keepAlive && this.#refs++ === 0) this.#native!.poller.ref()
    let done = false
    return () => {
      if (done) return
      done = true
      this.#drop(sub)
    }
  }

  /** The watcher's control handle, for synchronous baselines taken at subscription time. */
  get control(): NativeControl {
    if (!this.#control) throw new Error('EventPoller: no subscriber')
    return this.#control
  }

  /** Every device and its counter, now (used as a baseline right after arming). */
  listSync(): ListedCounter[] {
    return counters(this.control.listDevicesSync({ flags: Flags.UUID }))
  }

  #start(): void {
    this.#native ??= { control: new native.Control(this.#path), poller: new native.Poller() }
    const { control, poller } = this.#native
    this.#epoch++
    try {
      control.devArmPollSync()
      poller.start(control.fd(), (errno) => this.#onReadable(errno))
    } catch (err) {
      poller.close()
      control.close()
      throw err
    }
    this.#control = control
  }

  #stop(): void {
    this.#native?.poller.close()
    this.#native?.control.close()
    this.#control = undefined
    this.#listing = false
    this.#again = false
    this.#refs = 0
  }

  #drop(sub: Subscriber): void {
    if (!this.#subscribers.delete(sub)) return
    if (sub.keepAlive && --this.#refs === 0) this.#native?.poller.unref()
    if (this.#subscribers.size === 0) this.#stop()
  }

  #onReadable(errno: number): void {
    if (errno !== 0) {
      const code = errnoName(errno, 'EIO')
      this.#fail(new DmError({ message: `poll on ${this.#path} failed: ${code}`, code, errno, operation: 'poll', device: this.#path }))
      return
    }
    try {
      // Re-arm first: the fd stays readable (level-triggered) until armed again, and anything that happens from
      // here on must wake us once more.
      this.#control!.devArmPollSync()
    } catch (err) {
      this.#fail(err as Error)
      return
    }
    this.#scan()
  }

  /** Lists the devices on the thread pool; wake-ups during a listing coalesce into one more listing. */
  #scan(): void {
    if (this.#listing) {
      this.#again = true
      return
    }
    const control = this.#control
    if (!control) return
    const epoch = this.#epoch
    const current = (): boolean => this.#control !== undefined && this.#epoch === epoch
    this.#listing = true
    control.listDevices({ flags: Flags.UUID }).then(
      (reply) => {
        if (!current()) return // stopped (and maybe restarted) meanwhile
        this.#listing = false
        let devices: ListedCounter[]
        try {
          devices = counters(reply)
        } catch (err) {
          this.#fail(err as Error)
          return
        }
        for (const sub of [...this.#subscribers]) sub.onList(devices)
        if (this.#again && current()) {
          this.#again = false
          this.#scan()
        }
      },
      (err: Error) => {
        if (current()) this.#fail(err)
      },
    )
  }

  #fail(err: Error): void {
    const subs = [...this.#subscribers]
    this.#subscribers.clear()
    this.#stop()
    for (const sub of subs) sub.onError(err)
  }

  /**
   * Resolves with the device's status once its counter differs from `last` (default: its counter now), like
   * DM_DEV_WAIT but on the poll handle; rejects with `signal.reason` on abort and ENXIO if the device goes away.
   */
  waitFor(req: NativeRequest, last: number | undefined, signal: AbortSignal | undefined, device: string): Promise<NativeReply> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise<NativeReply>((resolve, reject) => {
      let finished = false
      // Addressed as given until the baseline says which device it is; from then on followed by major:minor,
      // which a rename keeps (a name or uuid would lose it).
      let dev: NativeRequest = req
      const sub: Subscriber = {
        keepAlive: true,
        onList: (devices) => {
          const d = devices.find((x) => matches(x, dev))
          if (d === undefined) {
            finish(() => reject(new DmError({ message: `waitEvent ${device}: the device was removed while waiting`, code: 'ENXIO', operation: 'waitEvent', device })))
          } else if (d.eventNr !== last) {
            const control = this.control
            finish(() => control.devStatus(dev).then(resolve, reject))
          }
        },
        onError: (err) => finish(() => reject(err)),
      }
      const onAbort = (): void => finish(() => reject(signal!.reason))
      const unsubscribe = this.subscribe(sub)
      const finish = (then: () => void): void => {
        if (finished) return
        finished = true
        signal?.removeEventListener('abort', onAbort)
        then() // before unsubscribing: the last subscriber closes the control fd that `then` may still use
        unsubscribe()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      try {
        // Armed already, so the baseline is taken after arming: nothing between the two is lost.
        const now = this.control.devStatusSync(req)
        dev = { major: now.major, minor: now.minor }
        last ??= now.eventNr
        if (now.eventNr !== last) finish(() => resolve(now))
      } catch (err) {
        finish(() => reject(err))
      }
    })
  }
}

function matches(d: ListedCounter, req: NativeRequest): boolean {
  if (req.name !== undefined) return d.name === req.name
  if (req.uuid !== undefined) return d.uuid === req.uuid
  return d.major === req.major && d.minor === req.minor
}
