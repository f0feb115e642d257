// Verbs dmsetup does not have: `watch` (device events as JSON lines until interrupted) and `pool status`
// (a thin-pool's typed status).
import { UsageError } from './args'
import { toJson, type Ctx } from './context'

/** One compact JSON line per device event (DeviceEvent), until SIGINT/SIGTERM; then exit 0. */
export async function watch(ctx: Ctx): Promise<number> {
  ctx.arity(0, Infinity)
  const only = new Set(ctx.operands)
  const controller = new AbortController()
  const stop = (): void => controller.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    for await (const event of ctx.dm.watch({ signal: controller.signal, keepAlive: true })) {
      if (only.size > 0 && !only.has(event.name)) continue
      ctx.io.stdout(`${JSON.stringify(event)}\n`)
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
  return 0
}

/** `pool status NAME`: the ThinPool handle's typed status; text is a `key: value` list of its
// fields (the raw status line left out), --json the object. */
export async function pool(ctx: Ctx): Promise<number> {
  const [sub, name, ...rest] = ctx.operands
  if (sub !== 'status') throw new UsageError(`pool: unknown subcommand '${sub ?? ''}' (pool status NAME)`)
  if (name === undefined || rest.length > 0) throw new UsageError('pool status: needs exactly one pool name')
  const status = await ctx.dm.thinPool(name).status({ noFlush: ctx.values.noflush })
  if (ctx.json) {
    ctx.printJson(status)
    return 0
  }
  const plain = JSON.parse(toJson(status)) as Record<string, unknown>
  let out = ''
  for (const [k, v] of Object.entries(plain)) if (k !== 'params') out += `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`
  ctx.out(out)
  return 0
}
