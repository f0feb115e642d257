// targets: one module per stock target type (builder, table parser, status parser) sharing ./common, and
// registerStockTargets(), which the package entry calls. Imports core only.
import { registerTargetType, type TargetType } from '../core/table'
import { cacheType } from './cache'
import { cryptType } from './crypt'
import { delayType } from './delay'
import { flakeyType } from './flakey'
import { linearType } from './linear'
import { mirrorType } from './mirror'
import { raidType } from './raid'
import { snapshotMergeType, snapshotOriginType, snapshotType } from './snapshot'
import { stripedType } from './striped'
import { thinType } from './thin'
import { thinPoolType } from './thin-pool'
import { verityType } from './verity'
import { errorType, zeroType } from './zero-error'

export const stockTargetTypes: readonly TargetType[] = [
  linearType, stripedType, zeroType, errorType, snapshotOriginType, snapshotType, snapshotMergeType,
  thinPoolType, thinType, flakeyType, delayType, cryptType, cacheType, verityType, mirrorType, raidType,
]
/** Registers every stock target type with the table mechanism (idempotent). */
export function registerStockTargets(): void {
  for (const def of stockTargetTypes) registerTargetType(def)
}

export type { BlockDevice } from './common'
export { cache, type CacheFeature, type CacheParams, type CacheStatus, type CacheTarget } from './cache'
export { crypt, CryptKey, REDACTED, type CryptParams, type CryptTarget } from './crypt'
export { delay, type DelayClass, type DelayParams, type DelayStatus, type DelayTarget } from './delay'
export { flakey, type CorruptBioByte, type FlakeyFeature, type FlakeyParams, type FlakeyTarget } from './flakey'
export { linear, type LinearParams, type LinearTarget } from './linear'
export { mirror, type MirrorFeature, type MirrorLog, type MirrorParams, type MirrorStatus, type MirrorTarget } from './mirror'
export { raid, type RaidDevice, type RaidParams, type RaidStatus, type RaidTarget } from './raid'
export {
  snapshot, snapshotMerge, snapshotOrigin, type Persistence, type SnapshotFeature, type SnapshotOriginParams, type SnapshotOriginTarget, type SnapshotParams,
  type SnapshotStatus, type SnapshotTarget,
} from './snapshot'
export { striped, type Stripe, type StripedParams, type StripedStatus, type StripedTarget } from './striped'
export { thin, type ThinParams, type ThinStatus, type ThinTarget } from './thin'
export {
  THIN_POOL_FEATURES, thinPool, type ThinPoolFeature, type ThinPoolParams, type ThinPoolStatus, type ThinPoolTarget,
} from './thin-pool'
export { verity, type VerityParams, type VerityStatus, type VerityTarget } from './verity'
export { error, zero, type ErrorTarget, type ZeroTarget } from './zero-error'

import type { CacheTarget } from './cache'
import type { CryptTarget } from './crypt'
import type { DelayTarget } from './delay'
import type { FlakeyTarget } from './flakey'
import type { LinearTarget } from './linear'
import type { MirrorTarget } from './mirror'
import type { RaidTarget } from './raid'
import type { SnapshotOriginTarget, SnapshotTarget } from './snapshot'
import type { StripedTarget } from './striped'
import type { ThinTarget } from './thin'
import type { ThinPoolTarget } from './thin-pool'
import type { VerityTarget } from './verity'
import type { ErrorTarget, ZeroTarget } from './zero-error'

/** Any stock target, typed; a table of these is a valid `TableInput`. */
export type StockTarget =
  | LinearTarget | StripedTarget | ZeroTarget | ErrorTarget | SnapshotOriginTarget | SnapshotTarget | ThinPoolTarget
  | ThinTarget | FlakeyTarget | DelayTarget | CryptTarget | CacheTarget | VerityTarget | MirrorTarget | RaidTarget
