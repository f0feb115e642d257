// The read-only verbs: version, targets, ls, info, table, status, deps. Text output is dmsetup's, byte for byte;
// --json prints the library's objects instead.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Flags, ioctl, type DeviceInfo, type DeviceRef, type ListedDevice, type Operation, type RawTarget, type Sectors } from '../core'
import { address } from '../core/address'
import { UsageError } from './args'
import { dmMajor, kernelName, mappedName, readAhead, type Ctx } from './context'
import {
  conciseEntry, depsLine, infoLong, lsLine, lsTargetLine, tableLines, targetsLines, versionLines, type InfoRow,
} from './dmsetup-format'
import { fieldNeeds, fieldsHelp, formatReport, parseFields, ReportError, type ReportRow } from './report'
import { DepTree, drawTree, type TreeDrawOptions } from './tree'

// dist/cli/ in the package, build/ts/cli/ when the tests compile the sources
const PACKAGE_VERSION: string = (() => {
  for (const up of [['..', '..'], ['..', '..', '..']]) {
    const file = join(__dirname, ...up, 'package.json')
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
  }
  return 'unknown'
})()

/** The devices a repeatable verb works on: named ones, the -u/-j -m one, or every device (names: true). */
function targetsOf(ctx: Ctx): { refs: DeviceRef[]; all: boolean; multiple: boolean } {
  if (ctx.operands.length > 0) return { refs: ctx.operands, all: false, multiple: ctx.operands.length > 1 }
  const ref = ctx.optionRef()
  if (ref !== undefined) return { refs: [ref], all: false, multiple: false }
  return { refs: ctx.dm.listSync().map((d) => d.name), all: true, multiple: true }
}

/**
 * The table or status lines exactly as the kernel wrote them: dmsetup prints the params untouched, and some
 * targets end theirs with a space (thin-pool's table does), which the library's typed reads trim away.
 */
function* rawTargetsOp(device: DeviceRef, table: boolean, o: { inactive?: boolean; noFlush?: boolean }): Operation<RawTarget<Sectors>[]> {
  const flags = table
    ? Flags.STATUS_TABLE | Flags.SECURE_DATA | (o.inactive ? Flags.QUERY_INACTIVE_TABLE : 0)
    : o.noFlush ? Flags.NOFLUSH : 0
  const r = yield* ioctl('tableStatus', Object.assign(address(device, table ? 'table' : 'status'), { flags }))
  // start and length exactly as the kernel's u64s (a bigint past 2^53), as dmsetup prints them
  return (r.targets ?? []).map((t) => ({ start: t.start, length: t.length, type: t.type, params: t.params }))
}

export function version(ctx: Ctx): number {
  ctx.arity(0, 0)
  const driver = ctx.dm.versionSync()
  if (ctx.json) ctx.printJson({ library: { name: 'devmapper', version: PACKAGE_VERSION }, driver })
  else ctx.out(versionLines(`devmapper ${PACKAGE_VERSION}`, driver))
  return 0
}

export function targets(ctx: Ctx): number {
  ctx.arity(0, 0)
  const list = ctx.dm.targetVersionsSync()
  if (ctx.json) ctx.printJson(list)
  else ctx.out(targetsLines(list))
  return 0
}

/** -o devno|devname|blkdevname of ls and deps: how a (maj:min) is shown. */
function devNameMode(ctx: Ctx): 'devno' | 'devname' | 'blkdevname' {
  const o = ctx.values.options
  if (o === undefined || o === 'devno') return 'devno'
  if (o === 'devname' || o === 'blkdevname') return o
  throw new UsageError(`-o: '${o}' is not one of devno, devname, blkdevname`)
}

function resolveName(mode: 'devno' | 'devname' | 'blkdevname', major: number, minor: number, dmMaj: number): string | undefined {
  if (mode === 'devno') return undefined
  return mode === 'blkdevname' ? kernelName(major, minor) : mappedName(major, minor, dmMaj)
}

export function ls(ctx: Ctx): number {
  ctx.arity(0, 0)
  if (ctx.values.tree) return lsTree(ctx)
  const devices = ctx.dm.listSync()
  if (ctx.values.target !== undefined) {
    const type = ctx.values.target
    const matching: ListedDevice[] = []
    for (const d of devices) {
      const table = tableOrNothing(ctx, d.name)
      if (table?.some((t) => t.type === type)) matching.push(d)
    }
    if (ctx.json) ctx.printJson(matching)
    else if (devices.length === 0) ctx.out('No devices found\n')
    else ctx.out(matching.map((d) => lsTargetLine(d.name, d.major, d.minor)).join(''))
    return 0
  }
  if (ctx.json) {
    ctx.printJson(devices)
    return 0
  }
  if (devices.length === 0) {
    ctx.out('No devices found\n')
    return 0
  }
  const mode = devNameMode(ctx)
  const maj = dmMajor(devices[0]?.major)
  ctx.out(devices.map((d) => lsLine(d.name, d.major, d.minor, resolveName(mode, d.major, d.minor, maj))).join(''))
  return 0
}

function tableOrNothing(ctx: Ctx, name: string): RawTarget<bigint>[] | undefined {
  try {
    return ctx.dm.tableSync(name, { bigint: true })
  } catch {
    return undefined // removed since the listing
  }
}

function buildTree(ctx: Ctx): { tree: DepTree; devices: ListedDevice[]; maj: number } {
  const devices = ctx.dm.listSync()
  const maj = dmMajor(devices[0]?.major)
  const tree = new DepTree({
    devices,
    dmMajor: maj,
    deps: (major, minor) => {
      try {
        return ctx.dm.depsSync({ major, minor })
      } catch {
        return undefined
      }
    },
  })
  return { tree, devices, maj }
}

interface JsonTreeNode {
  name?: string
  major: number
  minor: number
  uuid?: string
  uses: JsonTreeNode[]
}

function lsTree(ctx: Ctx): number {
  const o = treeOptions(ctx)
  const { tree } = buildTree(ctx)
  if (ctx.json) {
    const walk = (n: typeof tree.root): JsonTreeNode[] =>
      (o.inverted ? n.usedBy : n.uses).filter((c) => c !== tree.root).map((c) => ({
        ...(c.mapped ? { name: c.name } : {}),
        major: c.major,
        minor: c.minor,
        ...(c.uuid ? { uuid: c.uuid } : {}),
        [o.inverted ? 'usedBy' : 'uses']: tree.childCount(c, o.inverted) ? walk(c) : [],
      }) as JsonTreeNode)
    ctx.printJson(walk(tree.root))
    return 0
  }
  o.info = (n) => {
    try {
      return ctx.dm.infoSync({ major: n.major, minor: n.minor })
    } catch {
      return undefined
    }
  }
  o.blkName = kernelName
  ctx.out(drawTree(tree, o))
  return 0
}

function treeOptions(ctx: Ctx): TreeDrawOptions {
  const locale = process.env.LC_ALL || process.env.LC_CTYPE || process.env.LANG || ''
  const o: TreeDrawOptions = {
    utf: /utf-?8/i.test(locale),
    width: ctx.io.columns !== undefined && ctx.io.columns > 3 ? ctx.io.columns - 3 : 80,
    truncate: true,
    device: true,
    blkdevname: false,
    active: false,
    rw: false,
    open: false,
    uuid: false,
    inverted: false,
  }
  const spec = ctx.values.options
  if (spec === undefined) return o
  for (const word of spec.split(',')) {
    // dmsetup matches each word as a prefix of an option name (strncmp)
    const is = (name: string): boolean => word.length > 0 && name.startsWith(word)
    if (is('device')) o.device = true
    else if (is('blkdevname')) o.blkdevname = true
    else if (is('nodevice')) o.device = false
    else if (is('active')) o.active = true
    else if (is('open')) o.open = true
    else if (is('uuid')) o.uuid = true
    else if (is('rw')) o.rw = true
    else if (is('utf')) o.utf = true
    else if (is('ascii')) o.utf = false
    else if (is('inverted')) o.inverted = true
    else if (is('notrunc')) o.truncate = false
    else throw new UsageError(`Tree options not recognised: ${word}`)
  }
  return o
}

function infoRow(ctx: Ctx, ref: DeviceRef): InfoRow {
  const info: DeviceInfo = ctx.dm.infoSync(ref)
  const ra = readAhead(info.major, info.minor)
  return ra === undefined ? info : { ...info, readAhead: ra }
}

export function info(ctx: Ctx): number {
  const columns = ctx.values.columns === true || ctx.values['columns-upper'] === true
  if (columns && ctx.values.options !== undefined && /help/.test(ctx.values.options)) {
    ctx.out(fieldsHelp())
    return 0
  }
  let fields: string[] = []
  if (columns) {
    try {
      fields = parseFields(ctx.values.options)
    } catch (err) {
      if (err instanceof ReportError) throw new UsageError(err.message)
      throw err
    }
  }
  const { refs, all } = targetsOf(ctx)
  if (all && refs.length === 0) {
    if (ctx.json) ctx.printJson([])
    else ctx.out('No devices found\n')
    return 0
  }
  if (!columns) {
    // dmsetup prints each device as it goes and stops at the first failure
    const rows: InfoRow[] = []
    for (const ref of refs) {
      const row = infoRow(ctx, ref)
      if (ctx.json) rows.push(row)
      else ctx.out(infoLong(row))
    }
    if (ctx.json) ctx.printJson(refs.length === 1 && !all ? rows[0] : rows)
    return 0
  }
  const needs = fieldNeeds(fields)
  const tree = needs.has('tree') ? buildTree(ctx).tree : undefined
  const rows: ReportRow[] = refs.map((ref) => {
    const row: ReportRow = needs.has('readAhead') ? infoRow(ctx, ref) : ctx.dm.infoSync(ref)
    row.blkName = (major, minor) => {
      const n = kernelName(major, minor)
      // dmsetup fails the report the same way (a device with no table has no block device yet)
      if (n === undefined) throw new Error(`Could not resolve block device name for ${major}:${minor}.`)
      return n
    }
    if (needs.has('deps')) row.deps = ctx.dm.depsSync({ major: row.major, minor: row.minor })
    if (tree) {
      const node = tree.find(row.major, row.minor)
      row.usesNames = (node?.uses ?? []).filter((n) => n.name !== '').map((n) => n.name)
      row.usedBy = (node?.usedBy ?? []).filter((n) => n.name !== '')
      row.refCount = node ? tree.childCount(node, true) : 0
    }
    return row
  })
  if (ctx.json) {
    ctx.printJson(rows.map(({ blkName: _b, ...r }) => r))
    return 0
  }
  ctx.out(formatReport(rows, { fields, noHeadings: ctx.values.noheadings, separator: ctx.values.separator }))
  return 0
}

/** table and status (same layout; table masks crypt keys unless --showkeys). */
export function tableOrStatus(ctx: Ctx): number {
  const isTable = ctx.verb === 'table'
  const { refs, all, multiple } = targetsOf(ctx)
  if (all && refs.length === 0) {
    if (ctx.json) ctx.printJson([])
    else ctx.out('No devices found\n')
    return 0
  }
  const mask = isTable && !ctx.values.showkeys
  const concise = isTable && ctx.values.concise === true
  const docs: { name: string; targets: RawTarget<Sectors>[] }[] = []
  const entries: string[] = []
  for (const ref of refs) {
    // bigint: exact for any u64 sector count; JSON prints them as plain numbers (toJson)
    const opts = { inactive: ctx.values.inactive, noFlush: ctx.values.noflush, bigint: true } as const
    const targetsNow = ctx.json
      ? isTable ? ctx.dm.tableSync(ref, opts) : ctx.dm.statusSync(ref, opts)
      : ctx.dm.runSync(rawTargetsOp(ref, isTable, opts))
    const name = typeof ref === 'string' ? ref : ctx.dm.infoSync(ref).name
    if (ctx.json) {
      const shown = ctx.values.target === undefined ? targetsNow : targetsNow.filter((t) => t.type === ctx.values.target)
      // a secret-bearing line hides its raw params; --showkeys asks for them
      docs.push({ name, targets: ctx.values.showkeys ? shown.map((t) => ({ ...t, params: t.params })) : shown })
    } else if (concise) {
      entries.push(conciseEntry(ctx.dm.infoSync(ref), targetsNow, mask))
    } else {
      ctx.out(tableLines(targetsNow, { prefix: multiple ? name : undefined, target: ctx.values.target, mask }))
    }
  }
  if (ctx.json) ctx.printJson(refs.length === 1 && !all ? docs[0] : docs)
  else if (concise) ctx.out(`${entries.join(';')}\n`)
  return 0
}

export function deps(ctx: Ctx): number {
  const { refs, all, multiple } = targetsOf(ctx)
  if (all && refs.length === 0) {
    if (ctx.json) ctx.printJson([])
    else ctx.out('No devices found\n')
    return 0
  }
  const mode = ctx.json ? 'devno' : devNameMode(ctx)
  const maj = dmMajor(undefined)
  const docs: { name: string; deps: { major: number; minor: number }[] }[] = []
  for (const ref of refs) {
    const list = ctx.dm.depsSync(ref)
    const name = typeof ref === 'string' ? ref : ctx.dm.infoSync(ref).name
    if (ctx.json) docs.push({ name, deps: list })
    else ctx.out(depsLine(list, multiple ? name : undefined, list.map((d) => resolveName(mode, d.major, d.minor, maj))))
  }
  if (ctx.json) ctx.printJson(refs.length === 1 && !all ? docs[0] : docs)
  return 0
}
