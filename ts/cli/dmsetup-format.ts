// dmsetup's text layouts (lvm2 libdm/dm-tools/dmsetup.c, Debian 1.02.185), as pure functions of the library's
// objects, so a script can swap `dmsetup` for `devmapper` and diff nothing.
import type { DeviceInfo, RawTarget, Sectors, Version } from '../core'

/** What `info` shows besides DeviceInfo: read-ahead in sectors, undefined when the kernel gives none. */
export type InfoRow = DeviceInfo & { readAhead?: number }

/** `dmsetup info` (long form): one block per device, each followed by a blank line. */
export function infoLong(d: InfoRow): string {
  const tables =
    !d.activeTable && !d.inactiveTable
      ? 'None'
      : `${d.activeTable ? 'LIVE' : ''}${d.activeTable && d.inactiveTable ? ' & ' : ''}${d.inactiveTable ? 'INACTIVE' : ''}`
  return (
    `Name:              ${d.name}\n` +
    `State:             ${d.suspended ? 'SUSPENDED' : 'ACTIVE'}${d.readOnly ? ' (READ-ONLY)' : ''}${d.deferredRemove ? ' (DEFERRED REMOVE)' : ''}\n` +
    (d.readAhead === undefined ? '' : `Read Ahead:        ${d.readAhead}\n`) +
    `Tables present:    ${tables}\n` +
    `Open count:        ${d.openCount}\n` +
    `Event number:      ${d.eventNr}\n` +
    `Major, minor:      ${d.major}, ${d.minor}\n` +
    `Number of targets: ${d.targetCount}\n` +
    (d.uuid ? `UUID: ${d.uuid}\n` : '') +
    '\n'
  )
}

/** `dmsetup ls` line; `name` is the (maj:min) replacement when -o devname/blkdevname resolved one. */
export function lsLine(name: string, major: number, minor: number, devName?: string): string {
  return `${name}\t(${devName ?? `${major}:${minor}`})\n`
}

/** `dmsetup ls --target T` line: the comma form of _display_dev. */
export function lsTargetLine(name: string, major: number, minor: number): string {
  return `${name}\t(${major}, ${minor})\n`
}

/**
 * dmsetup's key suppression for `table` without --showkeys: a crypt key (the second word) becomes as many '0's
 * as it has characters unless it is a kernel keyring reference (':...'); integrity's internal_hash:,
 * journal_crypt: and journal_mac: keys likewise.
 */
export function maskKeys(type: string, params: string): string {
  if (type === 'crypt') {
    const m = /^([^ ]*(?: |$))([^ ]*)/.exec(params)!
    if (m[2].startsWith(':') || m[1].length === params.length) return params
    return m[1] + '0'.repeat(m[2].length) + params.slice(m[0].length)
  }
  if (type === 'integrity') {
    let out = params
    for (const key of ['internal_hash:', 'journal_crypt:', 'journal_mac:']) out = hideKey(out, key)
    return out
  }
  return params
}

// hide_key(): after the first occurrence of `name`, skip to the next ' ' or ':'; if it is ':', zero the rest
// of that word.
function hideKey(params: string, name: string): string {
  let i = params.indexOf(name)
  if (i < 0) return params
  i += name.length
  while (i < params.length && params[i] !== ' ' && params[i] !== ':') i++
  if (i >= params.length || params[i] !== ':') return params
  i++
  let j = i
  while (j < params.length && params[j] !== ' ') j++
  return params.slice(0, i) + '0'.repeat(j - i) + params.slice(j)
}

export interface TableLinesOptions {
  /** prefix each line with `<name>: ` (dmsetup does when listing several or all devices) */
  prefix?: string
  /** only targets of this type (--target) */
  target?: string
  /** mask crypt/integrity keys (table without --showkeys) */
  mask?: boolean
}

/**
 * `dmsetup table` / `status` lines of one device. Each target prints `<start> <length> <type> <params>` (note
 * the space after the type even when params are empty); a device with no table prints an empty line.
 */
export function tableLines(targets: readonly RawTarget<Sectors>[], o: TableLinesOptions = {}): string {
  const pre = o.prefix === undefined ? '' : `${o.prefix}: `
  if (targets.length === 0) return o.target === undefined ? `${pre}\n` : ''
  let out = ''
  for (const t of targets) {
    if (o.target !== undefined && t.type !== o.target) continue
    const params = o.mask ? maskKeys(t.type, t.params) : t.params
    out += `${pre}${t.start} ${t.length} ${t.type} ${params}\n`
  }
  return out
}

/** `dmsetup table --concise` entry of one device: name,uuid,minor,ro|rw,<start> <len> <type> <params>,... */
export function conciseEntry(d: DeviceInfo, targets: readonly RawTarget<Sectors>[], mask: boolean): string {
  const q = (s: string): string => s.replace(/[,;\\]/g, '\\$&')
  let out = `${q(d.name)},${q(d.uuid)},${d.minor},${d.readOnly ? 'ro' : 'rw'}`
  for (const t of targets) out += `,${t.start} ${t.length} ${t.type} ${q(mask ? maskKeys(t.type, t.params) : t.params)}`
  return out
}

/** `dmsetup deps` line; `names` replaces (maj, min) per dependency when -o devname/blkdevname resolved it. */
export function depsLine(deps: readonly { major: number; minor: number }[], prefix?: string, names?: (string | undefined)[]): string {
  let out = `${prefix === undefined ? '' : `${prefix}: `}${deps.length} dependencies\t:`
  deps.forEach((d, i) => {
    out += names?.[i] !== undefined ? ` (${names[i]})` : ` (${d.major}, ${d.minor})`
  })
  return `${out}\n`
}

/** `dmsetup targets`: `%-16s v%d.%d.%d` per target type. */
export function targetsLines(targets: readonly { name: string; version: readonly number[] }[]): string {
  return targets.map((t) => `${t.name.padEnd(16)} v${t.version.join('.')}\n`).join('')
}

/** `dmsetup version`. The library line names devmapper; the driver line is the kernel's, as dmsetup prints it. */
export function versionLines(library: string, driver: Version): string {
  return `Library version:   ${library}\nDriver version:    ${driver.major}.${driver.minor}.${driver.patch}\n`
}

/** `dmsetup message` prints the target's reply, adding a newline unless it has one; nothing when empty. */
export function messageReply(reply: string | undefined): string {
  if (reply === undefined || reply === '') return ''
  return reply.endsWith('\n') ? reply : `${reply}\n`
}
