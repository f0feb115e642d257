// The sanitize pass's pieces: the sanitizer builds of the addon (scripts/build-sanitize.sh), the environment
// that loads one (DEVMAPPER_NATIVE) with the runtime's options, and the reports the runtimes leave behind.
//
// ASan cannot run in the User-Mode Linux guest: UML's user address space ends at 0x7fc0000000 (512 GiB, 3-level
// page tables), the guest's stacks live just below it, and gcc's ASan has a fixed 47-bit layout (shadow offset
// 0x7fff8000 compiled into the code; HighShadow from 0x02008fff7000, stacks at 0x7fbf... fall inside its
// ShadowGap), so the runtime aborts with "Shadow memory range interleaves with an existing memory mapping".
// Hence: ASan+UBSan on the host (the unit tests, including the native calls that need no device-mapper),
// UBSan alone for the kernel tests in the guest (no shadow memory, linked as a normal shared library).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

export type Sanitizers = 'address,undefined' | 'undefined'

/** Builds (or finds up to date) the addon with these sanitizers; its path, or throws with the build's output. */
export function buildSanitized(project: string, sanitizers: Sanitizers): string {
  const out = execFileSync('bash', [join(project, 'scripts', 'build-sanitize.sh'), sanitizers], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const file = /build-sanitize: (\S+)/.exec(out)?.[1]
  if (!file || !existsSync(join(project, file))) throw new Error(`build-sanitize.sh ${sanitizers} made no addon: ${out}`)
  return join(project, file)
}

/** An empty directory for one run's reports. */
export function reportDir(project: string, name: string): string {
  const dir = join(project, 'build', 'sanitize-reports', `${process.pid}-${name}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

// Reports go to files (<log_path>.<pid>), one per process that hit one, so a report from a child process or
// from a test whose output is not TAP is still found; halt_on_error stops the process at its first report.
function options(dir: string, name: string): string {
  return `halt_on_error=1:log_path=${join(dir, name)}`
}

/**
 * A report on stderr. With gcc's ASan and UBSan in one process (libasan preloaded, libubsan linked by the addon),
 * libubsan's call to __sanitizer_set_report_path binds to libasan's copy, so UBSan ignores its log_path and
 * writes to stderr: the host's runs are also read for these lines.
 */
export const STDERR_REPORT = /^.*(?:==\d+==ERROR: \w+Sanitizer|: runtime error: ).*$/m

/** ASan+UBSan on the host: the ASan runtime must be the first library loaded, hence LD_PRELOAD. */
export function hostSanitizeEnv(addon: string, dir: string): Record<string, string> {
  const libasan = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim()
  if (!libasan.startsWith('/')) throw new Error(`gcc knows no libasan.so (${libasan})`)
  return {
    DEVMAPPER_NATIVE: addon,
    LD_PRELOAD: libasan,
    // detect_leaks=0: node itself and the tools the tests spawn keep memory to exit by design
    ASAN_OPTIONS: `detect_leaks=0:abort_on_error=0:${options(dir, 'asan')}`,
    UBSAN_OPTIONS: `print_stacktrace=1:${options(dir, 'ubsan')}`,
  }
}

/** UBSan alone in the guest; `addon` and `dir` as the guest sees them. */
export function guestSanitizeEnv(addon: string, dir: string): Record<string, string> {
  return { DEVMAPPER_NATIVE: addon, UBSAN_OPTIONS: `print_stacktrace=1:${options(dir, 'ubsan')}` }
}

/** Each report file in `dir` is one failure; its text is printed. A directory without any is removed. */
export function sanitizerReports(dir: string): string[] {
  const failures: string[] = []
  const files = existsSync(dir) ? readdirSync(dir).sort() : []
  if (files.length === 0) rmSync(dir, { recursive: true, force: true })
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8')
    process.stdout.write(`# sanitizer report ${join(dir, f)}:\n${text.replace(/^/gm, '#   ')}\n`)
    const first = text.split('\n').find((l) => /ERROR|runtime error/.test(l)) ?? text.split('\n')[0]
    failures.push(`sanitizer report ${f}: ${first.trim()}`)
  }
  return failures
}
