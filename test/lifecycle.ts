// Shared by the lifecycle tests: runs test/lifecycle-child.js many times and collects every run that did not
// end cleanly (a signal such as SIGABRT or SIGSEGV, exit code 134, or a loop that never got going).
import { spawn } from 'node:child_process'
import { join } from 'node:path'

export const CHILD = join(__dirname, 'lifecycle-child.js')

export interface Run {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export function runChild(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('close', (status, signal) => done({ status, signal, stdout, stderr }))
  })
}

const count = (s: string, line: string): number => s.split('\n').filter((l) => l === line).length

/**
 * Stops `times` loops of SCENARIO with STOP; returns one line per bad run (empty when all were clean). 'terminate'
 * runs the loops as `times` workers one after the other in one process; the other stops need a process each
 * (two at a time). A clean run exited 0 without a signal, after every loop reported 'ready' (and every
 * terminated worker's promise resolved). `prefix(i)` names run i's devices (kernel scenarios).
 */
export async function stopLoop(scenario: string, stop: string, times: number, prefix?: (i: number) => string): Promise<string[]> {
  const bad: string[] = []
  const one = async (i: number, cycles: number): Promise<void> => {
    const args = [scenario, stop, '--cycles', String(cycles), ...(prefix ? ['--prefix', prefix(i)] : [])]
    const r = await runChild(args, 60_000 * cycles) // a minute a loop: the one-CPU guest on a busy host is slow
    const ready = count(r.stdout, 'ready') === cycles && (stop !== 'terminate' || count(r.stdout, 'terminated') === cycles)
    if (r.status !== 0 || r.signal !== null || !ready) {
      const err = r.stderr.split('\n').find((l) => l.trim() !== '') ?? ''
      const progress = `${count(r.stdout, 'ready')} of ${cycles} loops started`
      bad.push(`run ${i}: status ${r.status} signal ${r.signal}, ${progress} ${err}`.trim())
    }
  }
  if (stop === 'terminate') {
    await one(0, times)
    return bad
  }
  for (let i = 0; i < times; i += 2) await Promise.all([one(i, 1), ...(i + 1 < times ? [one(i + 1, 1)] : [])])
  return bad
}
