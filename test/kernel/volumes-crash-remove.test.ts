// Kill test, removeVolume (with discard): a child dies at each step; the next open shows the volume still
// whole with its data (killed before the intent was stored) or gone with its id deleted from the pool.
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { STEPS } from '../../ts/volumes'
import { crashCase, crashRoot, prepareRoot } from './volumes-crash'
import { readPattern, writePattern } from './volumes-helpers'

const options = crashRoot('remove', 'cr')

t.test('removeVolume killed at every step', async (t) => {
  await prepareRoot(options)
  for (const step of STEPS.removeVolume) {
    await crashCase(t, options, {
      step, op: 'removeVolume', args: ['r'], steps: STEPS.removeVolume, doneFrom: 'remove.discard',
      before: async (vm) => {
        await vm.createVolume('r', { fs: 'none', size: '4M' })
        writePattern((await vm.activate('r')).path!, 0x3c)
        await vm.deactivate('r')
      },
      after: async (t, vm, done) => {
        const v = await vm.volume('r')
        if (done) {
          t.equal(v, undefined, `${step}: rolled forward`)
        } else {
          t.ok(v, `${step}: still there`)
          t.ok(readPattern((await vm.activate('r')).path!, 0x3c), `${step}: with its data`)
          await vm.deactivate('r')
        }
      },
      reset: async (vm) => {
        if (await vm.volume('r')) await vm.removeVolume('r')
      },
    })
  }
  await (await VolumeManager.open(options)).destroy()
})
