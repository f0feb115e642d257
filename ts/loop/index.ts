// STAND-IN until the loop branch lands (its index.ts replaces this file on merge): the `loop` contract the
// volume manager is written against. Every call fails with ENOSYS here.
import { DmError } from '../core/errors'

export interface LoopInfo {
  path: string
  number: number
  major: number
  minor: number
  backingFile: string
  offset: number
  sizeLimit: number
  readOnly: boolean
  autoclear: boolean
  directIo: boolean
  sizeBytes: number
}

const missing = (op: string) => async (): Promise<never> => {
  throw new DmError({ message: `loop.${op}: the loop wing is not merged yet`, code: 'ENOSYS', operation: op })
}

export const loop = {
  attach: missing('attach') as (file: string, options?: Record<string, unknown>) => Promise<LoopInfo>,
  detach: missing('detach') as (ref: string | number) => Promise<void>,
  info: missing('info') as (ref: string | number) => Promise<LoopInfo>,
  list: missing('list') as () => Promise<LoopInfo[]>,
  find: missing('find') as (file: string) => Promise<LoopInfo[]>,
  resize: missing('resize') as (ref: string | number) => Promise<LoopInfo>,
}
