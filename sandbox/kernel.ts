// Finds (and on Debian, as root, installs) the User-Mode Linux kernel the kernel tests run on, and resolves the
// modules to load in dependency order from its modules.dep.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'

export const UML_BINARY = '/usr/bin/linux.uml'
const MODULES_ROOT = '/usr/lib/uml/modules'
/**
 * Debian packages the sandbox uses: the kernel, insmod, udev for the second test pass, the tools that check
 * devmapper from the other side, and the file systems the volume manager makes.
 */
export const SANDBOX_PACKAGES = [
  'user-mode-linux', 'kmod', 'dmsetup', 'thin-provisioning-tools', 'util-linux', 'udev', 'lvm2', 'e2fsprogs', 'xfsprogs',
]
export const INSTALL_COMMAND = `apt-get update && apt-get install -y ${SANDBOX_PACKAGES.join(' ')}`

/** Module names the tests need; each is loaded with its dependencies. Missing optional ones are skipped. */
export const GUEST_MODULES = [
  'dm-mod', 'loop', 'dm-zero', 'dm-snapshot', 'dm-thin-pool', 'dm-flakey', 'dm-delay',
  // dm-crypt's dependency encrypted-keys needs the cbc cipher at load time; ecb and xts serve common ciphers
  'cbc', 'ecb', 'xts', 'encrypted-keys', 'dm-crypt',
  'dm-cache', 'dm-cache-smq', 'dm-verity', 'dm-mirror', 'dm-log-writes', 'dm-dust',
  // dm-raid needs md's personalities for the levels it runs
  'raid0', 'raid1', 'raid10', 'raid456', 'dm-raid',
]

export interface SandboxKernel {
  binary: string
  release: string
  modulesDir: string
  /** environment for the UML process (LD_PRELOAD of the XSAVE-size shim) */
  env: Record<string, string>
}

function missingTools(): string[] {
  const need: [string, string][] = [[UML_BINARY, 'user-mode-linux'], ['/usr/sbin/insmod', 'kmod'], ['/usr/sbin/dmsetup', 'dmsetup'], ['/usr/sbin/thin_check', 'thin-provisioning-tools'],
    ['/lib/systemd/systemd-udevd', 'udev'], ['/usr/sbin/lvm', 'lvm2'], ['/usr/sbin/mkfs.ext4', 'e2fsprogs'], ['/usr/sbin/mkfs.xfs', 'xfsprogs']]
  return need.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg)
}

/** The sandbox kernel, installing it first if it is missing and we are root on Debian. */
export function ensureKernel(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): SandboxKernel {
  const missing = missingTools()
  if (missing.length > 0) {
    const canInstall = process.getuid?.() === 0 && existsSync('/etc/debian_version')
    if (!canInstall) {
      throw new Error(`the sandbox kernel or its tools are missing (${missing.join(', ')}); install them with:\n  sudo sh -c '${INSTALL_COMMAND}'`)
    }
    log(`devmapper sandbox: installing ${SANDBOX_PACKAGES.join(', ')} (missing: ${missing.join(', ')})`)
    execFileSync('sh', ['-c', INSTALL_COMMAND], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  }
  const releases = existsSync(MODULES_ROOT) ? readdirSync(MODULES_ROOT).sort() : []
  if (releases.length === 0) throw new Error(`no UML modules under ${MODULES_ROOT}; reinstall with: ${INSTALL_COMMAND}`)
  const release = releases[releases.length - 1]
  return { binary: UML_BINARY, release, modulesDir: join(MODULES_ROOT, release), env: { LD_PRELOAD: xstateShim() } }
}

/**
 * Builds sandbox/uml-xstate-shim.c (see its header: UML 6.1 cannot set the FPU state on hosts with AMX) into
 * build/sandbox once; harmless on hosts that do not need it.
 */
function xstateShim(): string {
  const source = join(__dirname, '..', '..', 'sandbox', 'uml-xstate-shim.c')
  const out = join(__dirname, '..', '..', 'build', 'sandbox', 'uml-xstate-shim.so')
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(dirname(out), { recursive: true })
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', out, source, '-ldl'], { stdio: ['ignore', 'inherit', 'inherit'] })
  }
  return out
}

/** Absolute .ko paths to insmod, dependencies first, each once. */
export function moduleLoadOrder(kernel: SandboxKernel, wanted: readonly string[] = GUEST_MODULES): string[] {
  const deps = new Map<string, string[]>()
  for (const line of readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const [mod, rest] = line.split(':')
    if (!mod || rest === undefined) continue
    deps.set(mod.trim(), rest.trim().split(/\s+/).filter(Boolean))
  }
  const byName = new Map<string, string>()
  for (const mod of deps.keys()) byName.set(mod.replace(/^.*\//, '').replace(/\.ko(\.\w+)?$/, '').replace(/_/g, '-'), mod)
  const order: string[] = []
  const visit = (mod: string): void => {
    if (order.includes(mod)) return
    // modules.dep lists the full dependency closure; its last entry must be loaded first.
    for (const d of [...(deps.get(mod) ?? [])].reverse()) if (!order.includes(d)) order.push(d)
    order.push(mod)
  }
  for (const name of wanted) {
    const mod = byName.get(name)
    if (mod) visit(mod)
  }
  return order.map((m) => join(kernel.modulesDir, m))
}
