// loop: loop devices by ioctl (attach, info, list, find, resize, detach, each with a Sync twin), no losetup.
// native/loop.cc sends the ioctls; validation, retries, sysfs reads and device nodes are here. Imports core only.
export { loop } from './loop'
export type { Loop } from './loop'
export type { LoopAttachOptions, LoopDeviceRef, LoopInfo } from './types'
