// Turns the guest's raw trial summaries into per-operation medians, ratios and markdown tables.
import type { RawResults } from './guest'
import { median } from './stats'
import { DRIVERS, WORKLOADS, type DriverName } from './workloads'

export interface Cell {
  /**
   * The lowest of the trials' medians, per kernel-level operation, in microseconds. Other load on the host
   * (other guests, builds) only ever adds time, so the least-disturbed trial is the best estimate of the cost.
   */
  us: number
  /** the median of the trials' medians, same unit */
  medianOfTrialsUs: number
  /** lowest and highest trial median, same unit: how stable the cell is across processes */
  trialRangeUs: [number, number]
  iterations: number
}

export interface Report {
  environment: Omit<RawResults, 'workloads' | 'memory'> & { hostLoad?: { before: string; after: string } }
  workloads: {
    name: string
    title: string
    drivers: Partial<Record<DriverName, Cell>>
    ratios: Record<string, number | undefined>
  }[]
  memory: RawResults['memory']
}

const ROUND = (x: number, digits = 2): number => Number(x.toFixed(digits))

function ratio(a: Cell | undefined, b: Cell | undefined): number | undefined {
  return a && b ? ROUND(a.us / b.us) : undefined
}

export function buildReport(raw: RawResults, hostLoad?: { before: string; after: string }): Report {
  const { workloads, memory, ...environment } = raw
  return {
    environment: { ...environment, hostLoad },
    workloads: workloads.map((w) => {
      const def = WORKLOADS.find((x) => x.name === w.name)!
      const drivers: Partial<Record<DriverName, Cell>> = {}
      for (const [d, trials] of Object.entries(w.trials) as [DriverName, NonNullable<(typeof w.trials)[DriverName]>][]) {
        const perOp = trials.map((t) => t.medianNs / def.opsPerIteration / 1000)
        drivers[d] = {
          us: ROUND(Math.min(...perOp), 1),
          medianOfTrialsUs: ROUND(median(perOp), 1),
          trialRangeUs: [ROUND(Math.min(...perOp), 1), ROUND(Math.max(...perOp), 1)],
          iterations: trials.reduce((a, t) => a + t.n, 0),
        }
      }
      const ratios: Record<string, number | undefined> = {
        'devmapper-sync/raw-c': ratio(drivers['devmapper-sync'], drivers['raw-c']),
        'devmapper-async/raw-c': ratio(drivers['devmapper-async'], drivers['raw-c']),
        'libdm/raw-c': ratio(drivers.libdm, drivers['raw-c']),
        'dmsetup/devmapper-async': ratio(drivers.dmsetup, drivers['devmapper-async']),
        'dmsetup/devmapper-sync': ratio(drivers.dmsetup, drivers['devmapper-sync']),
        'devmapper-async/devmapper-sync': ratio(drivers['devmapper-async'], drivers['devmapper-sync']),
        'sync-in-promise/devmapper-sync': ratio(drivers['sync-in-promise'], drivers['devmapper-sync']),
      }
      for (const k of Object.keys(ratios)) if (ratios[k] === undefined) delete ratios[k]
      return { name: w.name, title: def.title, drivers, ratios }
    }),
    memory,
  }
}

function fmt(x: number | undefined, unit = ''): string {
  if (x === undefined) return '—'
  if (unit === 'x') return `${x.toFixed(2)}x`
  return x >= 100 ? x.toFixed(0) : x.toFixed(1)
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`
}

function table(head: string[], rows: string[][]): string {
  return [row(head), row(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(row)].join('\n')
}

function load(r: Report): string {
  const l = r.environment.hostLoad
  return l ? `; host load average ${l.before} before, ${l.after} after` : ''
}

export function markdown(r: Report): string {
  const byName = new Map(r.workloads.map((w) => [w.name, w]))
  const main = r.workloads.filter((w) => !['threadpool-hop', 'create64-concurrent', 'list-1000-regrow'].includes(w.name))
  const d = (w: Report['workloads'][number], k: DriverName): number | undefined => w.drivers[k]?.us
  const out: string[] = []
  out.push(
    `Median time per operation in microseconds, inside the sandbox (Linux ${r.environment.kernelRelease} UML, ` +
      `1 CPU, DM interface ${r.environment.interfaceVersion}, node ${r.environment.node}, ` +
      `${r.environment.trialsPerCell} trial processes per cell, lowest trial median shown${load(r)}).`,
    '',
    table(
      ['workload', 'raw C', 'libdm', 'devmapper sync', 'devmapper async', 'dmsetup', 'sync / C', 'async / C', 'dmsetup / async'],
      main.map((w) => [
        w.title, fmt(d(w, 'raw-c')), fmt(d(w, 'libdm')), fmt(d(w, 'devmapper-sync')), fmt(d(w, 'devmapper-async')),
        fmt(d(w, 'dmsetup')), fmt(w.ratios['devmapper-sync/raw-c'], 'x'), fmt(w.ratios['devmapper-async/raw-c'], 'x'),
        fmt(w.ratios['dmsetup/devmapper-async'], 'x'),
      ]),
    ),
  )
  const hopRows = r.workloads.filter((w) => w.drivers['devmapper-async'] && w.drivers['devmapper-sync'] && w.name !== 'create64-concurrent')
  out.push(
    '',
    'The thread-pool hop: the promise API against the sync API, and against the sync call inside an async ' +
      'function (what the promise API would cost without the hop).',
    '',
    table(
      ['workload', 'sync', 'async', 'async − sync', 'async / sync', 'no-hop async', 'async / no-hop'],
      hopRows.map((w) => {
        const s = d(w, 'devmapper-sync')!, a = d(w, 'devmapper-async')!, n = d(w, 'sync-in-promise')
        return [w.title, fmt(s), fmt(a), fmt(a - s), fmt(a / s, 'x'), fmt(n), fmt(n === undefined ? undefined : a / n, 'x')]
      }),
    ),
  )
  const nativeRows = r.workloads.filter((w) => w.drivers['native-sync'])
  if (nativeRows.length) {
    out.push(
      '',
      "Where the sync API's distance from raw C goes: the addon's sync call alone (no validation, no reply " +
        'shaping) against the full facade.',
      '',
      table(
        ['workload', 'raw C', 'addon sync', 'devmapper sync', 'addon / C', 'devmapper / C'],
        nativeRows.map((w) => {
          const c = d(w, 'raw-c'), n = d(w, 'native-sync'), s = d(w, 'devmapper-sync')
          return [w.title, fmt(c), fmt(n), fmt(s), fmt(c && n ? n / c : undefined, 'x'), fmt(c && s ? s / c : undefined, 'x')]
        }),
      ),
    )
    const regrow = byName.get('list-1000-regrow')?.drivers['raw-c']?.us
    if (regrow !== undefined) {
      out.push('', `Raw C listing 1,000 devices from a fresh 16 KiB buffer each call (doubling until it fits): ${fmt(regrow)} us.`)
    }
  }
  const seq = byName.get('create64-sequential'), con = byName.get('create64-concurrent')
  if (seq && con) {
    out.push(
      '',
      '64 creates of a zero device, per create: issued one after another, and all at once from JS.',
      '',
      table(
        ['driver', 'sequential', 'concurrent', 'concurrent / sequential'],
        (['devmapper-async', 'dmsetup'] as DriverName[]).map((k) => {
          const s = seq.drivers[k]?.us, c = con.drivers[k]?.us
          return [DRIVERS.find((x) => x.name === k)!.title, fmt(s), fmt(c), fmt(s && c ? c / s : undefined, 'x')]
        }),
      ),
    )
  }
  if (r.memory.length) {
    out.push(
      '',
      'Memory: RSS after all calls minus RSS after the first 1,000 (after a full GC each time; limit 2 MiB), and how',
      "much of that growth is V8's heap (its size, and the live objects in it) and how much lies outside it.",
      '',
    )
    out.push(
      table(
        ['API', 'calls', 'devices present', 'RSS after 1,000', 'RSS after all', 'growth', 'V8 heap size', 'V8 live objects', 'outside V8 heap'],
        r.memory.map((m) => {
          const mib = (b: unknown): string => (typeof b === 'number' ? `${(b / 1048576).toFixed(2)} MiB` : '—')
          // older raw results name the readings after 1,000 and 100,000 info calls
          const first = m.rssAfterFirst ?? m.rssAfter1000, all = m.rssAfterAll ?? m.rssAfter100000
          return [
            String(m.mode), String(m.calls ?? 100_000), String(m.devices ?? '—'), mib(first), mib(all), mib(m.growthBytes),
            mib(m.heapTotalGrowth), mib(m.heapUsedGrowth), mib(m.outsideHeapGrowth),
          ]
        }),
      ),
    )
  }
  return out.join('\n')
}
