// formatFixed/formatExponent against C's "%.Nf"/"%.Ne" as CPython prints them (correctly rounded from the exact
// binary value, exact ties to even, as glibc does), one python3 process for all values. python3 is required (CI
// installs it); without it this file fails.
import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import { t } from 'tap'
import { formatExponent, formatFixed } from '../../ts/volumes'

const ties = [0.125, 0.375, 0.625, 0.875, 2.5, 0.5, 1.5, 1.005, 2.675, 1e-7, 5e-324, 1.7976931348623157e308, 0, -0, -1.125]
const values = [...ties, ...fc.sample(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: 0, max: 2 ** 20 }).map((n) => n / 256), fc.double({ min: 0, max: 1e6, noNaN: true })), { numRuns: 3000, seed: 42 })]
const precisions = [0, 1, 2, 3]
const script = 'import sys\nfor l in sys.stdin:\n  x = float(l)\n  print(" ".join(("%.*f" % (p, x)) + " " + ("%.*e" % (p, x)) for p in (0, 1, 2, 3)))'
const py = spawnSync('python3', ['-c', script], { input: values.map((v) => (Object.is(v, -0) ? '-0.0' : String(v))).join('\n') + '\n', maxBuffer: 64 << 20 })

t.test('python3 is there to compare with', async (t) => {
  t.equal(py.status, 0, `python3 ran: ${py.error?.message ?? py.stderr?.toString()}`)
})

if (py.status === 0) {
  t.test('%.Nf and %.Ne digit for digit, ties to even', async (t) => {
    const lines = py.stdout.toString().trim().split('\n')
    t.equal(lines.length, values.length)
    let bad = 0
    values.forEach((x, i) => {
      const mine = precisions.map((p) => `${formatFixed(x, p)} ${formatExponent(x, p)}`).join(' ')
      if (mine !== lines[i] && bad++ < 20) t.equal(mine, lines[i], `${x}`)
    })
    t.equal(bad, 0, `${values.length} values agree`)
    t.equal(formatFixed(0.125, 2), '0.12')
    t.equal(formatFixed(0.375, 2), '0.38')
    t.equal(formatExponent(0.00048828125, 2), '4.88e-04')
    t.throws(() => formatFixed(Infinity, 2), RangeError)
  })
}
