// The loopback files of a pool on files (root/devicemapper/{data,metadata}): made sparse, attached through the
// loop wing, reused when a loop device is still attached to them (after a crash or a previous open).
import { closeSync, existsSync, mkdirSync, openSync, ftruncateSync } from 'node:fs'
import { join } from 'node:path'
import { loop } from '../loop'

export const LOOP_DIR = 'devicemapper'

export function loopFiles(root: string): { dir: string; data: string; metadata: string } {
  const dir = join(root, LOOP_DIR)
  return { dir, data: join(dir, 'data'), metadata: join(dir, 'metadata') }
}

/** Makes `file` a sparse file of `bytes` if it does not exist; true when it made it. */
export function ensureSparse(file: string, bytes: number): boolean {
  if (existsSync(file)) return false
  mkdirSync(join(file, '..'), { recursive: true })
  const fd = openSync(file, 'wx', 0o600)
  try {
    ftruncateSync(fd, bytes)
  } finally {
    closeSync(fd)
  }
  return true
}

/** The loop device over `file`: one already attached to it, or a new one. */
export async function attachFile(file: string): Promise<{ path: string; number: number; attached: boolean }> {
  const found = await loop.find(file)
  const list = Array.isArray(found) ? found : found ? [found] : []
  if (list.length > 0) return { path: list[0].path, number: list[0].number, attached: false }
  const info = await loop.attach(file)
  return { path: info.path, number: info.number, attached: true }
}

export async function detachLoop(number: number): Promise<void> {
  await loop.detach(number)
}
