// `info -c`: dmsetup's column report (libdm-report.c), with its field names, headings, minimum widths and
// alignment. Default fields name,major,minor,attr,open,segments,events,uuid; `-o +f` appends; --noheadings
// switches to the old ':'-separated unaligned form; --separator unaligns.
import type { InfoRow } from './dmsetup-format'

/** What a report row can show: the device's info plus what the deps and tree fields need (filled on demand). */
export interface ReportRow extends InfoRow {
  /** DM_TABLE_DEPS of the device */
  deps?: { major: number; minor: number }[]
  /** names of the mapped devices this one uses, in dependency-tree order */
  usesNames?: string[]
  /** mapped devices using this one, in dependency-tree order */
  usedBy?: { name: string; major: number; minor: number }[]
  /** the top-level device count of dm_tree_node_num_children(node, 1) */
  refCount?: number
  /** kernel names of block devices: 'dm-3', 'loop0' (resolved by the caller) */
  blkName?: (major: number, minor: number) => string
}

/** What a field needs filled in beyond DeviceInfo. */
export type FieldNeed = 'deps' | 'tree' | 'readAhead' | 'none'

interface Field {
  heading: string
  width: number
  number: boolean
  need: FieldNeed
  value(r: ReportRow): string
  help: string
}

function split(r: ReportRow): { subsystem: string; vg: string; lv: string; layer: string } {
  const dash = r.uuid.indexOf('-')
  const subsystem = dash < 0 ? '' : r.uuid.slice(0, dash)
  if (subsystem !== 'LVM') return { subsystem, vg: '', lv: '', layer: '' }
  const [vg, rest1] = unquote(r.name)
  const [lv, rest2] = unquote(rest1)
  const [layer] = unquote(rest2)
  return { subsystem, vg, lv, layer }
}

// libdm's _unquote: a component ends at a single '-'; '--' stands for '-'.
function unquote(s: string): [string, string] {
  let out = ''
  let i = 0
  while (i < s.length) {
    if (i + 1 < s.length && s[i] === '-') {
      if (s[i + 1] === '-') i++
      else break
    }
    out += s[i]
    i++
  }
  return [out, i < s.length ? s.slice(i + 1) : '']
}

const str = (heading: string, width: number, value: (r: ReportRow) => string, help: string, need: FieldNeed = 'none'): Field => ({
  heading, width, number: false, need, value, help,
})
const num = (heading: string, width: number, value: (r: ReportRow) => number, help: string, need: FieldNeed = 'none'): Field => ({
  heading, width, number: true, need, value: (r) => String(value(r)), help,
})

const devno = (d: { major: number; minor: number }): string => `${d.major}:${d.minor}`

export const FIELDS: Record<string, Field> = {
  name: str('Name', 16, (r) => r.name, 'Name of mapped device.'),
  mangled_name: str('MangledName', 16, (r) => r.name, 'Mangled name of mapped device.'),
  unmangled_name: str('UnmangledName', 16, (r) => r.name, 'Unmangled name of mapped device.'),
  uuid: str('UUID', 32, (r) => r.uuid, 'Unique (optional) identifier for mapped device.'),
  mangled_uuid: str('MangledUUID', 32, (r) => r.uuid, 'Mangled unique (optional) identifier for mapped device.'),
  unmangled_uuid: str('UnmangledUUID', 32, (r) => r.uuid, 'Unmangled unique (optional) identifier for mapped device.'),
  read_ahead: num('RAhead', 6, (r) => r.readAhead ?? 0, 'Read ahead value.', 'readAhead'),
  blkdevname: str('BlkDevName', 16, (r) => r.blkName!(r.major, r.minor), 'Name of block device.'),
  attr: str(
    'Stat', 4,
    (r) => `${r.activeTable ? 'L' : '-'}${r.inactiveTable ? 'I' : '-'}${r.suspended ? 's' : '-'}${r.readOnly ? 'r' : 'w'}`,
    '(L)ive, (I)nactive, (s)uspended, (r)ead-only, read-(w)rite.',
  ),
  tables_loaded: str(
    'Tables', 6,
    (r) => (r.activeTable ? (r.inactiveTable ? 'Both' : 'Live') : r.inactiveTable ? 'Inactive' : 'None'),
    'Which of the live and inactive table slots are filled.',
  ),
  suspended: str('Suspended', 9, (r) => (r.suspended ? 'Suspended' : 'Active'), 'Whether the device is suspended.'),
  readonly: str('Read-only', 9, (r) => (r.readOnly ? 'Read-only' : 'Writeable'), 'Whether the device is read-only or writeable.'),
  devno: str('DevNo', 5, (r) => devno(r), 'Device major and minor numbers'),
  major: num('Maj', 3, (r) => r.major, 'Block device major number.'),
  minor: num('Min', 3, (r) => r.minor, 'Block device minor number.'),
  open: num('Open', 4, (r) => r.openCount, 'Number of references to open device, if requested.'),
  segments: num('Targ', 4, (r) => r.targetCount, 'Number of segments in live table, if present.'),
  events: num('Event', 6, (r) => r.eventNr, 'Number of most recent event.'),
  device_count: num('#Devs', 5, (r) => r.deps!.length, 'Number of devices used by this one.', 'deps'),
  devs_used: str('DevNamesUsed', 16, (r) => r.usesNames!.join(','), 'List of names of mapped devices used by this one.', 'tree'),
  devnos_used: str('DevNosUsed', 16, (r) => r.deps!.map(devno).join(','), 'List of device numbers of devices used by this one.', 'deps'),
  blkdevs_used: str(
    'BlkDevNamesUsed', 16, (r) => r.deps!.map((d) => r.blkName!(d.major, d.minor)).join(','),
    'List of names of block devices used by this one.', 'deps',
  ),
  device_ref_count: num('#Refs', 5, (r) => r.refCount!, 'Number of mapped devices referencing this one.', 'tree'),
  names_using_dev: str('RefNames', 8, (r) => r.usedBy!.map((d) => d.name).join(','), 'List of names of mapped devices using this one.', 'tree'),
  devnos_using_dev: str('RefDevNos', 9, (r) => r.usedBy!.map(devno).join(','), 'List of device numbers of mapped devices using this one.', 'tree'),
  subsystem: str('Subsys', 6, (r) => split(r).subsystem, 'Userspace subsystem responsible for this device.'),
  vg_name: str('VG', 4, (r) => split(r).vg, 'LVM Volume Group name.'),
  lv_name: str('LV', 4, (r) => split(r).lv, 'LVM Logical Volume name.'),
  lv_layer: str('LVLayer', 7, (r) => split(r).layer, 'LVM device layer.'),
}

export const DEFAULT_FIELDS = 'name,major,minor,attr,open,segments,events,uuid'

export class ReportError extends Error {
  override name = 'ReportError'
}

/** The field list of `-o` ('+a,b' appends to the defaults); throws ReportError naming an unknown field. */
export function parseFields(options: string | undefined): string[] {
  let spec = options ?? DEFAULT_FIELDS
  if (spec.startsWith('+')) spec = `${DEFAULT_FIELDS},${spec.slice(1)}`
  const fields = spec.split(',').map((f) => f.trim()).filter((f) => f !== '')
  for (const f of fields) {
    if (!(f in FIELDS)) throw new ReportError(`Unrecognised field: ${f}`)
  }
  return fields
}

/** What the chosen fields need filled in. */
export function fieldNeeds(fields: readonly string[]): Set<FieldNeed> {
  return new Set(fields.map((f) => FIELDS[f].need))
}

export interface ReportOptions {
  fields: readonly string[]
  noHeadings?: boolean
  separator?: string
}

/** The report text: headings (unless --noheadings) then one line per row; nothing at all for no rows. */
export function formatReport(rows: readonly ReportRow[], o: ReportOptions): string {
  if (rows.length === 0) return ''
  const aligned = !o.noHeadings && o.separator === undefined
  const sep = o.separator ?? (o.noHeadings ? ':' : ' ')
  const defs = o.fields.map((f) => FIELDS[f])
  const cells = rows.map((r) => defs.map((d) => d.value(r)))
  const widths = defs.map((d, i) => Math.max(d.width, ...cells.map((c) => c[i].length)))
  const lines: string[] = []
  if (!o.noHeadings) {
    lines.push(defs.map((d, i) => (aligned ? d.heading.slice(0, widths[i]).padEnd(widths[i]) : d.heading)).join(sep))
  }
  for (const c of cells) {
    lines.push(c.map((v, i) => (!aligned ? v : defs[i].number ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(sep))
  }
  return lines.map((l) => `${l}\n`).join('')
}

/** `-o help`: the field list. */
export function fieldsHelp(): string {
  const width = Math.max(...Object.keys(FIELDS).map((k) => k.length))
  return (
    'Device Info Fields\n------------------\n' +
    Object.entries(FIELDS).map(([k, f]) => `  ${k.padEnd(width)} - ${f.help}\n`).join('')
  )
}
