// A small seeded generator of valid typed tables, for the round-trip and fuzz tests (no dependencies).
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    // mulberry32
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export class Gen {
  constructor(readonly r: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.r() * (max - min + 1))
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]
  }
  subset<T>(xs: readonly T[], max = xs.length): T[] {
    return xs.filter(() => this.r() < 0.5).slice(0, max)
  }
  dev(): string {
    return this.r() < 0.5 ? `${this.int(0, 4095)}:${this.int(0, 1048575)}` : this.pick(['/dev/loop0', '/dev/mapper/a-b', '/dev/sdb1', '/dev/disk/by-id/x_y'])
  }
  hex(bytes: number): string {
    return Array.from({ length: bytes }, () => this.int(0, 255).toString(16).padStart(2, '0')).join('')
  }
}

type T = Record<string, unknown> & { length: number; type: string }

/** One valid typed target of a random stock type, in the canonical form parseTypedTable gives back. */
export function genTarget(g: Gen): T {
  const len = g.int(1, 1 << 20)
  switch (g.int(0, 15)) {
    case 0:
      return { length: len, type: 'linear', device: g.dev(), offset: g.int(0, 2 ** 40) }
    case 1: {
      const n = g.int(1, 4)
      const chunk = g.int(1, 1024)
      const stripes = Array.from({ length: n }, () => ({ device: g.dev(), offset: g.int(0, 1e6) }))
      return { length: n * chunk * g.int(1, 64), type: 'striped', chunkSize: chunk, stripes }
    }
    case 2:
      return { length: len, type: g.pick(['zero', 'error']) }
    case 3:
      return { length: len, type: 'snapshot-origin', origin: g.dev() }
    case 4: {
      const features = g.r() < 0.5 ? [] : g.r() < 0.5 ? ['discard_zeroes_cow'] : ['discard_zeroes_cow', 'discard_passdown_origin']
      return { length: len, type: 'snapshot', origin: g.dev(), cow: g.dev(), persistent: g.pick(['P', 'PO', 'N']), chunkSize: 2 ** g.int(0, 20), features }
    }
    case 5:
      return { length: len, type: 'snapshot-merge', origin: g.dev(), cow: g.dev(), persistent: g.pick(['P', 'PO']), chunkSize: 2 ** g.int(0, 20), features: [] }
    case 6:
      return {
        length: len,
        type: 'thin-pool',
        metadataDevice: g.dev(),
        dataDevice: g.dev(),
        dataBlockSize: 128 * g.int(1, 16384),
        lowWaterMark: g.int(0, 1e9),
        features: g.subset(['skip_block_zeroing', 'ignore_discard', 'no_discard_passdown', 'read_only', 'error_if_no_space'], 4),
      }
    case 7: {
      const t: T = { length: len, type: 'thin', pool: g.dev(), deviceId: g.int(0, 2 ** 24 - 1) }
      if (g.r() < 0.3) t.externalOrigin = g.dev()
      return t
    }
    case 8: {
      const features: unknown[] = g.subset(['drop_writes', 'error_reads'])
      if (g.r() < 0.5) features.push({ corruptBioByte: g.int(1, 512), direction: g.pick(['r', 'w']), value: g.int(0, 255), flags: g.int(0, 7) })
      return { length: len, type: 'flakey', device: g.dev(), offset: g.int(0, 1e6), upInterval: g.int(0, 100), downInterval: g.int(0, 100), features }
    }
    case 9: {
      const cls = () => ({ device: g.dev(), offset: g.int(0, 1e6), delay: g.int(0, 5000) })
      const t: T = { length: len, type: 'delay', ...cls() }
      if (g.r() < 0.6) t.write = cls()
      if (t.write && g.r() < 0.5) t.flush = cls()
      return t
    }
    case 10:
      return {
        length: len,
        type: 'crypt',
        cipher: g.pick(['aes-xts-plain64', 'aes-cbc-essiv:sha256', 'capi:xts(aes)-plain64']),
        key: g.pick([g.hex(32), g.hex(64), '-', ':32:logon:cryptsetup:abc']),
        ivOffset: g.int(0, 1e6),
        device: g.dev(),
        offset: g.int(0, 1e6),
        options: g.subset(['allow_discards', 'same_cpu_crypt', 'sector_size:4096', 'iv_large_sectors']),
      }
    case 11:
      return {
        length: len,
        type: 'cache',
        metadataDevice: g.dev(),
        cacheDevice: g.dev(),
        originDevice: g.dev(),
        blockSize: 64 * g.int(1, 1024),
        features: [...g.subset(['metadata2']), g.pick(['writethrough', 'writeback', 'passthrough'])],
        policy: g.pick(['smq', 'mq', 'cleaner']),
        policyArgs: g.r() < 0.5 ? {} : { migration_threshold: g.int(0, 1e6) },
      }
    case 12:
      return {
        length: len,
        type: 'verity',
        version: g.pick([0, 1]),
        dataDevice: g.dev(),
        hashDevice: g.dev(),
        dataBlockSize: 2 ** g.int(9, 16),
        hashBlockSize: 2 ** g.int(9, 16),
        dataBlocks: g.int(1, 1e6),
        hashStartBlock: g.int(0, 100),
        algorithm: g.pick(['sha256', 'sha1']),
        rootDigest: g.hex(32),
        salt: g.r() < 0.3 ? '-' : g.hex(g.int(1, 32)),
        options: g.subset(['ignore_zero_blocks', 'check_at_most_once']),
      }
    case 13: {
      const log = g.r() < 0.5 ? { type: 'core', regionSize: g.int(1, 1e6) } : { type: 'disk', device: g.dev(), regionSize: g.int(1, 1e6) }
      if (g.r() < 0.3) (log as Record<string, unknown>).sync = g.pick(['sync', 'nosync'])
      const mirrors = Array.from({ length: g.int(1, 4) }, () => ({ device: g.dev(), offset: g.int(0, 1e6) }))
      return { length: len, type: 'mirror', log, mirrors, features: g.subset(['handle_errors', 'keep_log']) }
    }
    case 14: {
      const devices = Array.from({ length: g.int(1, 5) }, () => ({ metadata: g.r() < 0.5 ? null : g.dev(), data: g.r() < 0.1 ? null : g.dev() }))
      return { length: len, type: 'raid', raidType: g.pick(['raid1', 'raid5_ls', 'raid10']), chunkSize: g.int(0, 1024), options: g.subset(['nosync', 'region_size', '1024']), devices }
    }
    default:
      return { length: len, type: 'no-such-target', params: g.pick(['', 'a b c', '1 2 3 x']) }
  }
}

/** A random string built from table-ish tokens and junk, to feed the parsers. */
export function junk(g: Gen): string {
  const words = ['0', '1', '2', '5', '-', '/', '1/2', '7:0', 'Fail', 'Error', 'rw', 'ro', 'P', 'N', 'PO', 'V', 'C', 'core', 'disk',
    'corrupt_bio_byte', 'r', 'w', 'needs_check', '18446744073709551615', '99999999999999999999999', 'NaN', '1e3', '-1',
    '__proto__', 'constructor', 'Invalid', 'Overflow', 'Merge', 'failed', 'smq', 'metadata2', 'A', 'D', '\t', '  ', '\u00e9']
  const n = g.int(0, 14)
  return Array.from({ length: n }, () => (g.r() < 0.8 ? g.pick(words) : String.fromCharCode(g.int(0, 0x2ff)))).join(g.pick([' ', '  ', '\t', '']))
}
