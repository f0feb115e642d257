// A child process for the crash tests: opens a VolumeManager and runs one operation. The parent sets
// DEVMAPPER_VOLUMES_CRASH_AT so it SIGKILLs itself at that step. Argument: JSON { options, op, args }.
import { VolumeManager } from '../../ts'

async function main(): Promise<void> {
  const { options, op, args } = JSON.parse(process.argv[2]) as { options: Parameters<typeof VolumeManager.open>[0]; op: string; args: unknown[] }
  const vm = await VolumeManager.open(options)
  await (vm as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[op](...args)
  await vm.close()
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`)
    process.exit(1)
  },
)
