// The package's DeviceMapper: the core facade plus what the higher wings add to it (thin-pool handles and
// device events). It sits above every wing, so no wing imports it.
import { address, label } from './core/address'
import { toInfo } from './core/decode'
import { DeviceMapper as CoreDeviceMapper } from './core/device-mapper'
import type { DeviceInfo, DeviceRef } from './core/types'
import { checkOptions, checkSignal, checkUint } from './core/validate'
import { EventPoller } from './events/event-poller'
import { DeviceWatch, type WatchOptions } from './events/watch'
import { ThinPool } from './thin/thin-pool'

export class DeviceMapper extends CoreDeviceMapper {
  #events: EventPoller | undefined

  /**
   * Resolves when the device's event counter moves past `eventNr` (default: its value at the call), with the
   * device's info at that moment. Waits on the poll handle of watch(), not in a thread-pool worker; `signal`
   * cancels the wait (rejecting with its reason).
   */
  async waitEvent(device: DeviceRef, eventNr?: number | { eventNr?: number; signal?: AbortSignal }): Promise<DeviceInfo> {
    const req = address(device, 'waitEvent')
    const opts = typeof eventNr === 'object' && eventNr !== null ? eventNr : { eventNr }
    const last = opts.eventNr === undefined ? undefined : checkUint(opts.eventNr, 'waitEvent', 'eventNr', 0xffffffff, label(req))
    const signal = checkSignal(opts.signal, 'waitEvent', label(req))
    return toInfo(await this.#eventPoller().waitFor(req, last, signal, label(req)))
  }

  /**
   * Device events as an async iterator: `{ name, eventNr, previousEventNr, ... }` for every device whose event
   * counter moved since watch() was called. Ends when `signal` aborts; never keeps the process alive on its own.
   */
  watch(options: WatchOptions = {}): DeviceWatch {
    const opts = checkOptions(options, 'watch')
    checkSignal(opts.signal, 'watch')
    return new DeviceWatch(this.#eventPoller(), opts)
  }

  #eventPoller(): EventPoller {
    this.#events ??= new EventPoller(this.controlPath)
    return this.#events
  }

  /** A handle on the thin-pool device `name`: its messages, snapshots, resizing and status. */
  thinPool(name: string): ThinPool {
    return new ThinPool(this, name)
  }
}
