// The loop wing's public shapes. Sizes and offsets are bytes, as plain numbers (safe integers).

/** A loop device: its path ('/dev/loop3') or its number (3). */
export type LoopDeviceRef = string | number

export interface LoopAttachOptions {
  /** bind read-only (the file is opened O_RDONLY); default false */
  readOnly?: boolean
  /** direct I/O to the backing file (no double caching); refused if its filesystem cannot do it */
  directIo?: boolean
  /** the kernel detaches the device at its last close; with no other opener that is when attach returns */
  autoclear?: boolean
  /** where the device starts in the file, bytes; default 0 */
  offset?: number
  /** the device's size cap, bytes; 0 (default) = up to the end of the file */
  sizeLimit?: number
  /** logical block size: 512, 1024, 2048 or 4096; default 512 */
  blockSize?: number
  /** scan the device for partitions (loopNpM) */
  partscan?: boolean
  /** bind with LOOP_SET_FD + LOOP_SET_STATUS64 even where LOOP_CONFIGURE exists (older kernels' path) */
  legacyConfigure?: boolean
}

export interface LoopInfo {
  path: string
  number: number
  major: number
  minor: number
  /** the backing file's path as the kernel sees it now (follows renames; ' (deleted)' once unlinked) */
  backingFile: string
  offset: number
  /** 0 = no limit */
  sizeLimit: number
  readOnly: boolean
  autoclear: boolean
  directIo: boolean
  partscan: boolean
  /** the device's size in bytes */
  sizeBytes: number
  /** logical block size in bytes */
  blockSize: number
  /** the backing file's filesystem device, 'major:minor', and its inode number */
  backingDevice: string
  backingInode: number
}
