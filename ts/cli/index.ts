// cli: the `devmapper` command (main.ts is the bin). dmsetup's verbs with its exact text layouts
// (dmsetup-format, report for info -c, tree for ls --tree), --json with the library's objects, and the verbs
// dmsetup lacks (watch, pool, loop, volume, thin-metadata-size). May import every wing and the top-level
// DeviceMapper; nothing imports it.
export { run } from './run'
export type { Io } from './context'
