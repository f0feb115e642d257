// Kill test, createVolume: a child dies at each step; the next open shows the volume whole (with its ext4) or
// not at all, and the pool holds no id for it in the second case.
import { t } from 'tap'
import { STEPS } from '../../ts/volumes'
import { crashCase, crashRoot, fsType, prepareRoot } from './volumes-crash'

const options = crashRoot('create', 'cc')

t.test('createVolume killed at every step', async (t) => {
  await prepareRoot(options)
  for (const step of STEPS.createVolume) {
    await crashCase(t, options, {
      step, op: 'createVolume', args: ['v', {}], steps: STEPS.createVolume, doneFrom: 'create.commit',
      after: async (t, vm, done) => {
        const v = await vm.volume('v')
        if (done) {
          t.match(v, { name: 'v', size: 16 * 1024 * 1024, fs: 'ext4' }, `${step}: rolled forward`)
          t.equal(await fsType(vm, 'v'), 'ext4', `${step}: with its filesystem`)
        } else {
          t.equal(v, undefined, `${step}: rolled back`)
        }
      },
      reset: async (vm) => {
        if (await vm.volume('v')) await vm.removeVolume('v')
      },
    })
  }
  const { VolumeManager } = await import('../../ts')
  await (await VolumeManager.open(options)).destroy()
})
