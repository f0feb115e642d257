// thin_metadata_size, library and CLI forms, against the real tool (thin-provisioning-tools 0.9.0 as Debian ships
// it), spawned on the host for every case. The tool is required: CI installs thin-provisioning-tools, and a host
// without it FAILS this file instead of skipping it, so a missing tool can never pass as agreement.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import fc from 'fast-check'
import { t } from 'tap'
import { thinMetadataSize, thinMetadataSizeCli } from '../../ts'

const PATH = ['/usr/sbin/thin_metadata_size', '/sbin/thin_metadata_size', '/usr/bin/thin_metadata_size'].find((p) => existsSync(p))
// glibc's getopt messages are translated and POSIXLY_CORRECT stops option parsing at the first operand: compare
// with the tool as it runs in the C locale without it, which is what thinMetadataSizeCli reproduces.
const ENV = { ...process.env, LC_ALL: 'C', POSIXLY_CORRECT: undefined }

function tool(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(PATH!, args, { argv0: 'thin_metadata_size', env: ENV })
  return { stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), status: r.status }
}
// The comparisons need the C++ 0.9.0 tool (Debian 12's); the Rust 1.x tool prints differently on purpose.
const TOOL = PATH !== undefined && tool(['-V']).stdout === '0.9.0\n'

const UNITS = [...'bskKmMgGtTpPeEzZyY', 'bytes', 'sec', 'kibi', 'kilobytes', 'meg', 'gibibytes', 'tera', 'exabytes', 'zeta', 'yo', '']
const NUMERIC = [[], ['-n'], ['-ns'], ['-nl'], ['-nlong'], ['--numeric-only'], ['--numeric-only=short'], ['--numeric-only=lo'], ['--nu=s']]

t.test('the tool is installed (thin-provisioning-tools 0.9.0); without it this file fails', async (t) => {
  t.ok(PATH, 'thin_metadata_size found in /usr/sbin, /sbin or /usr/bin')
  if (PATH) t.ok(TOOL, `thin_metadata_size -V is 0.9.0, got ${JSON.stringify(tool(['-V']).stdout)}`)
})

if (TOOL) {
  const same = (t: tap.Test, args: string[]): void => {
    t.same(thinMetadataSizeCli(args), tool(args), args.join(' '))
  }

  t.test("the seeds' example, exactly as Convoy's documentation prints it", async (t) => {
    const args = ['-b', '2m', '-s', '100G', '-m', '100000', '-u', 'M']
    const line = 'thin_metadata_size - 411.15 megabytes estimated metadata area size for ' +
      '"--block-size=2mebibytes --pool-size=100gigabytes --max-thins=100000"\n'
    t.same(thinMetadataSizeCli(args), { stdout: line, stderr: '', status: 0 })
    same(t, args)
  })

  t.test('a grid of sizes, every unit and every -n form, against the tool', async (t) => {
    const blocks = ['1', '3', '128', '0', '64k', '2m', '1g', '4096s', '100b', '8M']
    const pools = ['129', '1000000', '100G', '1t', '3P', '99999999999999999999']
    const thins = ['1', '7', '100000', '16777216', '1k', '0']
    let i = 0
    for (const b of blocks) {
      for (const s of pools) {
        for (const m of thins) {
          const u = UNITS[i % UNITS.length]
          const n = NUMERIC[i % NUMERIC.length]
          // Both orders: a size without a unit echoes the -u given before it.
          same(t, i % 2 ? ['-b', b, '-s', s, '-m', m, '-u', u, ...n] : ['-u', u, ...n, '--block-size', b, `--pool-size=${s}`, '-m', m])
          i++
        }
      }
    }
    for (const u of UNITS) for (const n of [[], ['-ns'], ['--numeric-only=long']]) same(t, ['-b', '128', '-s', '100G', '-m', '1000', ...n, '-u', u])
    for (const u of ['m', 'G', '']) for (const n of NUMERIC) same(t, ['-b', '128', '-s', '100G', '-m', '1000', ...n, '-u', u])
  })

  t.test('rounding: exact ties go to even as glibc printf does; fractions under 0.01 print as %.2e', async (t) => {
    // -b 1 -s 2 gives 1 + m blocks of 4 KiB, so -u m shows (1 + m) / 256.
    for (const m of ['31', '95', '159', '223', '255', '256', '257', '1', '1000000000']) {
      for (const u of ['m', 'M', 'g', 'G', 't', 'e', 'k', 'K']) same(t, ['-b', '1', '-s', '2', '-m', m, '-u', u])
    }
  })

  t.test('u64 wraparound and saturation, as the C code computes them', async (t) => {
    for (const args of [
      ['-b', '128', '-s', '1000000', '-m', '1', '-u', 'z'],
      ['-b', '128', '-s', '1000000', '-m', '1', '-u', 'Y'],
      ['-b', '128', '-s', '1000000', '-m', '9223372036854775807b', '-u', 'b'],
      ['-b', '128', '-s', '1000000', '-m', '2251799813685247b', '-u', 'b'],
      ['-b', '1', '-s', '1000000000000000000000000', '-m', '1'],
      ['-b', '1', '-s', '2', '-m', '99999999999999999999'],
      ['-b', '1', '-s', '36028797018963968', '-m', '1', '-u', 'b'],
      ['-b', '1e', '-s', '2e', '-m', '1', '-u', 'E'],
      ['-b', '1z', '-s', '2', '-m', '1'],
    ]) same(t, args)
  })

  t.test('bad input: messages on stderr and exit status 1, as the tool', async (t) => {
    const cases = [
      [], ['-b', '128'], ['-b', '128', '-s', '1G'], ['-s', '1G', '-m', '1'], ['-b', '3', '-s', '1G', '-m', '1'],
      ['-b', '128', '-s', '128', '-m', '1'], ['-b', '128', '-s', '1', '-m', '1'], ['-b', '128', '-b', '256'],
      ['-b', '128', '-s', '1G', '-m', '1', '-u', 'x'], ['-b', '128', '-s', '1G', '-m', '1', '-u', 'MiB'],
      ['-b', '128', '-s', '1G', '-m', '1', '-u', 'bytesx'], ['-b', '1GB'], ['-b', '-5'], ['-b', ' 5'], ['-b', '+5'],
      ['-b', '5.5'], ['-n', '-n'], ['-nx'], ['--numeric-only='], ['--numeric-only=longer'], ['-n=long'],
      ['-x'], ['-é'], ['-?'], ['-:'], ['-W', 'foo'], ['--foo'], ['--foo=bar'], ['--help=3'], ['--he=3'], ['-b'],
      ['--block-size'], ['--bl'], ['--=x'], ['--='], ['-b', '128', '--', '-s', '5', '-m', '1'], ['-b', '-s'],
      ['-b', 'm', '-s', '1G', '-m', '1'], ['-m', '0b', '-b', '1', '-s', '2'], ['-b', '100b', '-s', '1G', '-m', '1'],
      ['-u', 'k', '-b', '128', '-s', '100', '-m', '7', '-u', 'm'], ['-b', '1', '-s', '2', '-m', '1', '-u', '0'],
    ]
    for (const args of cases) same(t, args)
    t.equal(thinMetadataSizeCli(['-x']).status, 1)
  })

  t.test('help, version, abbreviations, clusters and ignored operands, as the tool', async (t) => {
    for (const args of [
      ['-h'], ['--help'], ['--h'], ['-V'], ['--vers'], ['-hb'], ['-b', '128', '-h', '-x'], ['-x', '-h'], ['-Vh'],
      ['--bl=128', '--p=1000000', '--m=5', '-n'], ['-b128', '-s1g', '-m1', '-nl'], ['-nlb', '128'],
      ['-b', '128', '-s', '1G', '-m', '1', '--numeric-only', 'short'], ['-', '-b', '128', '-s', '1G', '-m', '1', '-n'],
      ['operand', '-b', '128', 'x', '-s', '1G', 'y', '-m', '1'], ['-b', '00128', '-s', '1G', '-m', '007', '-u', 'g'],
      ['--unit', 'meg', '-b', '2m', '-s', '100G', '-m', '100000'], ['-b', '2mebibytes', '-s', '100gigabytes', '-m', '1e'],
    ]) same(t, args)
  })

  t.test('random command lines agree with the tool (fast-check)', async (t) => {
    const size = fc.tuple(
      fc.constantFrom('', '0', '1', '2', '7', '128', '4096', '65536', '1000000', '99999999999999999999'),
      fc.constantFrom(...UNITS, 'x', 'MiB', 'GB', 'b5'),
    ).map(([n, u]) => n + u)
    const word = fc.oneof(
      fc.constantFrom('-b', '-s', '-m', '-u', '-n', '-ns', '-nl', '-h', '-V', '--', '-', '--block-size', '--pool-size',
        '--max-thins', '--unit', '--numeric-only', '--numeric-only=long', '--numeric-only=x', '--b', '--bogus', '-q'),
      size,
      size.map((s) => `-b${s}`),
      size.map((s) => `--pool-size=${s}`),
      fc.string({ maxLength: 4 }),
    )
    // Mostly well-formed commands, shuffled, with some noise words.
    const command = fc.record({
      b: size, s: size, m: size, u: fc.option(fc.constantFrom(...UNITS)), n: fc.constantFrom(...NUMERIC), noise: fc.array(word, { maxLength: 3 }),
    }).chain((c) => fc.shuffledSubarray([['-b', c.b], ['-s', c.s], ['-m', c.m], ...(c.u === null ? [] : [['-u', c.u]]), c.n, c.noise], { minLength: 3 }))
      .map((parts) => parts.flat())
    let runs = 0
    fc.assert(fc.property(fc.oneof(command, fc.array(word, { maxLength: 8 })), (args) => {
      runs++
      t.same(thinMetadataSizeCli(args), tool(args), JSON.stringify(args))
    }), { numRuns: 250 })
    t.equal(runs, 250)
  })

  t.test('thinMetadataSize() gives the bytes the tool prints with -u b', async (t) => {
    const K = 1024
    for (const blockSize of [512, 64 * K, 128 * K, 2 * K * K, 2 ** 30, '64K', '2m', 64 * K + 100]) {
      for (const poolSize of [2 ** 30 + 512 * 7, '100G', 10 * 2 ** 40, 1e12, 2 ** 52]) {
        for (const maxThins of [1, 1000, 100000, 2 ** 24]) {
          const got = thinMetadataSize({ blockSize, poolSize, maxThins })
          const b = typeof blockSize === 'number' ? blockSize : blockSize === '64K' ? 64 * K : 2 * K * K
          const s = typeof poolSize === 'number' ? poolSize : 100 * 2 ** 30
          const want = tool(['-b', `${b}b`, '-s', `${s}b`, '-m', String(maxThins), '-u', 'b', '-n'])
          t.equal(`${got}\n`, want.stdout, `${blockSize} ${poolSize} ${maxThins}`)
        }
      }
    }
    // The seed's example in library units: 100G there is 10^9-byte gigabytes.
    t.equal(thinMetadataSize({ blockSize: '2M', poolSize: 100e9, maxThins: 100000 }), 411152384)
    t.equal(thinMetadataSize({ blockSize: 64 * 1024, poolSize: '100GiB', maxThins: 1 }), (1 + 13003 + 1) * 4096)
  })

  t.test('thinMetadataSize() refuses what the tool refuses, naming the field', async (t) => {
    const ok = { blockSize: '64K', poolSize: '1G', maxThins: 10 }
    const cases: [Record<string, unknown>, string][] = [
      [{ blockSize: '3K' }, 'blockSize'], [{ blockSize: 100 }, 'blockSize'], [{ blockSize: 'big' }, 'blockSize'],
      [{ blockSize: -512 }, 'blockSize'], [{ poolSize: '64K' }, 'poolSize'], [{ poolSize: '1k' }, 'poolSize'],
      [{ poolSize: undefined }, 'poolSize'], [{ maxThins: 0 }, 'maxThins'], [{ maxThins: 1.5 }, 'maxThins'],
      [{ maxThins: '5' }, 'maxThins'], [{ maxThins: 2 ** 53 }, 'maxThins'],
    ]
    for (const [change, field] of cases) {
      t.throws(() => thinMetadataSize({ ...ok, ...change } as never), { name: 'DmError', code: 'EINVAL', field }, JSON.stringify(change))
    }
    t.throws(() => thinMetadataSize(null as never), { code: 'EINVAL', field: 'options' })
  })
}
