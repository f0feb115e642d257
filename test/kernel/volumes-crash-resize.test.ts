// Kill test, resize of an active ext4 volume: a child dies at each step; the next open shows the old size
// (killed before the intent was stored) or the new size with the table and the filesystem grown.
import { execFileSync } from 'node:child_process'
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { STEPS } from '../../ts/volumes'
import { dmsetup, name } from './helpers'
import { crashCase, crashRoot, prepareRoot } from './volumes-crash'
import { MiB } from './volumes-helpers'

const options = crashRoot('resize', 'cz')

function ext4Bytes(path: string): number {
  const out = execFileSync('dumpe2fs', ['-h', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  return Number(/^Block count:\s+(\d+)/m.exec(out)![1]) * Number(/^Block size:\s+(\d+)/m.exec(out)![1])
}

t.test('resize killed at every step', async (t) => {
  await prepareRoot(options)
  for (const step of STEPS.resize) {
    await crashCase(t, options, {
      step, op: 'resize', args: ['z', '32M'], steps: STEPS.resize, doneFrom: 'resize.reload',
      before: async (vm) => {
        await vm.createVolume('z')
        await vm.activate('z')
      },
      after: async (t, vm, done) => {
        const v = (await vm.volume('z'))!
        const want = done ? 32 * MiB : 16 * MiB
        t.equal(v.size, want, `${step}: size ${done ? 'new' : 'old'}`)
        t.equal(Number(dmsetup('table', `${name('cz')}-z`).split(/\s+/)[1]) * 512, want, `${step}: table length matches`)
        t.equal(ext4Bytes(v.path!), want, `${step}: ext4 matches`)
      },
      reset: async (vm) => {
        await vm.removeVolume('z')
      },
    })
  }
  await (await VolumeManager.open(options)).destroy()
})
