// Type tests, compiled (not run) by `npm run build:ts`, which `npm test` runs first: user code narrows the
// results of status() and table() by `type` (and a status's `state`), and reaches the typed fields. Every
// `@ts-expect-error` line must fail to type-check, or the build fails.
import { DeviceMapper, type StatusTarget, type TableTarget, type UnknownTarget } from 'devmapper'

declare const dm: DeviceMapper
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectType<T>(_: T): void {}
function assertEqual<A, B>(_: Equal<A, B>): void {}

export async function statusNarrowing(): Promise<void> {
  const [s] = await dm.status('pool')
  // @ts-expect-error: before narrowing no typed field is reachable
  void s.totalDataBlocks
  if (s.type === 'thin-pool') {
    // @ts-expect-error: a failed pool has no counters, so `state` must be tested too
    void s.totalDataBlocks
    if (s.state === 'active') {
      assertEqual<typeof s.totalDataBlocks, number>(true)
      assertEqual<typeof s.heldMetadataRoot, number | null>(true)
      expectType<bigint | number>(s.transactionId)
    }
    expectType<string>(s.params)
  }
  if (s.type === 'thin' && s.state === 'active') assertEqual<typeof s.highestMappedSector, number | null>(true)
  if (s.type === 'snapshot-merge' && s.state === 'active') expectType<boolean | undefined>(s.merged)
  if (s.type === 'raid' && s.state === 'active') assertEqual<typeof s.syncAction, string>(true)
  if (s.type === 'mirror' && s.state === 'active') expectType<{ device: string; health: string }[]>(s.mirrors)
  if (s.type === 'cache' && s.state === 'active') assertEqual<typeof s.readHits, number>(true)
  if (s.type === 'verity') expectType<'verified' | 'corrupted' | 'unknown'>(s.state)
  if (s.type === 'delay') expectType<number | undefined>(s.reads)
  if (s.type === 'striped') expectType<{ device: string; health: string }[] | undefined>(s.stripes)
  if (s.type === 'linear') {
    // @ts-expect-error: linear has no status fields
    void s.state
  }
}

export async function tableNarrowing(): Promise<void> {
  for (const t of await dm.table('x')) {
    switch (t.type) {
      case 'linear':
        assertEqual<typeof t.device, string>(true)
        assertEqual<typeof t.offset, number>(true)
        break
      case 'thin-pool':
        assertEqual<typeof t.dataBlockSize, number>(true)
        break
      case 'thin':
        assertEqual<typeof t.deviceId, number>(true)
        break
      case 'crypt':
        expectType<{ reveal(): string }>(t.key)
        break
      case 'verity':
        assertEqual<typeof t.rootDigest, string>(true)
        break
      case 'raid':
        expectType<{ metadata: string | null; data: string | null }[]>(t.devices)
        break
      case 'snapshot-origin':
        assertEqual<typeof t.origin, string>(true)
        break
      case 'striped': case 'snapshot': case 'snapshot-merge': case 'mirror': case 'cache': case 'flakey': case 'delay':
      case 'zero': case 'error':
        break
      default:
        // the exhaustive switch leaves exactly the targets devmapper has no parser for
        assertEqual<typeof t, UnknownTarget>(true)
        expectType<string>(t.type)
        expectType<string>(t.params)
        // @ts-expect-error: an unknown target has no typed fields
        void t.device
    }
  }
}

export function unionsAreExported(t: TableTarget, s: StatusTarget): void {
  expectType<string>(t.type)
  expectType<number>(s.start + s.length)
  // @ts-expect-error: no known target is called 'thin_pool'
  if (s.type === 'thin_pool') void s
  // an unknown name is compared as a string
  if ((s.type as string) === 'era') expectType<string>(s.params)
}
