// `npm run bench [-- --json] [--trials N] [--only w1,w2] [--drivers d1,d2] [--quick]`: compiles the C drivers on the host into
// build/benchmarks/bin, boots the sandbox kernel, runs every trial inside it (benchmarks/guest.ts), and prints
// the tables (or, with --json, the report as JSON). The guest's raw results and the report are kept in
// build/benchmarks/; `--from <report.json or raw-results.json>` prints saved results again without a run.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { runInGuest } from '../sandbox/guest'
import type { RawResults } from './guest'
import { buildReport, markdown } from './report'

const PROJECT = resolve(__dirname, '..', '..')
const OUT_DIR = join(PROJECT, 'build', 'benchmarks')

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}

function compileC(): void {
  const bin = join(OUT_DIR, 'bin')
  mkdirSync(bin, { recursive: true })
  const src = join(PROJECT, 'benchmarks', 'c')
  if (!existsSync('/usr/include/libdevmapper.h')) {
    throw new Error('libdevmapper.h is missing; install it with: sudo apt-get install -y libdevmapper-dev')
  }
  const gcc = (out: string, file: string, libs: string[] = []): void => {
    execFileSync('gcc', ['-O2', '-Wall', '-o', join(bin, out), join(src, file), ...libs], { stdio: 'inherit' })
  }
  gcc('raw', 'raw.c')
  gcc('libdm', 'libdm.c', ['-ldevmapper'])
}

function print(report: ReturnType<typeof buildReport>, json: boolean): void {
  process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : markdown(report) + '\n')
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json')
  const quick = process.argv.includes('--quick')
  const from = option('--from')
  if (from) {
    // a saved report, or the guest's raw results (rebuilt with the current report code)
    const saved = JSON.parse(readFileSync(from, 'utf8')) as ReturnType<typeof buildReport> | RawResults
    return print('environment' in saved ? saved : buildReport(saved), json)
  }
  compileC()
  const rawFile = join(OUT_DIR, 'raw-results.json')
  rmSync(rawFile, { force: true })
  // Other processes on the host slow the guest down; the load average goes into the report.
  const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const before = loadavg()
  process.stderr.write('bench: booting the sandbox kernel; the whole run takes several minutes\n')
  const status = await runInGuest({
    command: 'node build/benchmarks/guest.js',
    cwd: PROJECT,
    env: {
      BENCH_OUT: rawFile,
      // --quick: one trial, a fifth of the iterations and budget, no dmsetup: for iterating on a change
      BENCH_TRIALS: option('--trials') ?? (quick ? '1' : '3'),
      BENCH_QUICK: quick ? '1' : '',
      BENCH_ONLY: option('--only') ?? '',
      BENCH_DRIVERS: option('--drivers') ?? '',
    },
    // a busy shared host can stretch a full run well past its quiet-host 15-25 minutes
    timeoutMs: 60 * 60_000,
  })
  if (status !== 0 || !existsSync(rawFile)) throw new Error(`the benchmark run in the guest failed (status ${status})`)
  const report = buildReport(JSON.parse(readFileSync(rawFile, 'utf8')) as RawResults, { before, after: loadavg() })
  writeFileSync(join(OUT_DIR, 'report.json'), JSON.stringify(report, null, 2))
  print(report, json)
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`)
  process.exitCode = 1
})
