// Runs inside the sandbox guest: the kernel test files, then writes their counts to $DEVMAPPER_SUMMARY.
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { runFiles, summaryLine, testFiles } from './tap-runner'

async function main(): Promise<void> {
  const counts = await runFiles(testFiles(join(resolve(__dirname, '..', 'test'), 'kernel'), process.argv[2]))
  process.stdout.write(`# guest: ${summaryLine(counts)}\n`)
  if (process.env.DEVMAPPER_SUMMARY) writeFileSync(process.env.DEVMAPPER_SUMMARY, JSON.stringify(counts))
  process.exitCode = counts.failed > 0 ? 1 : 0
}

void main()
