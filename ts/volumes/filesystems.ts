// Filesystems on volumes: mkfs (e2fsprogs / xfsprogs, Docker's ext4 flags), mount and unmount, growing, and
// which block devices are mounted where (/proc/self/mountinfo). These spawn the filesystem tools, which is the
// only way to make or grow a filesystem; nothing here talks to device-mapper.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { DmError } from '../core/errors'
import type { FsType } from './store'

const run = promisify(execFile)

async function tool(operation: string, device: string, cmd: string, args: string[]): Promise<void> {
  try {
    await run(cmd, args, { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/bin:/bin` } })
  } catch (cause) {
    const e = cause as Error & { stderr?: string; code?: string | number }
    const missing = e.code === 'ENOENT'
    throw new DmError({
      message: `${operation} ${device}: ${cmd} ${missing ? 'is not installed' : `failed: ${(e.stderr ?? e.message).trim()}`}`,
      code: missing ? 'ENOENT' : 'EIO',
      operation,
      device,
      cause,
    })
  }
}

/** mkfs with discards off (the thin device is fresh: discarding it only costs time), like Docker. */
export async function mkfs(device: string, fs: FsType, extraArgs: string[]): Promise<void> {
  if (fs === 'ext4') {
    await tool('mkfs', device, 'mkfs.ext4', ['-q', '-F', '-E', 'nodiscard,lazy_itable_init=0,lazy_journal_init=0', ...extraArgs, device])
    await tool('mkfs', device, 'tune2fs', ['-c', '-1', '-i', '0', device])
  } else if (fs === 'xfs') {
    await tool('mkfs', device, 'mkfs.xfs', ['-q', '-f', '-K', ...extraArgs, device])
  }
}

/** Mount options for a volume: xfs always gets nouuid, so a snapshot mounts beside its origin. */
export function mountOptions(fs: FsType, base?: string, extra?: string): string | undefined {
  const opts = [base, extra, fs === 'xfs' ? 'nouuid' : undefined].filter((o): o is string => !!o)
  return opts.length > 0 ? opts.join(',') : undefined
}

export async function mount(device: string, dir: string, fs: FsType, options?: string): Promise<void> {
  await tool('mount', device, 'mount', ['-t', fs, ...(options ? ['-o', options] : []), device, dir])
}

export async function unmount(dir: string, device: string): Promise<void> {
  await tool('unmount', device, 'umount', [dir])
}

/** Grows the filesystem mounted at `dir` (on `device`) to the device's size. */
export async function growFs(device: string, dir: string, fs: FsType): Promise<void> {
  if (fs === 'ext4') await tool('resize', device, 'resize2fs', [device])
  else if (fs === 'xfs') await tool('resize', device, 'xfs_growfs', [dir])
}

/** Mount points by block device 'major:minor', from /proc/self/mountinfo. */
export function mountsByDevice(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ')
    if (f.length < 5) continue
    const dir = f[4].replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
    const list = out.get(f[2]) ?? []
    list.push(dir)
    out.set(f[2], list)
  }
  return out
}
