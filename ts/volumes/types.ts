// The volume manager's public shapes.
import type { FsType } from './store'

export type { FsType }

export interface VolumeInfo {
  name: string
  /** the thin device id in the pool (24-bit) */
  deviceId: number
  /** bytes */
  size: number
  /** the volume this one is a snapshot of, when it was made by snapshot() */
  parent?: string
  fs: FsType
  active: boolean
  /** /dev/mapper/<device name> while active */
  path?: string
  /** where it is mounted (the first mount point), if anywhere */
  mountpoint?: string
  /** ISO 8601 */
  createdAt: string
  /** bytes the volume maps in the pool (as of its last activation when inactive) */
  usedBytes: number
}

export interface CreateVolumeOptions {
  /** bytes or a size string; default the manager's defaultVolumeSize */
  size?: number | string
  fs?: FsType
}

export interface RemoveVolumeOptions {
  /** while mounted or open: remove at last close and delete the thin id then, instead of EBUSY */
  deferred?: boolean
  /**
   * a thin id the pool reports busy (another device maps it, or `deferred` left the device open): queue its delete
   * instead of failing with EBUSY. Default: true with `deferred: true`, else the manager's deferredDeletion.
   */
  deferredDeletion?: boolean
}

export interface MountOptions {
  /** mount options added to the manager's mountOptions */
  options?: string
}

export interface PoolStatus {
  poolName: string
  dataUsedBytes: number
  dataTotalBytes: number
  metadataUsedBytes: number
  metadataTotalBytes: number
  /** rw, ro, out_of_data_space, or fail */
  mode: string
  transactionId: number | bigint
  /** the number of volumes */
  volumes: number
  /** ids the pool holds for no volume on purpose: deletes waiting for a deferred removal */
  internalDeviceIds: number[]
  /** the pool belongs to LVM (its transaction id is never moved) */
  lvm: boolean
}

export interface CheckResult {
  ok: boolean
  /** ids in the pool that no volume owns (read from a metadata snapshot with thin_dump; empty if it cannot run) */
  orphanDeviceIds: number[]
  /** volumes whose thin id is not in the pool */
  missingVolumes: string[]
  /** device-mapper devices of this root that no volume owns */
  strayDevices: string[]
  /** devices of this root found suspended */
  suspendedDevices: string[]
  /** ids waiting for a deferred removal before their delete */
  pendingDeletes: number[]
  /** how the pool's ids were read: 'thin_dump' or why they could not be */
  poolScan: string
  /** what repair did */
  repaired: string[]
}

/** What VolumeManager.recoverTransactionId found and did. */
export interface TransactionRecovery {
  pool: string
  /** the transaction id this root had committed (decimal) */
  stored: string
  /** the pool's, from its status (decimal) */
  kernel: string
  /** true: the pool's id is now the state's; false: nothing to recover (they agree, or an LVM pool) */
  adopted: boolean
  /** the checks that passed before adopting */
  checked: string[]
}
