// `loop attach|detach|ls|find|resize|info`: loop devices through the loop wing (no losetup). attach prints the
// device path (as `losetup --show -f FILE`), ls prints `losetup --list`'s default columns, find prints
// `losetup -j FILE`'s lines; --json prints LoopInfo objects.
import { opendirSync } from 'node:fs'
import { loop, type LoopInfo } from '../loop'
import { uint, UsageError } from './args'
import type { Ctx } from './context'

/** The kernel's encoding of a dev_t in loop_info64.lo_device (huge_encode_dev), which losetup -j prints. */
function encodeDev(majorMinor: string): number {
  const [major, minor] = majorMinor.split(':').map(Number)
  return (minor & 0xff) + major * 0x100 + Math.floor(minor / 0x100) * 0x100000
}

/** `losetup -j` line: `/dev/loopN: [DEV]:INODE (FILE)[, offset N][, sizelimit N]`. */
export function findLine(i: LoopInfo): string {
  let out = `${i.path}: [${String(encodeDev(i.backingDevice)).padStart(4, '0')}]:${i.backingInode} (${i.backingFile})`
  if (i.offset) out += `, offset ${i.offset}`
  if (i.sizeLimit) out += `, sizelimit ${i.sizeLimit}`
  return `${out}\n`
}

/** `losetup --list` (libsmartcols): numbers right-aligned, text left-aligned, the last column not padded. */
export function listTable(list: readonly LoopInfo[]): string {
  const cols: { head: string; num: boolean; get(i: LoopInfo): string }[] = [
    { head: 'NAME', num: false, get: (i) => i.path },
    { head: 'SIZELIMIT', num: true, get: (i) => String(i.sizeLimit) },
    { head: 'OFFSET', num: true, get: (i) => String(i.offset) },
    { head: 'AUTOCLEAR', num: true, get: (i) => (i.autoclear ? '1' : '0') },
    { head: 'RO', num: true, get: (i) => (i.readOnly ? '1' : '0') },
    { head: 'BACK-FILE', num: false, get: (i) => i.backingFile },
    { head: 'DIO', num: true, get: (i) => (i.directIo ? '1' : '0') },
    { head: 'LOG-SEC', num: true, get: (i) => String(i.blockSize) },
  ]
  const rows = [cols.map((c) => c.head), ...list.map((i) => cols.map((c) => c.get(i)))]
  const widths = cols.map((_, k) => Math.max(...rows.map((r) => r[k].length)))
  return rows
    .map((r) => r.map((v, k) => (k === cols.length - 1 ? (cols[k].num ? v.padStart(widths[k]) : v) : cols[k].num ? v.padStart(widths[k]) : v.padEnd(widths[k]))).join(' '))
    .map((l) => `${l}\n`)
    .join('')
}

/**
 * losetup walks /sys/block in readdir order (kernfs's name-hash order, not numeric): list in that order so that
 * `loop ls` and `loop find` print their lines where losetup prints them.
 */
function sysfsOrder(list: LoopInfo[]): LoopInfo[] {
  // opendir/readSync keeps the kernel's order (readdirSync goes through libuv's scandir, which sorts)
  const names: string[] = []
  try {
    const dir = opendirSync('/sys/block')
    for (let e = dir.readSync(); e !== null; e = dir.readSync()) names.push(e.name)
    dir.closeSync()
  } catch {
    return list
  }
  const rank = new Map(names.map((n, i) => [n, i]))
  const at = (i: LoopInfo): number => rank.get(`loop${i.number}`) ?? Number.MAX_SAFE_INTEGER
  return [...list].sort((a, b) => at(a) - at(b) || a.number - b.number)
}

export async function loopVerb(ctx: Ctx): Promise<number> {
  const [sub, ...args] = ctx.operands
  const v = ctx.values
  switch (sub) {
    case 'attach': {
      if (args.length !== 1) throw new UsageError('loop attach: needs exactly one FILE')
      const info = await loop.attach(args[0], {
        readOnly: v.readonly,
        directIo: v['direct-io'],
        autoclear: v.autoclear,
        partscan: v.partscan,
        offset: v.offset === undefined ? undefined : uint(v.offset, '--offset'),
        sizeLimit: v.sizelimit === undefined ? undefined : uint(v.sizelimit, '--sizelimit'),
        blockSize: v['sector-size'] === undefined ? undefined : uint(v['sector-size'], '--sector-size'),
      })
      if (ctx.json) ctx.printJson(info)
      else ctx.out(`${info.path}\n`)
      return 0
    }
    case 'detach': {
      if (args.length === 0) throw new UsageError('loop detach: needs one or more loop devices')
      for (const dev of args) await loop.detach(dev)
      if (ctx.json) ctx.printJson({ detached: args })
      return 0
    }
    case 'ls': {
      if (args.length !== 0) throw new UsageError('loop ls: takes no arguments')
      const list = sysfsOrder(await loop.list())
      if (ctx.json) ctx.printJson(list)
      else if (list.length > 0) ctx.out(listTable(list))
      return 0
    }
    case 'find': {
      if (args.length !== 1) throw new UsageError('loop find: needs exactly one FILE')
      const list = sysfsOrder(await loop.find(args[0]))
      if (ctx.json) ctx.printJson(list)
      else ctx.out(list.map(findLine).join(''))
      return 0
    }
    case 'resize':
    case 'info': {
      if (args.length !== 1) throw new UsageError(`loop ${sub}: needs exactly one loop device`)
      const info = sub === 'resize' ? await loop.resize(args[0]) : await loop.info(args[0])
      if (ctx.json) ctx.printJson(info)
      else if (sub === 'info') ctx.out(listTable([info]))
      return 0
    }
    default:
      throw new UsageError(`loop: unknown subcommand '${sub ?? ''}' (attach, detach, ls, find, resize, info)`)
  }
}
