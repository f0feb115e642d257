// A small in-memory stand-in for the native control (the `control` option of DeviceMapper), for fast host
// tests of orchestration: rollback, retries, which requests carry udev cookies. It records every request and
// fails the ones a test scripts with failOn(). Never evidence that the kernel path works: that is test/kernel.
import { constants } from 'node:os'
import { DmError, errnoName } from '../../ts/core/errors'
import { Flags } from '../../ts/core/flags'
import { native, type BatchRequest, type BatchResult, type Command, type NativeControl, type NativeReply, type NativeRequest } from '../../ts/core/native'

interface FakeDevice {
  name: string
  uuid: string
  minor: number
  live: boolean
  inactive: boolean
  suspended: boolean
  openCount: number
  eventNr: number
  table: { start: number | bigint; length: number | bigint; type: string; params: string }[]
}

const u64 = (n: number | bigint): number | bigint => (BigInt(n) <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : BigInt(n))

const byNr = new Map(Object.entries(native.commands).map(([name, c]) => [c.nr, name as Command]))

export class FakeControl {
  readonly calls: { command: Command; req: NativeRequest }[] = []
  readonly devices = new Map<string, FakeDevice>()
  #failures: { command: Command; errno: number; times: number }[] = []
  #nextMinor = 0

  /** The next `times` requests of `command` fail with `errno` (a name like 'EBUSY'). */
  failOn(command: Command, code: string, times = 1): this {
    this.#failures.push({ command, errno: (constants.errno as Record<string, number>)[code], times })
    return this
  }

  asControl(): NativeControl {
    const control: Record<string, unknown> = {
      close: () => undefined,
      fd: () => -1,
      batchSync: (reqs: BatchRequest[]) => this.#batch(reqs),
      batch: async (reqs: BatchRequest[]) => this.#batch(reqs),
      statusAllSync: (flags: number) => this.#statusAll(flags),
      statusAll: async (flags: number) => this.#statusAll(flags),
    }
    for (const command of Object.keys(native.commands) as Command[]) {
      control[`${command}Sync`] = (req: NativeRequest = {}) => this.send(command, req)
      control[command] = async (req: NativeRequest = {}) => this.send(command, req)
    }
    return control as unknown as NativeControl
  }

  // As the native batch: after a failure the rest are skipped (undefined), except an entry with `ifOk: i`, sent
  // iff entry i succeeded.
  #batch(reqs: BatchRequest[]): BatchResult {
    const out: BatchResult = []
    let failed = false
    reqs.forEach(({ cmd, ifOk, ...req }, i) => {
      const send = ifOk === undefined ? !failed : ifOk < i && out[ifOk] !== undefined && !('error' in out[ifOk]!)
      if (!send) {
        out.push(undefined)
        return
      }
      try {
        out.push(this.send(byNr.get(cmd)!, req))
      } catch (error) {
        out.push({ error: error as DmError })
        failed = true
      }
    })
    return out
  }

  #statusAll(flags: number): NativeReply[] {
    this.calls.push({ command: 'listDevices', req: {} })
    return [...this.devices.keys()].map((name) => this.send('tableStatus', { name, flags }))
  }

  send(command: Command, request: NativeRequest): NativeReply {
    this.calls.push({ command, req: request })
    // names are bytes; the fake keys its devices by their UTF-8 (or, for a Buffer, latin1) string
    const req = { ...request, name: Buffer.isBuffer(request.name) ? request.name.toString('latin1') : request.name }
    const f = this.#failures.find((x) => x.command === command && x.times > 0)
    if (f) {
      f.times--
      throw this.#error(command, req, f.errno)
    }
    const dev = req.name !== undefined ? this.devices.get(req.name)
      : req.minor !== undefined ? [...this.devices.values()].find((d) => d.minor === req.minor) : undefined
    const need = (): FakeDevice => dev ?? this.#throw(command, req, 'ENXIO')
    switch (command) {
      case 'devCreate':
        if (dev) this.#throw(command, req, 'EBUSY')
        this.devices.set(req.name!, {
          name: req.name!, uuid: req.uuid ?? '', minor: this.#nextMinor++, live: false, inactive: false, suspended: false,
          openCount: 0, eventNr: 0, table: [],
        })
        return this.#reply(this.devices.get(req.name!)!)
      case 'tableLoad':
        need().inactive = true
        // as the kernel's u64s come back from the reply decoder: a number when exact, else a bigint
        need().table = (req.targets ?? []).map((t) => ({ ...t, start: u64(t.start), length: u64(t.length) }))
        return this.#reply(need())
      case 'tableStatus':
        return { ...this.#reply(need()), targets: need().table }
      case 'devSuspend': {
        const d = need()
        if ((req.flags ?? 0) & Flags.SUSPEND) d.suspended = true
        else {
          if (d.inactive) (d.live = true), (d.inactive = false)
          d.suspended = false
        }
        return this.#reply(d, Flags.UEVENT_GENERATED)
      }
      case 'devRemove':
        if (need().openCount > 0) this.#throw(command, req, 'EBUSY')
        this.devices.delete(need().name)
        return this.#reply(need(), Flags.UEVENT_GENERATED)
      case 'devStatus':
        return this.#reply(need())
      case 'listDevices':
        return { ...this.#empty(), devices: [...this.devices.values()].map((d) => ({ name: d.name, major: 253, minor: d.minor, eventNr: d.eventNr, uuid: d.uuid })) }
      case 'targetMsg':
        need()
        return { ...this.#reply(need()), data: undefined }
      default:
        return dev ? this.#reply(dev) : this.#empty()
    }
  }

  #empty(): NativeReply {
    return { version: [4, 47, 0], flags: 0, eventNr: 0, openCount: 0, targetCount: 0, major: 0, minor: 0, name: '', uuid: '', bufferSize: 0 }
  }

  #reply(d: FakeDevice, extra = 0): NativeReply {
    const flags =
      (d.live ? Flags.ACTIVE_PRESENT : 0) | (d.inactive ? Flags.INACTIVE_PRESENT : 0) | (d.suspended ? Flags.SUSPEND : 0) | extra
    return { ...this.#empty(), flags, name: d.name, uuid: d.uuid, major: 253, minor: d.minor, openCount: d.openCount, eventNr: d.eventNr, targetCount: d.live ? 1 : 0 }
  }

  #error(command: Command, req: NativeRequest, errno: number): DmError {
    const code = errnoName(errno)
    return new DmError({ message: `${native.commands[command].name} ${req.name ?? ''}: fake ${code}`, code, errno, operation: native.commands[command].name, device: String(req.name ?? '') })
  }

  #throw(command: Command, req: NativeRequest, code: string): never {
    throw this.#error(command, req, (constants.errno as Record<string, number>)[code])
  }
}
