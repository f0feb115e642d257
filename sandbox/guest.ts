// Boots the User-Mode Linux kernel with the host's root as its root (hostfs), runs one command inside as PID 1's
// child, and returns its exit status (passed back through a file, since the UML process's own status is not
// the guest's). Guest output goes to this process's stderr/stdout; with `console: 'on-failure'` only the
// command's own output is shown (with host paths) and the kernel's console is printed only if the run fails.
import { spawn } from 'node:child_process'
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { ensureKernel, moduleLoadOrder } from './kernel'

export interface GuestRun {
  /** the command, run with /bin/sh -c in `cwd` */
  command: string
  cwd: string
  env?: Record<string, string>
  /** guest memory in MiB (default 1536) */
  memMiB?: number
  /** kill the guest after this long (default 30 min) */
  timeoutMs?: number
  /** start systemd-udevd in the guest before the command */
  udev?: boolean
  /**
   * 'show' (default): the guest kernel's console (boot messages, `reboot: System halted`) and the command's
   * output both go to stderr as they come. 'on-failure': the command's stdout and stderr go to this process's
   * stdout and stderr, the kernel's console is kept back and printed only when the run fails.
   */
  console?: 'show' | 'on-failure'
}

const PROJECT = resolve(__dirname, '..', '..')
/**
 * Where the guest sees the project. The guest mounts its own tmpfs on /tmp, which would hide a checkout that
 * lives under the host's /tmp (CI clones may), so the project is bind-mounted here first.
 */
export const GUEST_PROJECT = '/run/devmapper-project'

/** A host path inside the project, as the guest sees it. */
export function guestPath(hostPath: string): string {
  const rel = relative(PROJECT, hostPath)
  return rel.startsWith('..') || isAbsolute(rel) ? hostPath : join(GUEST_PROJECT, rel)
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

export async function runInGuest(run: GuestRun): Promise<number> {
  const kernel = ensureKernel()
  const modules = moduleLoadOrder(kernel)
  // Not under /tmp: the guest mounts its own tmpfs there.
  const dir = join(PROJECT, 'build', 'sandbox', `${process.pid}-${Date.now()}`)
  mkdirSync(dir, { recursive: true })
  const statusFile = join(dir, 'status')
  // in 'on-failure' mode the command writes to files in the project (the guest sees them through hostfs) that
  // are copied out as they grow, so the kernel's console can be held back
  const quiet = run.console === 'on-failure'
  const outFile = join(dir, 'stdout')
  const errFile = join(dir, 'stderr')
  if (quiet) for (const f of [outFile, errFile]) writeFileSync(f, '')
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    DEVMAPPER_SANDBOX: '1',
    ...(process.env.CI ? { CI: process.env.CI } : {}),
    ...run.env,
  }
  const init = `#!/bin/sh
${Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`).join('\n')}
mount -t proc proc /proc
mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mkdir -p ${GUEST_PROJECT} && mount --bind ${shellQuote(PROJECT)} ${GUEST_PROJECT}
mount -t tmpfs -o mode=1777 tmp /tmp
mkdir -p /dev/shm && mount -t tmpfs shm /dev/shm
${modules.map((m) => `insmod ${shellQuote(m)} 2>/dev/null`).join('\n')}
[ -e /dev/mapper/control ] || { echo "sandbox: device-mapper did not come up" >&2; echo 125 > ${shellQuote(guestPath(statusFile))}; sync; poweroff -f; }
${run.udev ? `/lib/systemd/systemd-udevd --daemon && udevadm trigger --action=add && udevadm settle || { echo "sandbox: systemd-udevd did not start" >&2; echo 125 > ${shellQuote(guestPath(statusFile))}; sync; poweroff -f; }` : ''}
cd ${shellQuote(guestPath(run.cwd))} && /bin/sh -c ${shellQuote(run.command)}${quiet ? ` >${shellQuote(guestPath(outFile))} 2>${shellQuote(guestPath(errFile))}` : ''}
echo $? > ${shellQuote(guestPath(statusFile))}
sync
poweroff -f
`
  const initFile = join(dir, 'init')
  writeFileSync(initFile, init)
  chmodSync(initFile, 0o755)
  const mem = run.memMiB ?? 1536
  const args = [`mem=${mem}M`, 'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'rw', 'quiet', `init=${initFile}`, 'con0=null,fd:2', 'con=null']
  const child = spawn(kernel.binary, args, { stdio: ['ignore', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'], env: { ...process.env, ...kernel.env } })
  const kernelConsole: Buffer[] = []
  child.stdout?.on('data', (b: Buffer) => kernelConsole.push(b))
  child.stderr?.on('data', (b: Buffer) => kernelConsole.push(b))
  const tails = quiet ? [new Tail(outFile, process.stdout), new Tail(errFile, process.stderr)] : []
  const copier = setInterval(() => tails.forEach((t) => t.copy()), 100)
  const timeout = setTimeout(() => {
    process.stderr.write(`sandbox: guest timed out after ${run.timeoutMs ?? 1_800_000} ms; killing it\n`)
    child.kill('SIGKILL')
  }, run.timeoutMs ?? 1_800_000)
  await new Promise<void>((done) => child.on('close', () => done()))
  clearTimeout(timeout)
  clearInterval(copier)
  tails.forEach((t) => t.copy(true))
  let status = 126
  if (existsSync(statusFile)) status = Number(readFileSync(statusFile, 'utf8').trim())
  else process.stderr.write('sandbox: the guest ended without reporting a status\n')
  if (quiet && status !== 0) {
    process.stderr.write(`sandbox: the guest exited with ${status}; its kernel console:\n${hostPaths(Buffer.concat(kernelConsole).toString())}`)
  }
  rmSync(dir, { recursive: true, force: true })
  return status
}

/** Guest paths of the project in text shown to the user, as the host paths they are. */
function hostPaths(text: string): string {
  return text.split(GUEST_PROJECT).join(PROJECT)
}

/** Copies what a growing file gained since the last call, whole lines only until the last call. */
class Tail {
  #offset = 0
  #partial = ''

  constructor(
    private readonly file: string,
    private readonly to: NodeJS.WritableStream,
  ) {}

  copy(last = false): void {
    const fd = openSync(this.file, 'r')
    try {
      const buf = Buffer.alloc(65536)
      for (let n; (n = readSync(fd, buf, 0, buf.length, this.#offset)) > 0; ) {
        this.#offset += n
        this.#partial += buf.toString('utf8', 0, n)
      }
    } finally {
      closeSync(fd)
    }
    const cut = last ? this.#partial.length : this.#partial.lastIndexOf('\n') + 1
    if (cut > 0) this.to.write(hostPaths(this.#partial.slice(0, cut)))
    this.#partial = this.#partial.slice(cut)
  }
}
