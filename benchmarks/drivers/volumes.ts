// The volume manager's lifecycle as one iteration: createVolume (no filesystem), activate, snapshot of the active
// volume, remove both. Every step stores its intent (fsync'd), takes the root's flock and reconciles first, so
// this measures the whole crash-safe protocol, not just the ioctls. The pool is the manager's own, on loop files
// under a root in /tmp, opened on first use (in the warm-up) and destroyed when the trial process ends.
import { VolumeManager } from '../../ts'
import type { Steps } from './types'

export function volumeSteps(): Steps {
  let vm: VolumeManager | undefined
  const root = `/tmp/devmapper-bench-vol-${process.pid}/root`
  process.on('beforeExit', () => {
    const v = vm
    vm = undefined
    if (v) void v.destroy()
  })
  return {
    op: async () => {
      vm ??= await VolumeManager.open({ root, loopDataSize: '256M', loopMetadataSize: '16M', fs: 'none', defaultVolumeSize: '1G', discard: false })
      await vm.createVolume('v')
      await vm.activate('v')
      await vm.snapshot('v', 's')
      await vm.removeVolume('s')
      await vm.removeVolume('v')
    },
  }
}
