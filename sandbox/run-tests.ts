// `npm test`: unit tests on the host, then the kernel tests inside the User-Mode Linux sandbox (or, with
// DEVMAPPER_TEST_ON_HOST=1 on a host that has device-mapper, directly on the host). Prints one closing line
// `N passed, N failed, N skipped` and exits non-zero if anything failed. In the sandbox the kernel tests run twice:
// in a guest without udev (devmapper makes /dev/mapper nodes itself) and in one running systemd-udevd with the
// stock dmsetup rules (cookies); DEVMAPPER_UDEV=1 tells the tests which pass they are in.
// `--sanitize` (npm test sets it) adds the sanitize pass (sanitize.ts): the unit tests again with the addon built
// with ASan+UBSan, and the kernel tests in a third guest with a UBSan build; any sanitizer report fails it.
// `--sanitize-only` runs that pass alone. A FILTER argument narrows every pass to the files whose name has it.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { guestPath, runInGuest } from './guest'
import { buildSanitized, guestSanitizeEnv, hostSanitizeEnv, reportDir, sanitizerReports, STDERR_REPORT } from './sanitize'
import { runFiles, summaryLine, testFiles, type Counts } from './tap-runner'

const BUILD = resolve(__dirname, '..', 'test') // build/test
const PROJECT = resolve(BUILD, '..', '..')
const args = parseArgs({
  allowPositionals: true,
  options: { sanitize: { type: 'boolean', default: false }, 'sanitize-only': { type: 'boolean', default: false } },
})
const sanitizeOnly = args.values['sanitize-only'] === true
const filter = args.positionals[0]

function add(a: Counts, b: Counts): Counts {
  return { passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped, failures: [...a.failures, ...b.failures] }
}

async function kernelTests(): Promise<Counts> {
  const files = testFiles(join(BUILD, 'kernel'), filter)
  if (process.env.DEVMAPPER_TEST_ON_HOST === '1') {
    if (!existsSync('/dev/mapper/control')) throw new Error('DEVMAPPER_TEST_ON_HOST=1 but this host has no /dev/mapper/control')
    process.stdout.write('# kernel tests: on this host (DEVMAPPER_TEST_ON_HOST=1)\n')
    return runFiles(files, { ...process.env, DEVMAPPER_UDEV: existsSync('/run/udev/control') ? '1' : '0' })
  }
  if (files.length === 0) return { passed: 0, failed: 0, skipped: 0, failures: [] }
  const plain = await guestPass('plain')
  const udev = await guestPass('udev')
  process.stdout.write(`# kernel without udev: ${summaryLine(plain)}\n# kernel with udev: ${summaryLine(udev)}\n`)
  return add(plain, { ...udev, failures: udev.failures.map((f) => `[udev] ${f}`) })
}

type GuestMode = 'plain' | 'udev' | 'sanitize'

async function guestPass(mode: GuestMode, extraEnv: Record<string, string> = {}): Promise<Counts> {
  const udev = mode === 'udev'
  const what = { plain: 'without udev', udev: 'with systemd-udevd', sanitize: 'without udev, addon built with UBSan' }[mode]
  process.stdout.write(`# kernel tests: in the User-Mode Linux sandbox, ${what}\n`)
  const summary = join(PROJECT, 'build', `kernel-summary-${process.pid}-${mode}.json`)
  rmSync(summary, { force: true })
  const status = await runInGuest({
    command: `node build/sandbox/guest-tests.js ${filter ?? ''}`,
    cwd: PROJECT,
    // tap's default 30 s per file is too short for files that make hundreds of devices (with udev every resume,
    // remove and rename waits for the stock rules, ~0.15 s in UML) or run on a busy 2-core host.
    env: { DEVMAPPER_SUMMARY: guestPath(summary), DEVMAPPER_UDEV: udev ? '1' : '0', TAP_TIMEOUT: udev ? '240' : '180', ...extraEnv },
    udev,
  })
  if (!existsSync(summary)) {
    return { passed: 0, failed: 1, skipped: 0, failures: [`sandbox: the guest exited with ${status} and reported no results`] }
  }
  const counts = JSON.parse(readFileSync(summary, 'utf8')) as Counts
  rmSync(summary, { force: true })
  if (status !== 0 && counts.failed === 0) counts.failures.push(`sandbox: guest exited with ${status}`), counts.failed++
  return counts
}

/**
 * The sanitize pass (sanitize.ts): the unit tests on the host with the ASan+UBSan addon, the kernel tests in a
 * guest without udev with the UBSan addon (on the host with ASan+UBSan under DEVMAPPER_TEST_ON_HOST=1). Every
 * sanitizer report is one more failure, whatever the tests said.
 */
async function sanitizePass(): Promise<Counts> {
  const none: Counts = { passed: 0, failed: 0, skipped: 0, failures: [] }
  const failed = (why: string): Counts => ({ ...none, failed: 1, failures: [why] })
  let asan: string, ubsan: string
  try {
    asan = buildSanitized(PROJECT, 'address,undefined')
    ubsan = buildSanitized(PROJECT, 'undefined')
  } catch (err) {
    return failed(`sanitize: the sanitizer build failed: ${(err as Error).message}`)
  }
  process.stdout.write('# sanitize: unit tests on the host, addon built with ASan+UBSan\n')
  const hostDir = reportDir(PROJECT, 'host')
  let counts = await runFiles(testFiles(join(BUILD, 'unit'), filter), { ...process.env, ...hostSanitizeEnv(asan, hostDir) }, STDERR_REPORT)
  const kernelFiles = testFiles(join(BUILD, 'kernel'), filter)
  if (kernelFiles.length > 0 && process.env.DEVMAPPER_TEST_ON_HOST === '1') {
    const env = { ...process.env, ...hostSanitizeEnv(asan, hostDir), DEVMAPPER_UDEV: existsSync('/run/udev/control') ? '1' : '0' }
    counts = add(counts, await runFiles(kernelFiles, env, STDERR_REPORT))
  }
  const guestDir = reportDir(PROJECT, 'guest')
  if (kernelFiles.length > 0 && process.env.DEVMAPPER_TEST_ON_HOST !== '1') {
    counts = add(counts, await guestPass('sanitize', guestSanitizeEnv(guestPath(ubsan), guestPath(guestDir))))
  }
  const reports = [...sanitizerReports(hostDir), ...sanitizerReports(guestDir)]
  counts = add(counts, { ...none, failed: reports.length, failures: reports })
  return { ...counts, failures: counts.failures.map((f) => `[sanitize] ${f}`) }
}

async function main(): Promise<void> {
  const none: Counts = { passed: 0, failed: 0, skipped: 0, failures: [] }
  if (!sanitizeOnly) process.stdout.write('# unit tests: on the host\n')
  const unit = sanitizeOnly ? none : await runFiles(testFiles(join(BUILD, 'unit'), filter))
  const kernel = sanitizeOnly ? none : await kernelTests()
  const sanitize = args.values.sanitize || sanitizeOnly ? await sanitizePass() : undefined
  const total = sanitize ? add(add(unit, kernel), sanitize) : add(unit, kernel)
  process.stdout.write(`\n# unit: ${summaryLine(unit)}\n# kernel: ${summaryLine(kernel)}\n`)
  if (sanitize) process.stdout.write(`# sanitize: ${summaryLine(sanitize)}\n`)
  for (const f of total.failures) process.stdout.write(`# FAILED ${f}\n`)
  process.stdout.write(`${summaryLine(total)}\n`)
  process.exitCode = total.failed > 0 ? 1 : 0
}

main().catch((err: Error) => {
  process.stdout.write(`# ${err.message}\n0 passed, 1 failed\n`)
  process.exitCode = 1
})
