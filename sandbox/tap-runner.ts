// Runs test files one process each (`node file.js`, tap prints TAP when run directly), streams their output,
// and counts top-level results: ok = passed, ok # SKIP = skipped, not ok = failed. A file that exits non-zero
// without a failing test line counts as one failure, so a crash can never pass.
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

export interface Counts {
  passed: number
  failed: number
  skipped: number
  failures: string[]
}

export function testFiles(dir: string, filter?: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.js') && (!filter || f.includes(filter)))
    .sort()
    .map((f) => join(dir, f))
}

export function countTap(output: string, file: string, exitCode: number | null, into: Counts): void {
  let failedHere = 0
  for (const line of output.split('\n')) {
    const m = /^(not ok|ok)\s+\d+(?:\s+-\s+(.*?))?(?:\s+#\s+(SKIP|TODO)\b.*)?(?:\s+#\s+time=.*)?$/i.exec(line)
    if (!m) continue
    if (m[1] === 'not ok') {
      into.failed++
      failedHere++
      into.failures.push(`${file}: ${m[2] ?? ''}`)
    } else if (m[3]) into.skipped++
    else into.passed++
  }
  if (exitCode !== 0 && failedHere === 0) {
    into.failed++
    into.failures.push(`${file}: exited with ${exitCode} without a failing test`)
  }
}

/**
 * `reports`: also read each file's stderr (still shown as it comes) and count one more failure for a file whose
 * stderr matches it (sanitizer reports that the runtime can only write there).
 */
export async function runFiles(files: readonly string[], env: NodeJS.ProcessEnv = process.env, reports?: RegExp): Promise<Counts> {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0, failures: [] }
  for (const file of files) {
    process.stdout.write(`# ${file}\n`)
    const child = spawn(process.execPath, ['--enable-source-maps', file], { env, stdio: ['ignore', 'pipe', reports ? 'pipe' : 'inherit'] })
    let out = ''
    let err = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      process.stdout.write(chunk)
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString()
      process.stderr.write(chunk)
    })
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)))
    countTap(out, file, code, counts)
    const report = reports?.exec(err)
    if (report) counts.failed++, counts.failures.push(`${file}: sanitizer report on stderr: ${report[0].trim()}`)
  }
  return counts
}

export function summaryLine(c: Counts): string {
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`
}
