// Kill test, snapshot of an active volume: a child dies at each step (including while the origin is
// suspended); the next open resumes the origin and shows the snapshot whole (with the origin's data) or absent.
import { t } from 'tap'
import { VolumeManager } from '../../ts'
import { STEPS } from '../../ts/volumes'
import { dm, name } from './helpers'
import { crashCase, crashRoot, prepareRoot } from './volumes-crash'
import { readPattern } from './volumes-helpers'

const options = crashRoot('snap', 'cs')

t.test('snapshot of an active volume killed at every step', async (t) => {
  await prepareRoot(options)
  for (const step of STEPS.snapshot) {
    await crashCase(t, options, {
      step, op: 'snapshot', args: ['keep', 'snap'], steps: STEPS.snapshot, doneFrom: 'snapshot.commit',
      before: async (vm) => {
        await vm.activate('keep')
      },
      after: async (t, vm, done) => {
        t.equal(dm.infoSync(`${name('cs')}-keep`).suspended, false, `${step}: the origin runs`)
        const v = await vm.volume('snap')
        if (done) {
          t.match(v, { name: 'snap', parent: 'keep' }, `${step}: rolled forward`)
          const a = await vm.activate('snap')
          t.ok(readPattern(a.path!, 0xa5), `${step}: the snapshot holds the origin's data`)
        } else {
          t.equal(v, undefined, `${step}: rolled back`)
        }
      },
      reset: async (vm) => {
        if (await vm.volume('snap')) await vm.removeVolume('snap')
      },
    })
  }
  await (await VolumeManager.open(options)).destroy()
})
