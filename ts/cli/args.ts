// Command-line parsing with Node's util.parseArgs: one option table for every verb (dmsetup's switches are
// global too), accepted before or after the verb. The first positional is the verb; the rest are its operands.
import { parseArgs } from 'node:util'

export const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v', multiple: true },
  columns: { type: 'boolean', short: 'c' },
  'columns-upper': { type: 'boolean', short: 'C' },
  options: { type: 'string', short: 'o' },
  noheadings: { type: 'boolean' },
  separator: { type: 'string' },
  target: { type: 'string' },
  tree: { type: 'boolean' },
  showkeys: { type: 'boolean' },
  concise: { type: 'boolean' },
  uuid: { type: 'string', short: 'u' },
  major: { type: 'string', short: 'j' },
  minor: { type: 'string', short: 'm' },
  readonly: { type: 'boolean', short: 'r' },
  readahead: { type: 'string' },
  table: { type: 'string' },
  force: { type: 'boolean', short: 'f' },
  retry: { type: 'boolean' },
  deferred: { type: 'boolean' },
  noflush: { type: 'boolean' },
  nolockfs: { type: 'boolean' },
  setuuid: { type: 'boolean' },
  inactive: { type: 'boolean' },
  noudevsync: { type: 'boolean' },
  // accepted for dmsetup compatibility; they change nothing here
  noopencount: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  // loop verbs (losetup's long names; its -o is taken by dmsetup's -o here)
  offset: { type: 'string' },
  sizelimit: { type: 'string' },
  'sector-size': { type: 'string' },
  'direct-io': { type: 'boolean' },
  autoclear: { type: 'boolean' },
  partscan: { type: 'boolean' },
  // pool / volume verbs
  root: { type: 'string' },
  opt: { type: 'string', multiple: true },
  size: { type: 'string' },
  fs: { type: 'string' },
  'mount-options': { type: 'string' },
  repair: { type: 'boolean' },
  'deferred-deletion': { type: 'boolean' },
} as const

export type Values = ReturnType<typeof parse>['values']

export class UsageError extends Error {
  override name = 'UsageError'
}

export interface Parsed {
  verb: string | undefined
  operands: string[]
  values: Values
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
}

/** Parses argv (without node and script); throws UsageError for unknown options or missing option values. */
export function parseCommandLine(argv: string[]): Parsed {
  let r: ReturnType<typeof parse>
  try {
    r = parse(argv)
  } catch (err) {
    // Node's text goes on about '--' for positionals; the first sentence says it all
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''))
  }
  const [verb, ...operands] = r.positionals
  return { verb, operands, values: r.values }
}

/** A non-negative decimal integer operand or option value, or a UsageError naming it. */
export function uint(text: string | undefined, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > max) {
    throw new UsageError(`${what} must be a non-negative integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, got '${text ?? ''}'`)
  }
  return Number(text)
}
