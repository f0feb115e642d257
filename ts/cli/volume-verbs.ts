// `volume create|snapshot|rm|ls|info|activate|deactivate|mount|unmount|resize|check|status|recover-txid`: the VolumeManager
// on `--root DIR`, configured by repeated `--opt dm.key=value` (Docker's and Convoy's strings). Long steps (mkfs,
// discard, removal waits) show a one-line note on a TTY and nothing on a pipe.
import { VolumeManager, type VolumeInfo } from '../volumes'
import { UsageError } from './args'
import { toJson, type Ctx } from './context'

/** `volume ls`: one aligned row per volume. */
export function volumeTable(list: readonly VolumeInfo[]): string {
  const head = ['NAME', 'ID', 'SIZE', 'FS', 'ACTIVE', 'PARENT', 'MOUNTPOINT']
  const rows = list.map((v) => [v.name, String(v.deviceId), String(v.size), v.fs, v.active ? 'yes' : 'no', v.parent ?? '-', v.mountpoint ?? '-'])
  const all = [head, ...rows]
  const widths = head.map((_, k) => Math.max(...all.map((r) => r[k].length)))
  return all.map((r) => `${r.map((v, k) => (k === r.length - 1 ? v : v.padEnd(widths[k]))).join('  ')}\n`).join('')
}

/** `key: value` lines of a plain object (nested values as JSON). */
function keyValues(obj: unknown): string {
  const plain = JSON.parse(toJson(obj)) as Record<string, unknown>
  return Object.entries(plain)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`)
    .join('')
}

const ARITY: Record<string, [number, number, string]> = {
  create: [1, 1, 'NAME'],
  snapshot: [2, 2, 'SOURCE NAME'],
  rm: [1, 1, 'NAME'],
  ls: [0, 0, ''],
  info: [1, 1, 'NAME'],
  activate: [1, 1, 'NAME'],
  deactivate: [1, 1, 'NAME'],
  mount: [2, 2, 'NAME DIR'],
  unmount: [1, 1, 'NAME'],
  resize: [2, 2, 'NAME SIZE'],
  check: [0, 0, ''],
  status: [0, 0, ''],
  'recover-txid': [0, 0, ''],
}

export async function volumeVerb(ctx: Ctx): Promise<number> {
  const [sub, ...args] = ctx.operands
  const v = ctx.values
  const arity = sub === undefined ? undefined : ARITY[sub]
  if (arity === undefined) throw new UsageError(`volume: unknown subcommand '${sub ?? ''}' (${Object.keys(ARITY).join(', ')})`)
  if (args.length < arity[0] || args.length > arity[1]) throw new UsageError(`volume ${sub}: needs ${arity[2] || 'no arguments'}`)
  if (v.root === undefined) throw new UsageError(`volume ${sub}: --root DIR is required`)
  const note = (text: string): void => {
    if (ctx.io.progress) ctx.io.stderr(`\r\x1b[Kdevmapper: ${text}`)
  }
  const clear = (): void => {
    if (ctx.io.progress) ctx.io.stderr('\r\x1b[K')
  }
  if (sub === 'recover-txid') {
    // instead of open: open refuses a pool whose transaction id moved
    const r = await VolumeManager.recoverTransactionId({ root: v.root, driverOptions: v.opt ?? [] })
    if (ctx.json) ctx.printJson(r)
    else ctx.out(keyValues(r))
    return 0
  }
  note(`opening ${v.root}...`)
  const vm = await VolumeManager.open({ root: v.root, driverOptions: v.opt ?? [] }).finally(clear)
  try {
    let result: unknown
    let text = ''
    switch (sub) {
      case 'create':
        note(`creating ${args[0]} (mkfs)...`)
        result = await vm.createVolume(args[0], { size: v.size, fs: v.fs as VolumeInfo['fs'] | undefined }).finally(clear)
        break
      case 'snapshot':
        result = await vm.snapshot(args[0], args[1])
        break
      case 'rm':
        note(`removing ${args[0]} (discard, removal)...`)
        await vm
          .removeVolume(args[0], {
            ...(v.deferred === undefined ? {} : { deferred: v.deferred }),
            ...(v['deferred-deletion'] === undefined ? {} : { deferredDeletion: v['deferred-deletion'] }),
          })
          .finally(clear)
        result = { name: args[0], removed: true }
        break
      case 'ls': {
        const list = await vm.listVolumes()
        result = list
        text = volumeTable(list)
        break
      }
      case 'info': {
        const info = await vm.volume(args[0])
        if (info === undefined) throw new UsageError(`volume info: no volume named '${args[0]}'`)
        result = info
        text = keyValues(info)
        break
      }
      case 'activate': {
        const info = await vm.activate(args[0])
        result = info
        text = `${info.path ?? ''}\n`
        break
      }
      case 'deactivate':
        await vm.deactivate(args[0])
        result = { name: args[0], active: false }
        break
      case 'mount':
        result = await vm.mount(args[0], args[1], v['mount-options'] === undefined ? {} : { options: v['mount-options'] })
        break
      case 'unmount':
        await vm.unmount(args[0])
        result = { name: args[0], mounted: false }
        break
      case 'resize':
        note(`resizing ${args[0]}...`)
        result = await vm.resize(args[0], /^\d+$/.test(args[1]) ? Number(args[1]) : args[1]).finally(clear)
        break
      case 'check': {
        const r = await vm.check({ repair: v.repair })
        if (ctx.json) ctx.printJson(r)
        else ctx.out(keyValues(r))
        return r.ok ? 0 : 1
      }
      case 'status': {
        const s = await vm.status()
        result = s
        text = keyValues(s)
        break
      }
    }
    if (ctx.json) ctx.printJson(result)
    else ctx.out(text)
    return 0
  } finally {
    await vm.close()
  }
}
