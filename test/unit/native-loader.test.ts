// The addon loader: node-gyp-build's choice first, then every other matching prebuild, skipping files that fail
// to load, and an error listing each attempt when none loads.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { t } from 'tap'
import { loadAddon } from '../../ts/core/native'

// the addon this checkout loads (its node-gyp build, or its prebuild after `npm run prebuild`)
const BUILT = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(resolve(__dirname, '..', '..', '..'))

function packageDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'devmapper-loader-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'package.json'), '{"name":"devmapper"}')
  writeFileSync(join(dir, 'binding.gyp'), '{}')
  return dir
}

function prebuild(dir: string, file: string, from?: string): string {
  const arch = join(dir, 'prebuilds', `${process.platform}-${process.arch}`)
  mkdirSync(arch, { recursive: true })
  if (from) copyFileSync(from, join(arch, file))
  else writeFileSync(join(arch, file), 'not an ELF file')
  return join(arch, file)
}

function failure(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

t.test('a broken best-tagged prebuild is skipped for the next one that loads', async (t) => {
  const dir = packageDir(t)
  prebuild(dir, 'devmapper.glibc.node')
  prebuild(dir, 'devmapper.node', BUILT)
  const addon = loadAddon(dir)
  t.type(addon.Control, 'function')
  t.type(addon.udev.mknod, 'function')
})

t.test('a prebuild for another libc or arch is never tried', async (t) => {
  const dir = packageDir(t)
  prebuild(dir, 'devmapper.musl.node')
  mkdirSync(join(dir, 'prebuilds', 'linux-otherarch'), { recursive: true })
  writeFileSync(join(dir, 'prebuilds', 'linux-otherarch', 'devmapper.node'), 'x')
  const err = failure(() => loadAddon(dir))
  t.match(err.message, /could not load the native addon/)
  t.notMatch(err.message, /musl|otherarch/)
  t.match(err.message, /No native build was found/)
  t.match(err.message, /--build-from-source/)
})

t.test('when nothing loads, the error names every file tried and why', async (t) => {
  const dir = packageDir(t)
  const a = prebuild(dir, 'devmapper.glibc.node')
  const b = prebuild(dir, 'devmapper.node')
  const err = failure(() => loadAddon(dir))
  t.match(err.message, `${a}: `)
  t.match(err.message, `${b}: `)
  t.match(err.message, /invalid ELF header|file too short/)
})

t.test('the cmake-js build is the last resort', async (t) => {
  const dir = packageDir(t)
  prebuild(dir, 'devmapper.glibc.node')
  mkdirSync(join(dir, 'build-cmake', 'Release'), { recursive: true })
  copyFileSync(BUILT, join(dir, 'build-cmake', 'Release', 'devmapper.node'))
  t.type(loadAddon(dir).Control, 'function')
})

t.test('DEVMAPPER_NATIVE loads that file or fails; it never falls back to another build', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const loader = resolve(__dirname, '..', '..', 'ts', 'core', 'native.js')
  const probe = `const { native } = require(${JSON.stringify(loader)}); console.log(typeof native.Control)`
  const run = (file: string) => spawnSync(process.execPath, ['-e', probe], { env: { ...process.env, DEVMAPPER_NATIVE: file }, encoding: 'utf8' })
  const ok = run(BUILT)
  t.equal(ok.status, 0, ok.stderr)
  t.equal(ok.stdout.trim(), 'function')
  const missing = join(mkdtempSync(join(tmpdir(), 'devmapper-loader-')), 'none.node')
  const bad = run(missing)
  t.not(bad.status, 0)
  t.match(bad.stderr, missing)
})
