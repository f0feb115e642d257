// The mixed device set both CLI comparison files print: made by devmapper (crypt with and without options,
// linear+zero with a uuid and a long name, read-only, suspended, inactive table) and by dmsetup (a two-level
// stack over ours with LVM-style uuids, a device without a table, a thin device on a thin pool of ours).
import { dm, dmsetup, loopDevice, name, prefix } from './helpers'

export const KEY = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'

export interface Fixture {
  crypt: string
  crypt2: string
  lin: string
  ro: string
  susp: string
  inactive: string
  upper: string
  top: string
  empty: string
  pool: string
  thin: string
}

export function makeFixture(): Fixture {
  const loop = loopDevice(8)
  const f: Fixture = {
    crypt: name('crypt'),
    crypt2: name('crypt-with-options'),
    lin: name('linear-with-a-longer-name-than-sixteen'),
    ro: name('ro'),
    susp: name('suspended'),
    inactive: name('inactive'),
    upper: name('upper'),
    top: name('vg-lv--x-cow'),
    empty: name('notable'),
    pool: name('pool'),
    thin: name('thin'),
  }
  dm.createSync(f.crypt, `0 4096 crypt aes-xts-plain64 ${KEY} 0 ${loop.path} 0`)
  dm.createSync(f.crypt2, `0 2048 crypt aes-xts-plain64 ${KEY} 7 ${loop.path} 4096 1 allow_discards`)
  dm.createSync(f.lin, [{ start: 0, length: 2048, type: 'linear', params: `${loop.path} 8192` }, { length: 1024, type: 'zero' }], {
    uuid: `${prefix}uuid-linear`,
  })
  dm.createSync(f.ro, [{ start: 0, length: 512, type: 'zero' }], { readOnly: true })
  dm.createSync(f.susp, [{ start: 0, length: 512, type: 'error' }])
  dm.suspendSync(f.susp)
  dm.createSync(f.inactive, [{ start: 0, length: 512, type: 'zero' }])
  dm.loadSync(f.inactive, [{ start: 0, length: 1024, type: 'zero' }])
  const dev = (n: string): string => `${dm.infoSync(n).major}:${dm.infoSync(n).minor}`
  dmsetup('create', f.upper, '-u', `LVM-${prefix}upper`, '--table', `0 2048 linear ${dev(f.lin)} 0`)
  dmsetup('create', f.top, '-u', `LVM-${prefix}top`, '--table', `0 1024 linear ${dev(f.upper)} 0\n1024 512 linear ${dev(f.ro)} 0`)
  dmsetup('create', f.empty, '--notable')
  // a thin pool (its table line ends with a space, which dmsetup prints) and a thin device on it
  const meta = loopDevice(4)
  const data = loopDevice(16)
  dm.createSync(f.pool, `0 ${data.sectors} thin-pool ${meta.path} ${data.path} 128 1024 1 skip_block_zeroing`)
  dm.messageSync(f.pool, 0, 'create_thin 0')
  dmsetup('create', f.thin, '--table', `0 4096 thin ${dev(f.pool)} 0`)
  return f
}

/** Resumes the suspended one, so that the sweep can remove everything. */
export function releaseFixture(f: Fixture): void {
  try {
    dm.resumeSync(f.susp)
  } catch {
    // already gone
  }
}
