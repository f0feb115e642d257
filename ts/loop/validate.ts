// attach's input rules, all checked before any ioctl: the options' types and ranges, and the backing file
// (exists, is a regular file or a block device, is longer than the offset).
import { realpathSync, statSync, type BigIntStats } from 'node:fs'
import { invalid } from '../core/errors'
import { checkUint } from '../core/validate'
import { decodeStatDev, fsError } from './device'
import { blockDeviceBytes } from './sysfs'
import type { LoopAttachOptions } from './types'

const BLOCK_SIZES = [512, 1024, 2048, 4096] // powers of two from 512 to the smallest page size

export interface AttachPlan {
  /** the backing file's canonical path */
  file: string
  /** its size in bytes */
  fileBytes: number
  readOnly: boolean
  directIo: boolean
  autoclear: boolean
  partscan: boolean
  offset: number
  sizeLimit: number
  /** 0 = the kernel's default (512) */
  blockSize: number
  legacy: boolean
}

function bool(v: unknown, field: string, file: string): boolean {
  if (v === undefined) return false
  if (typeof v !== 'boolean') throw invalid('attach', field, `must be a boolean, got ${String(v)}`, file)
  return v
}

/** The backing file's path and stat; a missing file is ENOENT, a directory or other non-block file EINVAL. */
export function statBacking(file: unknown, operation: string): { file: string; st: BigIntStats } {
  if (typeof file !== 'string' || file.length === 0) throw invalid(operation, 'file', `must be a path, got ${String(file)}`)
  if (file.includes('\0')) throw invalid(operation, 'file', 'must not contain NUL', file)
  let real: string
  let st: BigIntStats
  try {
    real = realpathSync(file)
    st = statSync(real, { bigint: true })
  } catch (err) {
    throw fsError(err, operation, file, 'file')
  }
  return { file: real, st }
}

export function checkAttach(file: unknown, options: LoopAttachOptions | undefined): AttachPlan {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw invalid('attach', 'options', 'must be an object')
  }
  const o = options ?? {}
  const { file: real, st } = statBacking(file, 'attach')
  if (st.isDirectory()) throw invalid('attach', 'file', 'is a directory, not a file', real)
  if (!st.isFile() && !st.isBlockDevice()) throw invalid('attach', 'file', 'must be a regular file or a block device', real)
  let fileBytes = Number(st.size)
  if (st.isBlockDevice()) {
    const { major, minor } = decodeStatDev(st.rdev)
    fileBytes = blockDeviceBytes(major, minor) ?? 0
  }
  const max = Number.MAX_SAFE_INTEGER
  const offset = checkUint(o.offset ?? 0, 'attach', 'offset', max, real)
  const sizeLimit = checkUint(o.sizeLimit ?? 0, 'attach', 'sizeLimit', max, real)
  if (offset > 0 && offset >= fileBytes) {
    throw invalid('attach', 'offset', `must be less than the file's ${fileBytes} bytes, got ${offset}`, real)
  }
  const blockSize = o.blockSize ?? 0
  if (o.blockSize !== undefined && !BLOCK_SIZES.includes(blockSize)) {
    throw invalid('attach', 'blockSize', `must be one of ${BLOCK_SIZES.join(', ')}, got ${String(o.blockSize)}`, real)
  }
  return {
    file: real,
    fileBytes,
    readOnly: bool(o.readOnly, 'readOnly', real),
    directIo: bool(o.directIo, 'directIo', real),
    autoclear: bool(o.autoclear, 'autoclear', real),
    partscan: bool(o.partscan, 'partscan', real),
    offset,
    sizeLimit,
    blockSize,
    legacy: bool(o.legacyConfigure, 'legacyConfigure', real),
  }
}
