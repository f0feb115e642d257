// events: the poller on an armed control fd (DM_DEV_ARM_POLL + libuv poll) and the watch() iterator on it.
// Imports core only.
export { EventPoller } from './event-poller'
export type { ListedCounter, Subscriber } from './event-poller'
export { DeviceWatch } from './watch'
export type { DeviceEvent, WatchOptions } from './watch'
