// The verbs that change devices: create, load/reload, resume, suspend, remove, remove_all, rename, message,
// wait, mknodes, setgeometry, clear, udevcookies. Silent on success like dmsetup (-v prints the device's info);
// --json prints the library's DeviceInfo (or a small result object) instead.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { DeviceInfo, DeviceRef } from '../core'
import { MAPPER_DIR, ensureNode, removeNode } from '../core/nodes'
import { printable } from '../core/validate'
import { uint, UsageError } from './args'
import { readAhead, type Ctx } from './context'
import { native } from '../core/native'
import { kernelError } from '../core/errors'
import { UDEV_CONTROL } from '../core/udev'
import { infoLong, messageReply } from './dmsetup-format'

/** libdm's remove retry: 25 tries, 200 ms apart (--retry). */
const REMOVE_TRIES = 25
const REMOVE_RETRY_MS = 200

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** The one device a verb addresses: its first operand (shifted off), or -u / -j -m. */
function oneDevice(ctx: Ctx, operands: string[]): DeviceRef {
  const ref = ctx.optionRef()
  if (ref !== undefined) return ref
  const name = operands.shift()
  if (name === undefined) throw new UsageError(`${ctx.verb}: no device specified`)
  return name
}

function devices(ctx: Ctx): DeviceRef[] {
  if (ctx.operands.length > 0) return ctx.operands
  const ref = ctx.optionRef()
  if (ref === undefined) throw new UsageError(`${ctx.verb}: no device specified`)
  return [ref]
}

function done(ctx: Ctx, info: DeviceInfo | DeviceInfo[], extra: Record<string, unknown> = {}): number {
  const list = Array.isArray(info) ? info : [info]
  if (ctx.json) ctx.printJson(Array.isArray(info) ? list.map((i) => ({ ...i, ...extra })) : { ...info, ...extra })
  else if (ctx.verbose > 0) for (const i of list) ctx.out(infoLong({ ...i, readAhead: readAhead(i.major, i.minor) }))
  return 0
}

/** The table text of create/load: --table, else the file operand, else stdin. */
function tableText(ctx: Ctx, file: string | undefined): string {
  if (ctx.values.table !== undefined) {
    if (file !== undefined) throw new UsageError(`${ctx.verb}: give the table either with --table or as a file, not both`)
    return ctx.values.table
  }
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new UsageError(`${ctx.verb}: cannot read table file ${file}: ${(err as Error).message}`)
    }
  }
  return ctx.io.stdin()
}

/** --readahead [+]<sectors>|auto|none, applied through sysfs as libdm does (bdi/read_ahead_kb). */
function applyReadAhead(ctx: Ctx, info: DeviceInfo): void {
  const spec = ctx.values.readahead
  if (spec === undefined || spec === 'auto') return
  const minimum = spec.startsWith('+')
  const sectors = spec === 'none' ? 0 : uint(minimum ? spec.slice(1) : spec, '--readahead', 0xffffffff)
  if (minimum && (readAhead(info.major, info.minor) ?? 0) >= sectors) return
  writeFileSync(`/sys/dev/block/${info.major}:${info.minor}/bdi/read_ahead_kb`, `${Math.floor((sectors + 1) / 2)}\n`)
}

function checkReadAhead(ctx: Ctx): void {
  const spec = ctx.values.readahead
  if (spec !== undefined && spec !== 'auto' && spec !== 'none') uint(spec.replace(/^\+/, ''), '--readahead', 0xffffffff)
}

export function create(ctx: Ctx): number {
  ctx.arity(1, 2)
  checkReadAhead(ctx)
  const [name, file] = ctx.operands
  const table = tableText(ctx, file)
  const info = ctx.dm.createSync(name, table, { uuid: ctx.values.uuid, readOnly: ctx.values.readonly })
  applyReadAhead(ctx, info)
  return done(ctx, info)
}

export function load(ctx: Ctx): number {
  const operands = [...ctx.operands]
  const ref = oneDevice(ctx, operands)
  if (operands.length > 1) throw new UsageError(`${ctx.verb}: incorrect number of arguments`)
  const info = ctx.dm.loadSync(ref, tableText(ctx, operands[0]), { readOnly: ctx.values.readonly })
  return done(ctx, info)
}

export function resume(ctx: Ctx): number {
  checkReadAhead(ctx)
  const infos = devices(ctx).map((ref) => {
    const info = ctx.dm.resumeSync(ref)
    applyReadAhead(ctx, info)
    return info
  })
  return done(ctx, infos.length === 1 ? infos[0] : infos)
}

export function suspend(ctx: Ctx): number {
  const infos = devices(ctx).map((ref) => ctx.dm.suspendSync(ref, { noFlush: ctx.values.noflush, skipLockfs: ctx.values.nolockfs }))
  return done(ctx, infos.length === 1 ? infos[0] : infos)
}

export function clear(ctx: Ctx): number {
  const infos = devices(ctx).map((ref) => ctx.dm.clearSync(ref))
  return done(ctx, infos.length === 1 ? infos[0] : infos)
}

/** remove -f / wipe: the live table becomes one `error` target of the same size, so I/O fails instead of hanging. */
function errorDevice(ctx: Ctx, ref: DeviceRef): void {
  const size = ctx.dm.tableSync(ref, { bigint: true }).reduce((n, t) => n + t.length, 0n)
  if (size === 0n) return
  ctx.dm.loadSync(ref, [{ start: 0, length: size, type: 'error' }], { readOnly: ctx.values.readonly })
  try {
    ctx.dm.resumeSync(ref)
  } catch (err) {
    ctx.dm.clearSync(ref)
    throw err
  }
}

export async function remove(ctx: Ctx): Promise<number> {
  const refs = devices(ctx)
  const removed: { device: DeviceRef; deferred: boolean }[] = []
  for (const ref of refs) {
    if (ctx.values.force) errorDevice(ctx, ref)
    const tries = ctx.values.retry ? REMOVE_TRIES : 1
    for (let attempt = 1; ; attempt++) {
      try {
        await ctx.dm.remove(ref, { retries: 0, deferred: ctx.values.deferred })
        break
      } catch (err) {
        const busy = (err as { code?: string }).code === 'EBUSY'
        if (!busy || attempt >= tries) {
          if (ctx.io.progress && attempt > 1) ctx.io.stderr('\n')
          throw err
        }
        if (ctx.io.progress) ctx.io.stderr(`\rdevmapper: ${labelOf(ref)} is busy, retrying (${attempt}/${tries - 1})`)
        await sleep(REMOVE_RETRY_MS)
      }
    }
    removed.push({ device: ref, deferred: ctx.values.deferred === true })
  }
  if (ctx.json) ctx.printJson(removed.length === 1 ? { ...removed[0], removed: true } : removed.map((r) => ({ ...r, removed: true })))
  return 0
}

function labelOf(ref: DeviceRef): string {
  if (typeof ref === 'string') return ref
  if (Buffer.isBuffer(ref)) return printable(ref) // a name that is not UTF-8, as its bytes
  if ('name' in ref) return typeof ref.name === 'string' ? ref.name : printable(ref.name)
  if ('uuid' in ref) return ref.uuid
  return `${ref.major}:${ref.minor}`
}

export function removeAll(ctx: Ctx): number {
  ctx.arity(0, 0)
  ctx.dm.removeAllSync()
  let left = ctx.dm.listSync()
  if (ctx.values.force && left.length > 0) {
    for (const d of left) {
      try {
        errorDevice(ctx, d.name)
      } catch {
        // gone meanwhile, or the reload failed: remove_all below reports what is left
      }
    }
    ctx.dm.removeAllSync()
    left = ctx.dm.listSync()
  }
  if (ctx.json) ctx.printJson({ remaining: left })
  if (ctx.values.force && left.length > 0) {
    ctx.io.stderr(`devmapper: unable to remove ${left.length} device(s)\n`)
    return 1
  }
  return 0
}

export function rename(ctx: Ctx): number {
  const operands = [...ctx.operands]
  if (ctx.values.setuuid) {
    // the -u option is the device here only when a name is not given
    const ref: DeviceRef = operands.length === 2 ? operands.shift()! : oneDevice(ctx, operands)
    if (operands.length !== 1) throw new UsageError('rename: incorrect number of arguments')
    return done(ctx, ctx.dm.setUuidSync(ref, operands[0]))
  }
  const ref = oneDevice(ctx, operands)
  if (operands.length !== 1) throw new UsageError('rename: incorrect number of arguments')
  return done(ctx, ctx.dm.renameSync(ref, operands[0]))
}

export function message(ctx: Ctx): number {
  const operands = [...ctx.operands]
  const ref = oneDevice(ctx, operands)
  if (operands.length < 2) throw new UsageError('message: needs a sector and a message')
  const sector = uint(operands.shift(), 'sector')
  const reply = ctx.dm.messageSync(ref, sector, operands.join(' '))
  if (ctx.json) ctx.printJson({ reply: reply ?? null })
  else ctx.out(messageReply(reply))
  return 0
}

export async function wait(ctx: Ctx): Promise<number> {
  const operands = [...ctx.operands]
  const ref = oneDevice(ctx, operands)
  if (operands.length > 1) throw new UsageError('wait: incorrect number of arguments')
  const eventNr = operands.length ? uint(operands[0], 'event_nr', 0xffffffff) : 0
  const controller = new AbortController()
  const stop = (): void => controller.abort(new Error('interrupted'))
  process.once('SIGINT', stop)
  try {
    const info = await ctx.dm.waitEvent(ref, { eventNr, signal: controller.signal })
    return done(ctx, info)
  } finally {
    process.off('SIGINT', stop)
  }
}

export function setGeometry(ctx: Ctx): number {
  const operands = [...ctx.operands]
  const ref = oneDevice(ctx, operands)
  if (operands.length !== 4) throw new UsageError('setgeometry: needs <cyl> <head> <sect> <start>')
  const [c, h, s, start] = operands
  const info = ctx.dm.setGeometrySync(ref, {
    cylinders: uint(c, 'cyl', 0xffff), heads: uint(h, 'head', 0xff), sectors: uint(s, 'sect', 0xff), start: uint(start, 'start'),
  })
  return done(ctx, info)
}

/** mknodes: /dev/mapper/<name> for every (or each named) device; with no names, stale nodes go too (dm_mknodes). */
export function mknodes(ctx: Ctx): number {
  const made: string[] = []
  const removed: string[] = []
  if (ctx.operands.length > 0) {
    for (const name of ctx.operands) {
      const i = ctx.dm.infoSync(name)
      ensureNode(i.name, i.major, i.minor)
      made.push(i.name)
    }
  } else {
    const list = ctx.dm.listSync()
    for (const d of list) {
      ensureNode(d.name, d.major, d.minor)
      made.push(d.name)
    }
    const names = new Set(list.map((d) => d.name))
    let entries: string[] = []
    try {
      entries = readdirSync(MAPPER_DIR)
    } catch {
      // no /dev/mapper: nothing stale
    }
    for (const e of entries) {
      if (e === 'control' || names.has(e)) continue
      removeNode(e) // block nodes and symlinks only
      removed.push(e)
    }
  }
  if (ctx.json) ctx.printJson({ nodes: made.map((n) => `${MAPPER_DIR}/${n}`), removed: removed.map((n) => `${MAPPER_DIR}/${n}`) })
  return 0
}

const DM_COOKIE_MAGIC = 0x0d4d

function ctime(seconds: number): string {
  const d = new Date(seconds * 1000)
  const day = d.toLocaleString('en-US', { weekday: 'short' })
  const mon = d.toLocaleString('en-US', { month: 'short' })
  const p2 = (n: number): string => String(n).padStart(2, '0')
  return `${day} ${mon} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`
}

interface Cookie {
  cookie: number
  semid: number
  lastSemop: number
  lastChange: number
}

/** libdm's cookie semaphores (key 0x0d4dXXXX), as listed in /proc/sysvipc/sem (key, semid, otime, ctime). */
function cookieSemaphores(): Cookie[] {
  const rows: Cookie[] = []
  let text = ''
  try {
    text = readFileSync('/proc/sysvipc/sem', 'utf8')
  } catch {
    // no SysV IPC: no cookies
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10) continue
    const key = Number(f[0]) >>> 0
    if (key >>> 16 !== DM_COOKIE_MAGIC) continue
    rows.push({ cookie: key, semid: Number(f[1]), lastSemop: Number(f[8]), lastChange: Number(f[9]) })
  }
  return rows
}

/** A cookie operand as dmsetup's _get_cookie_value reads it (strtoul base 0; zero is refused). */
function cookieArg(text: string): number {
  const v = /^0[xX][0-9a-fA-F]+$/.test(text) ? parseInt(text, 16) : /^0[0-7]*$/.test(text) ? parseInt(text, 8) : /^[1-9]\d*$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(v) || v === 0 || v > 0xffffffff) throw new UsageError(`Incorrect cookie value '${text}'`)
  return v
}

/** The semaphore of a cookie (its flag bits replaced by libdm's magic), or a DmError ENOENT. */
function cookieSemid(cookie: number, operation: string): number {
  const key = ((DM_COOKIE_MAGIC << 16) | (cookie & 0xffff)) >>> 0
  const row = cookieSemaphores().find((r) => r.cookie === key)
  if (row === undefined) throw kernelError(2, operation, `0x${key.toString(16)}`, 'no semaphore for this cookie')
  return row.semid
}

/** udevcookies: libdm's cookie semaphores with their value (semctl GETVAL), in dmsetup's layout. */
export function udevcookies(ctx: Ctx): number {
  ctx.arity(0, 0)
  const rows: (Cookie & { value: number })[] = []
  for (const r of cookieSemaphores()) {
    const v = native.udev.semGetVal(r.semid)
    if ('value' in v) rows.push({ ...r, value: v.value }) // gone in between: skipped, as dmsetup skips it
  }
  if (ctx.json) {
    ctx.printJson(rows)
    return 0
  }
  let out = 'Cookie       Semid      Value      Last semop time           Last change time\n'
  for (const r of rows) {
    out += `0x${r.cookie.toString(16).padEnd(10)} ${String(r.semid).padEnd(10)} ${String(r.value).padEnd(10)} ${ctime(r.lastSemop)}  ${ctime(r.lastChange)}\n`
  }
  ctx.out(out)
  return 0
}

/** libdm syncs with udev only while udev runs: without it, its cookie verbs make and signal nothing. */
const udevRunning = (): boolean => existsSync(UDEV_CONTROL)

/**
 * udevcreatecookie: a new cookie semaphore at value 1 (libdm's dm_udev_create_cookie), printed 0x%08X; like
 * dmsetup, nothing (and no semaphore) while udev is not running.
 */
export function udevcreatecookie(ctx: Ctx): number {
  ctx.arity(0, 0)
  if (!udevRunning()) return 0
  const r = native.udev.cookieCreate(0)
  if ('errno' in r) throw kernelError(r.errno, 'semget', '', 'cannot create a udev cookie semaphore')
  // cookieCreate also takes udev's reference for an ioctl; there is none here
  const err = native.udev.cookieComplete(r.semid)
  if (err !== 0) {
    native.udev.cookieRemove(r.semid)
    throw kernelError(err, 'semop', '', 'cannot set up the udev cookie semaphore')
  }
  const cookie = ((DM_COOKIE_MAGIC << 16) | r.cookie) >>> 0
  if (ctx.json) ctx.printJson({ cookie, semid: r.semid })
  else ctx.out(`0x${cookie.toString(16).toUpperCase().padStart(8, '0')}\n`)
  return 0
}

/** udevreleasecookie [cookie]: drops our reference, waits for udev to complete, removes (dm_udev_wait); a no-op
 * without udev, as dmsetup's. */
export function udevreleasecookie(ctx: Ctx): number {
  ctx.arity(0, 1)
  const text = ctx.operands[0] ?? process.env.DM_UDEV_COOKIE
  if (text === undefined || text === '') throw new UsageError('No udev transaction cookie given.')
  const cookie = cookieArg(text)
  if (!udevRunning()) return 0
  const semid = cookieSemid(cookie, 'udevreleasecookie')
  const err = native.udev.cookieWaitSync(semid, 30_000)
  if (err !== 0) throw kernelError(err, 'semtimedop', text, 'udev did not complete the cookie')
  return 0
}

/** udevcomplete <cookie>: udev's side, one decrement (dm_udev_complete); a flags-only cookie, or no udev
 * running, is a no-op as in dmsetup. */
export function udevcomplete(ctx: Ctx): number {
  ctx.arity(1, 1)
  const cookie = cookieArg(ctx.operands[0]!)
  if ((cookie & 0xffff) === 0 || !udevRunning()) return 0
  const err = native.udev.cookieComplete(cookieSemid(cookie, 'udevcomplete'))
  if (err !== 0) throw kernelError(err, 'semop', ctx.operands[0]!, 'cannot signal the cookie semaphore')
  return 0
}

/**
 * udevcomplete_all [age_in_minutes]: removes every cookie semaphore untouched for that long (default: all).
 * Without -y it asks first, as dmsetup does.
 */
export function udevcompleteAll(ctx: Ctx): number {
  ctx.arity(0, 1)
  let age = 0
  if (ctx.operands[0] !== undefined) {
    if (!/^\d+$/.test(ctx.operands[0])) throw new UsageError('Failed to read age_in_minutes parameter.')
    age = Number(ctx.operands[0])
  }
  if (ctx.values.yes !== true) {
    const older = age ? `older than ${age} minutes ` : ''
    ctx.io.stderr(`WARNING: This operation will destroy all semaphores ${older}with keys that have a prefix 3405 (0xd4d).\n`)
    ctx.out('Do you really want to continue? [y/n]: ')
    const answer = ctx.io.stdin().trim().toLowerCase()
    if (answer !== 'y') {
      ctx.out('Semaphores with keys prefixed by 3405 (0xd4d) NOT destroyed.\n')
      return 0
    }
  }
  let counter = 0
  let skipped = 0
  const now = Date.now() / 1000
  for (const r of cookieSemaphores()) {
    if (r.lastChange + age * 60 > now || r.lastSemop + age * 60 > now) {
      skipped++
      continue
    }
    if (native.udev.cookieRemove(r.semid) === 0) counter++
    else ctx.io.stderr(`Could not cleanup notification semaphore with semid ${r.semid} and cookie value ${r.cookie} (0x${r.cookie.toString(16)}).\n`)
  }
  if (ctx.json) ctx.printJson({ destroyed: counter, skipped })
  else ctx.out(`${counter} semaphores with keys prefixed by 3405 (0xd4d) destroyed. ${skipped} skipped.\n`)
  return 0
}
