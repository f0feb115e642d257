// glibc's printf("%.Nf") and printf("%.Ne") for finite doubles, digit for digit. glibc rounds the double's exact
// binary value and breaks exact ties to even; Number#toFixed breaks them upwards (0.125 -> '0.13', glibc '0.12'),
// so the digits are worked out here with BigInt on the exact value m * 2^e.

function exact(x: number): { num: bigint; den: bigint } {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, Math.abs(x))
  const bits = view.getBigUint64(0)
  const biased = Number(bits >> 52n)
  const fraction = bits & ((1n << 52n) - 1n)
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n)
  const exp = (biased === 0 ? 1 : biased) - 1075
  return exp >= 0 ? { num: mantissa << BigInt(exp), den: 1n } : { num: mantissa, den: 1n << BigInt(-exp) }
}

function roundHalfEven(num: bigint, den: bigint): bigint {
  const q = num / den
  const twice = 2n * (num % den)
  return twice > den || (twice === den && q % 2n === 1n) ? q + 1n : q
}

function checkFinite(x: number): void {
  if (!Number.isFinite(x)) throw new RangeError(`printf: ${x} is not finite`)
}

/** printf("%.{precision}f", x) */
export function formatFixed(x: number, precision: number): string {
  checkFinite(x)
  const { num, den } = exact(x)
  const digits = roundHalfEven(num * 10n ** BigInt(precision), den).toString().padStart(precision + 1, '0')
  const sign = x < 0 || Object.is(x, -0) ? '-' : ''
  if (precision === 0) return sign + digits
  return `${sign}${digits.slice(0, -precision)}.${digits.slice(-precision)}`
}

/** printf("%.{precision}e", x) */
export function formatExponent(x: number, precision: number): string {
  checkFinite(x)
  const sign = x < 0 || Object.is(x, -0) ? '-' : ''
  let { num, den } = exact(x)
  let e = 0
  let digits = 0n
  if (num !== 0n) {
    // Start from the float estimate, then settle e so that 10^e <= |x| < 10^(e+1) holds exactly.
    e = Math.floor(Math.log10(Math.abs(x)))
    const atLeast = (k: number): boolean => (k >= 0 ? num >= den * 10n ** BigInt(k) : num * 10n ** BigInt(-k) >= den)
    while (!atLeast(e)) e--
    while (atLeast(e + 1)) e++
    const shift = precision - e // digits = round(|x| * 10^shift)
    if (shift >= 0) num *= 10n ** BigInt(shift)
    else den *= 10n ** BigInt(-shift)
    digits = roundHalfEven(num, den)
    if (digits === 10n ** BigInt(precision + 1)) digits /= 10n, e++
  }
  const text = digits.toString().padStart(precision + 1, '0')
  const mantissa = precision === 0 ? text : `${text[0]}.${text.slice(1)}`
  return `${sign}${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`
}
