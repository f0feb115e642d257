// The verbs that change devices: create, load/reload, resume, suspend, remove, remove_all, rename, message,
// wait, mknodes, setgeometry, clear, udevcookies. Silent on success like dmsetup (-v prints the device's info);
// --json prints the library's DeviceInfo (or a small result object) instead.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { DeviceInfo, DeviceRef } from '../core'
import { MAPPER_DIR, ensureNode, removeNode } from '../core/nodes'
import { printable } from '../core/validate'
import { uint, UsageError } from './args'
import { readAhead, type Ctx } from './context'
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

/**
 * udevcookies: libdm's cookie semaphores (key 0x0d4dXXXX) from /proc/sysvipc/sem, in dmsetup's layout. The
 * semaphore's value needs semctl(GETVAL), which the addon does not offer: the column shows '-'.
 */
export function udevcookies(ctx: Ctx): number {
  ctx.arity(0, 0)
  const rows: { cookie: number; semid: number; lastSemop: number; lastChange: number }[] = []
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
  if (ctx.json) {
    ctx.printJson(rows)
    return 0
  }
  let out = 'Cookie       Semid      Value      Last semop time           Last change time\n'
  for (const r of rows) {
    out += `0x${r.cookie.toString(16).padEnd(10)} ${String(r.semid).padEnd(10)} ${'-'.padEnd(10)} ${ctime(r.lastSemop)}  ${ctime(r.lastChange)}\n`
  }
  ctx.out(out)
  return 0
}
