// The one place where requests meet the native control: it runs an operation's steps, and decides which
// commands carry a udev cookie and what happens to /dev/mapper afterwards (as devicemapper-rs does in its single
// do_ioctl): a resume makes or checks the node, a remove drops it, a rename moves it. Callers never pair
// begin/run themselves.
import { label } from './address'
import { Flags } from './flags'
import { native, type BatchRequest, type BatchResult, type Command, type NativeControl, type NativeReply, type NativeRequest } from './native'
import { drive, driveAsync, sleepSync, type Call, type Operation, type Step } from './operation'
import { checkNodeFree } from './nodes'
import { UdevFlags, type NodeAction, type Ticket, type UdevSync } from './udev'
import { checkNewName, mangleName, type NameMangling } from './validate'

const commands = native.commands

/** The node action of a command that makes the kernel send a uevent, or undefined if it sends none. */
export function cookieAction(command: Command, req: NativeRequest): NodeAction | undefined {
  const flags = req.flags ?? 0
  if (command === 'devSuspend' && (flags & Flags.SUSPEND) === 0) return { node: 'add' }
  if (command === 'devRemove') return { node: 'remove' }
  if (command === 'devRename' && (flags & Flags.UUID) === 0) return { node: 'rename', from: typeof req.name === 'string' ? req.name : undefined, to: req.data! }
  return undefined
}

const SYNC: Record<Command, `${Command}Sync`> = Object.fromEntries(
  Object.keys(commands).map((c) => [c, `${c}Sync`]),
) as Record<Command, `${Command}Sync`>

export class Runner {
  readonly #control: NativeControl
  readonly #udev: UdevSync

  readonly #naming: NameMangling

  constructor(control: NativeControl, udev: UdevSync, naming: NameMangling = 'reject') {
    this.#control = control
    this.#udev = udev
    this.#naming = naming
  }

  /**
   * libdm's name rules, applied where names reach the kernel: a new name (DEV_CREATE's name, DEV_RENAME's new
   * name) is checked, or mangled in 'hex' mode; in 'hex' mode every other string name is mangled too, as libdm
   * looks names up. Buffers are sent as they are.
   */
  #applyNames(command: Command, req: NativeRequest, operation = command as string): NativeRequest {
    const rename = command === 'devRename' && ((req.flags ?? 0) & Flags.UUID) === 0
    let out = req
    if (typeof req.name === 'string') {
      const name = command === 'devCreate' ? checkNewName(req.name, operation, 'name', this.#naming)
        : this.#naming === 'hex' ? mangleName(req.name, operation) : req.name
      if (name !== req.name) out = { ...out, name }
    }
    if (rename && req.data !== undefined) {
      const data = checkNewName(req.data, operation, 'newName', this.#naming)
      if (data !== req.data) out = { ...out, data }
    }
    return out
  }

  /**
   * Decides before the kernel call what would otherwise fail after it: the node a create, resume or rename
   * would make at /dev/mapper/<name> cannot be made when something else is in its place.
   */
  #checkNodes(action: NodeAction, mode: string, req: NativeRequest, s: { udevFlags?: number; operation?: string }): void {
    if (action.node === 'remove' || mode === 'none') return
    if (((s.udevFlags ?? 0) & UdevFlags.DISABLE_LIBRARY_FALLBACK) !== 0 && mode === 'udev') return
    const name = action.node === 'rename' ? action.to : req.name
    if (typeof name === 'string') checkNodeFree(name, s.operation ?? 'resume')
  }

  runSync<T>(op: Operation<T>): T {
    return drive(op, (s) => this.#stepSync(s))
  }

  run<T>(op: Operation<T>): Promise<T> {
    return driveAsync(op, (s) => this.#step(s))
  }

  /** DM_REMOVE_ALL carries no cookie; in manual mode the nodes of the devices it removed are dropped here. */
  removeAllSync(): void {
    const before = this.#names(this.#control.listDevicesSync({}))
    this.#control.removeAllSync()
    this.#udev.removedAll(before, this.#names(this.#control.listDevicesSync({})))
  }
  async removeAll(): Promise<void> {
    const before = this.#names(this.#control.listDevicesSync({}))
    await this.#control.removeAll()
    this.#udev.removedAll(before, this.#names(this.#control.listDevicesSync({})))
  }

  #names(r: NativeReply): string[] {
    // a name that is not UTF-8 has no exact string: its lossy form may be another device's node
    return (r.devices ?? []).filter((d) => d.nameBuffer === undefined).map((d) => d.name)
  }

  #stepSync(s: Step): unknown {
    if (s.step === 'sleep') return sleepSync(s.ms)
    if (s.step === 'statusAll') return this.#control.statusAllSync(s.flags)
    if (s.step === 'ioctl') {
      const send = (req: NativeRequest): NativeReply => this.#control[SYNC[s.command]](req)
      const req = this.#applyNames(s.command, s.req, s.operation)
      const t = this.#ticket(s.command, req, s)
      if (t === undefined) return send(req)
      return this.#udev.runSync(t, () => send({ ...req, eventNr: t.eventNr }))
    }
    const { reqs, ticket, index } = this.#batch(s.reqs, s)
    if (ticket === undefined) return this.#control.batchSync(reqs)
    return this.#udev.runSync(ticket, () => this.#control.batchSync(reqs), (r: BatchResult) => r[index])
  }

  async #step(s: Step): Promise<unknown> {
    if (s.step === 'sleep') return new Promise<void>((done) => setTimeout(done, s.ms))
    if (s.step === 'statusAll') return s.inline ? this.#control.statusAllSync(s.flags) : this.#control.statusAll(s.flags)
    if (s.step === 'ioctl') {
      const send = (req: NativeRequest): Promise<NativeReply> => this.#control[s.command](req)
      const req = this.#applyNames(s.command, s.req, s.operation)
      const t = this.#ticket(s.command, req, s)
      if (t === undefined) return send(req)
      return this.#udev.run(t, () => send({ ...req, eventNr: t.eventNr }))
    }
    const { reqs, ticket, index } = this.#batch(s.reqs, s)
    if (ticket === undefined) return this.#control.batch(reqs)
    return this.#udev.run(ticket, () => this.#control.batch(reqs), (r: BatchResult) => r[index])
  }

  #ticket(command: Command, req: NativeRequest, s: { udevFlags?: number; operation?: string }): Ticket | undefined {
    const action = cookieAction(command, req)
    if (action === undefined) return undefined
    // 'auto' is decided once per operation: each look at udev's control socket is a system call
    const mode = this.#udev.effectiveMode()
    this.#checkNodes(action, mode, req, s)
    return this.#udev.begin(s.operation ?? command, label(req), s.udevFlags, action, mode)
  }

  /** A batch carries at most one cookie: on its last uevent-sending request (create's resume). */
  #batch(calls: Call[], s: { udevFlags?: number; operation?: string }) {
    calls = calls.map((c) => ({ ...c, req: this.#applyNames(c.command, c.req, s.operation) }))
    const reqs: BatchRequest[] = calls.map((c) => ({ ...c.req, cmd: commands[c.command].nr, ...(c.ifOk === undefined ? {} : { ifOk: c.ifOk }) }))
    let index = -1
    calls.forEach((c, i) => {
      if (cookieAction(c.command, c.req) !== undefined) index = i
    })
    if (index < 0) return { reqs, ticket: undefined, index }
    const ticket = this.#ticket(calls[index].command, calls[index].req, s)!
    reqs[index].eventNr = ticket.eventNr
    return { reqs, ticket, index }
  }
}
