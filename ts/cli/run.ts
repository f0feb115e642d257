// Dispatch: parse the command line, run the verb, turn any failure into a message and an exit status.
import { readFileSync } from 'node:fs'
import { registerStockTargets } from '../targets'
import { parseCommandLine, UsageError, type Parsed } from './args'
import { Ctx, type Io } from './context'
import * as device from './device-verbs'
import { report } from './errors'
import * as events from './event-verbs'
import { loopVerb } from './loop-verbs'
import { volumeVerb } from './volume-verbs'
import { usage, VERB_HELP } from './help'
import * as query from './query-verbs'
import { thinMetadataSizeCli } from '../volumes'

type Verb = (ctx: Ctx) => number | Promise<number>

const VERBS: Record<string, Verb> = {
  version: query.version,
  targets: query.targets,
  ls: query.ls,
  info: query.info,
  table: query.tableOrStatus,
  status: query.tableOrStatus,
  deps: query.deps,
  create: device.create,
  load: device.load,
  reload: device.load,
  resume: device.resume,
  suspend: device.suspend,
  clear: device.clear,
  remove: device.remove,
  remove_all: device.removeAll,
  rename: device.rename,
  message: device.message,
  wait: device.wait,
  mknodes: device.mknodes,
  setgeometry: device.setGeometry,
  udevcookies: device.udevcookies,
  udevcreatecookie: device.udevcreatecookie,
  udevreleasecookie: device.udevreleasecookie,
  udevcomplete: device.udevcomplete,
  udevcomplete_all: device.udevcompleteAll,
  watch: events.watch,
  pool: events.pool,
  loop: loopVerb,
  volume: volumeVerb,
}

/** The process's own streams. */
export function processIo(): Io {
  return {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    stdin: () => readFileSync(0, 'utf8'),
    progress: process.stderr.isTTY === true,
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
  }
}

/** Runs one command line; resolves to the exit status. Never throws. */
export async function run(argv: string[], io: Io = processIo()): Promise<number> {
  // thin_metadata_size's own options (-b -s -m -u -n) and messages: the words after the verb go to it untouched
  // (its own -h/--help included).
  if (argv[0] === 'thin-metadata-size') {
    const r = thinMetadataSizeCli(argv.slice(1))
    io.stdout(r.stdout)
    io.stderr(r.stderr)
    return r.status
  }
  let parsed: Parsed | undefined
  let ctx: Ctx | undefined
  try {
    parsed = parseCommandLine(argv)
    const { verb, operands, values } = parsed
    if (values.version && verb === undefined) return run(['version', ...argv.filter((a) => a !== '--version')], io)
    if (verb === undefined) {
      if (values.help) {
        io.stdout(usage())
        return 0
      }
      throw new UsageError('no verb given')
    }
    const fn = VERBS[verb]
    if (fn === undefined) throw new UsageError(`unknown verb '${verb}'`)
    if (values.help) {
      io.stdout(`Usage: devmapper ${VERB_HELP[verb]}\n`)
      return 0
    }
    registerStockTargets()
    ctx = new Ctx(verb, operands, values, io)
    return await fn(ctx)
  } catch (err) {
    const r = report(err, parsed?.values.json === true || (parsed === undefined && argv.includes('--json')), parsed?.verb)
    io.stderr(r.stderr)
    return r.status
  } finally {
    ctx?.close()
  }
}
