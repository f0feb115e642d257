// `thin_metadata_size` of thin-provisioning-tools 0.9.0 (Debian 12's), reproduced byte for byte: its options, unit
// letters and names, number formats, messages and exit codes, quirks included, since scripts parse its output:
// - sizes are unsigned 64-bit C arithmetic: atoll saturates at 2^63-1, products wrap, so 'z'/'y' (1024^7, 1024^8)
//   are 0 and print '0'; a result of 2^64 or more prints '0' too (what the x86-64 double->u64 conversion gives);
// - -b and -s are sectors when no unit is given, but echo the -u unit given before them; -m with a unit is that
//   many bytes ('1k' = 1024 thins);
// - a unit of one letter is looked up among the letters, a longer one is a prefix of a name ('meg'), '' is bytes.
// The words are processed as the C program sees them, UTF-8 bytes, and the output is decoded back as UTF-8.
import { posix } from 'node:path'
import { getoptLong, type LongOption } from './getopt-long'
import { formatExponent, formatFixed } from './printf'

export interface CliResult {
  stdout: string
  stderr: string
  /** the exit status */
  status: number
}

export interface ThinMetadataSizeCliOptions {
  /** argv[0]: getopt's messages start with it, the tool's own with its basename (default 'thin_metadata_size') */
  argv0?: string
}

const UNIT_CHARS = 'bskKmMgGtTpPeEzZyY'
const UNIT_NAMES = [
  'bytes', 'sectors', 'kibibytes', 'kilobytes', 'mebibytes', 'megabytes', 'gibibytes', 'gigabytes', 'tebibytes',
  'terabytes', 'pebibytes', 'petabytes', 'ebibytes', 'exabytes', 'zebibytes', 'zetabytes', 'yobibytes', 'yottabytes',
]
const U64 = (1n << 64n) - 1n
const LLONG_MAX = (1n << 63n) - 1n
const FACTORS: bigint[] = [1n, 512n, 1024n, 1000n]
for (let u = 4; u < UNIT_NAMES.length; u += 2) {
  FACTORS[u] = (FACTORS[u - 2] * 1024n) & U64
  FACTORS[u + 1] = (FACTORS[u - 1] * 1000n) & U64
}
const SECTORS = 1
const LONG_OPTIONS: LongOption[] = [
  { name: 'block-size', has: 'required', val: 'b' },
  { name: 'pool-size', has: 'required', val: 's' },
  { name: 'max-thins', has: 'required', val: 'm' },
  { name: 'unit', has: 'required', val: 'u' },
  { name: 'numeric-only', has: 'optional', val: 'n' },
  { name: 'help', has: 'none', val: 'h' },
  { name: 'version', has: 'none', val: 'V' },
]
type SizeOpt = 'b' | 's' | 'm'
const enum Numeric { None, Number, Short, Long }

class Abort {
  constructor(readonly message: string) {}
}

// unit_index(): -1 when unknown
function unitIndex(unit: string): number {
  if (unit.length === 1) return UNIT_CHARS.indexOf(unit)
  return UNIT_NAMES.findIndex((name) => name.startsWith(unit))
}

function latin1(s: string): string {
  const nul = s.indexOf('\0') // a C string ends there
  return Buffer.from(nul < 0 ? s : s.slice(0, nul), 'utf8').toString('latin1')
}

function utf8(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8')
}

function helpText(prg: string): string {
  const line = (a: string, b: string, c: string, units: '' | '[]' | '{}'): string =>
    `\t${a.padEnd(4)}${(units ? `${b}${units[0]}${UNIT_CHARS}${units[1]}` : b).padEnd(44)}${c}\n`
  return `Thin Provisioning Metadata Device Size Calculator.\nUsage: ${prg} [options]\n` +
    line('-b', '--block-size BLOCKSIZE', 'Block size of thin provisioned devices.', '[]') +
    line('-s', '--pool-size SIZE', 'Size of pool device.', '[]') +
    line('-m', '--max-thins #MAXTHINS', 'Maximum sum of all thin devices and snapshots.', '[]') +
    line('-u', '--unit ', 'Output unit specifier.', '{}') +
    line('-n', '--numeric-only [short|long]', 'Output numeric value only (optionally with short/long unit identifier).', '') +
    line('-h', '--help', 'This help.', '') +
    line('-V', '--version', 'Print thin provisioning tools version.', '')
}

// print_precision(): %llu for whole values, else %0.2f, or %0.2e when the fraction is under 0.01
function formatNumber(r: number): string {
  const whole = Math.floor(r)
  if (r === whole) return r < 2 ** 64 ? BigInt(r).toString() : '0'
  return r - whole < 1e-2 ? formatExponent(r, 2) : formatFixed(r, 2)
}

/**
 * Runs `thin_metadata_size` on `args` (the words after the program name) and returns what it would print and its
 * exit status.
 */
export function thinMetadataSizeCli(args: readonly string[], options: ThinMetadataSizeCliOptions = {}): CliResult {
  const argv0 = latin1(options.argv0 ?? 'thin_metadata_size')
  const prg = posix.basename(argv0) || argv0
  const n: Record<SizeOpt, bigint> = { b: 0n, s: 0n, m: 0n }
  const echo: Record<SizeOpt, string> = { b: '', s: '', m: '' }
  let unit = SECTORS
  let numeric = Numeric.None

  const size = (o: SizeOpt, arg: string): void => {
    if (n[o] !== 0n) throw new Abort('option already given!')
    const digits = /^[0-9]*/.exec(arg)![0]
    const suffix = arg.slice(digits.length)
    const idx = suffix ? unitIndex(suffix) : -1
    if (suffix && idx < 0) throw new Abort('Invalid unit specifier!')
    let value = digits === '' ? 0n : BigInt(digits)
    if (value > LLONG_MAX) value = LLONG_MAX
    value = (value * FACTORS[idx < 0 ? SECTORS : idx]) & U64
    n[o] = idx < 0 || o !== 'm' ? value / FACTORS[SECTORS] : value
    echo[o] = digits + (idx >= 0 ? UNIT_NAMES[idx] : o !== 'm' ? UNIT_NAMES[unit] : '')
  }
  const numericOnly = (arg: string | undefined): void => {
    if (numeric !== Numeric.None) throw new Abort('-n already given!')
    numeric = Numeric.Number
    if (arg === undefined) return
    const long = 'long'.startsWith(arg)
    if (arg === '' || (!'short'.startsWith(arg) && !long)) throw new Abort('-n invalid option argument')
    numeric = long ? Numeric.Long : Numeric.Short
  }

  try {
    for (const item of getoptLong(args.map(latin1), 'b:s:m:u:n::hV', LONG_OPTIONS, argv0)) {
      if ('error' in item) return { stdout: '', stderr: `${utf8(item.error)}\n`, status: 1 }
      const arg = item.arg ?? ''
      switch (item.opt) {
        case 'b': case 's': case 'm': size(item.opt, arg); break
        case 'u':
          unit = unitIndex(arg)
          if (unit < 0) throw new Abort('output unit specifier invalid!')
          break
        case 'n': numericOnly(item.arg); break
        case 'h': return { stdout: utf8(helpText(prg)), stderr: '', status: 0 }
        case 'V': return { stdout: '0.9.0\n', stderr: '', status: 0 }
      }
    }
    if (n.b === 0n) throw new Abort('block size required!')
    if (n.s === 0n) throw new Abort('pool size required!')
    if (n.m === 0n) throw new Abort('max thins required!')
    if ((n.b & (n.b - 1n)) !== 0n) throw new Abort('block size must be 2^^N')
    if (n.s <= n.b) throw new Abort('pool size must be larger than block size')
  } catch (err) {
    if (!(err instanceof Abort)) throw err
    return { stdout: '', stderr: utf8(`${prg} - ${err.message}\n`), status: 1 }
  }

  // print_estimated_result(): u64 integer part, then doubles
  const blocks = ((((2n * n.s) & U64) / n.b / 252n) + n.m) & U64
  const r = ((1.0 + Number(blocks)) * 8 * 512) / Number(FACTORS[unit])
  let out = formatNumber(r)
  if (numeric === Numeric.None) {
    out = `${prg} - ${out} ${UNIT_NAMES[unit]} estimated metadata area size for ` +
      `"--block-size=${echo.b} --pool-size=${echo.s} --max-thins=${echo.m}"`
  } else if (numeric === Numeric.Short) {
    out += UNIT_CHARS[unit]
  } else if (numeric === Numeric.Long) {
    out += UNIT_NAMES[unit]
  }
  return { stdout: utf8(`${out}\n`), stderr: '', status: 0 }
}
