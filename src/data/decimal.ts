// The value of a plain decimal whose digits a scanner has already accumulated, shared by the CSV readers' fast paths.

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * Exactly `Number(text)` for the bytes [start, end) of `buf`, a plain decimal of `digits` digits (`fraction` of them
 * after the point) whose digits read as an integer are `mantissa`: with at most 15 significant digits the mantissa and
 * 10^k are exact doubles and m / 10^k is correctly rounded (Clinger's fast path); longer numbers go to Number().
 * Leading zeros count as digits: a few more numbers than needed go to Number(), all exactly.
 */
export function decimalValue(buf: Buffer, start: number, end: number, mantissa: number, digits: number, fraction: number, negative: boolean): number {
  if (digits > 15 || fraction > 22) return Number(buf.toString('latin1', start, end));
  const value = fraction > 0 ? mantissa / POW10[fraction] : mantissa;
  return negative ? -value : value;
}
